package ws

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
)

// pipeHijacker is the http.ResponseWriter of a request read from one end
// of a net.Pipe, so Upgrader.Upgrade can take the connection over.
type pipeHijacker struct {
	http.ResponseWriter
	nc  net.Conn
	brw *bufio.ReadWriter
}

func (p pipeHijacker) Header() http.Header { return http.Header{} }

func (p pipeHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) { return p.nc, p.brw, nil }

// pipeConn returns a hub socket (with no writer running yet) and the
// client end of its WebSocket, joined by an in-memory net.Pipe so that
// it works inside a synctest bubble.
func pipeConn(t testing.TB) (*conn, *websocket.Conn) {
	t.Helper()
	cli, srv := net.Pipe()
	t.Cleanup(func() { _ = cli.Close(); _ = srv.Close() })
	type upgraded struct {
		wsc *websocket.Conn
		err error
	}
	done := make(chan upgraded, 1)
	go func() {
		brw := bufio.NewReadWriter(bufio.NewReader(srv), bufio.NewWriter(srv))
		req, err := http.ReadRequest(brw.Reader)
		if err != nil {
			done <- upgraded{err: err}
			return
		}
		var u websocket.Upgrader
		wsc, err := u.Upgrade(pipeHijacker{nc: srv, brw: brw}, req, nil)
		done <- upgraded{wsc, err}
	}()
	d := websocket.Dialer{NetDialContext: func(context.Context, string, string) (net.Conn, error) { return cli, nil }}
	client, _, err := d.Dial("ws://chat.test/ws", nil)
	if err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	up := <-done
	if up.err != nil {
		t.Fatalf("server handshake: %v", up.err)
	}
	h := &handler{queue: 16, m: metrics.New(), log: slog.New(slog.DiscardHandler)}
	h.opt.defaults()
	c := &conn{h: h, ws: up.wsc}
	c.cond = sync.NewCond(&c.mu)
	return c, client
}

// closeNormal starts c's close with 1000 under its lock: the close frame is
// queued and the writer started.
func closeNormal(c *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked(chat.CloseNormal)
}

// writerRuns reports whether c's writer is running.
func writerRuns(c *conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writing
}

// TestWaitWriter checks that waitWriter returns once the writer has sent
// the close frame, once the writer fails because the socket was closed
// under it, and at the end of closeGrace while the peer reads nothing. In
// the bubble a wait that nothing would ever end is reported as a deadlock
// instead of hanging the test, and the clock only moves when every
// goroutine is blocked, so the elapsed time says which of the three ended
// the wait.
func TestWaitWriter(t *testing.T) {
	t.Run("written", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, client := pipeConn(t)
			read := make(chan error, 1)
			go func() {
				_, _, err := client.ReadMessage()
				read <- err
			}()
			start := time.Now()
			closeNormal(c)
			c.waitWriter()
			if d := time.Since(start); d >= closeGrace {
				t.Fatalf("waitWriter returned after %v, at the end of the grace period instead of when the writer stopped", d)
			}
			if writerRuns(c) {
				t.Fatal("waitWriter returned while the writer still runs")
			}
			if err := <-read; !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				t.Fatalf("client read %v, want close 1000", err)
			}
		})
	})

	t.Run("socket closed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, _ := pipeConn(t) // the client reads nothing: the write blocks
			start := time.Now()
			closeNormal(c)
			go func() {
				time.Sleep(closeGrace / 2)
				_ = c.ws.NetConn().Close()
			}()
			c.waitWriter()
			if d := time.Since(start); d != closeGrace/2 {
				t.Fatalf("waitWriter returned after %v, want %v when the socket closed", d, closeGrace/2)
			}
		})
	})

	t.Run("peer stuck", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, _ := pipeConn(t) // the client reads nothing: the write blocks
			start := time.Now()
			closeNormal(c)
			c.waitWriter()
			if d := time.Since(start); d != closeGrace {
				t.Fatalf("waitWriter returned after %v, want the grace period %v", d, closeGrace)
			}
			if !writerRuns(c) {
				t.Fatal("the writer stopped although the peer read nothing")
			}
			_ = c.ws.NetConn().Close() // ends the writer before the bubble ends
		})
	})
}

// TestWriteDeadlineSlack checks that a write deadline only slightly later
// than the one in force is not applied, and that an earlier one, or none,
// always is.
func TestWriteDeadlineSlack(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &countingConn{Conn: a}
	base := time.Now().Add(10 * time.Second)
	if err := c.SetWriteDeadline(base); err != nil {
		t.Fatal(err)
	}
	_ = c.SetWriteDeadline(base.Add(deadlineSlack / 2))
	if got := c.wdeadline.Load(); got != base.UnixNano() {
		t.Errorf("a deadline within the slack moved it: %v, want %v", time.Unix(0, got), base)
	}
	_ = c.SetWriteDeadline(base.Add(2 * deadlineSlack))
	if got := c.wdeadline.Load(); got != base.Add(2*deadlineSlack).UnixNano() {
		t.Errorf("a deadline past the slack was not applied: %v", time.Unix(0, got))
	}
	// An earlier deadline always applies: a write now times out.
	_ = c.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := c.Conn.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("write after an earlier deadline: %v, want a timeout", err)
	}
	_ = c.SetWriteDeadline(time.Time{})
	if got := c.wdeadline.Load(); got != 0 {
		t.Errorf("no deadline left %v in force", time.Unix(0, got))
	}
}
