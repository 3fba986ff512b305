// Command promtraffic drives a little traffic through a running chat service
// for the metrics end-to-end check (scripts/prom-e2e.sh): it registers a
// user, logs in over REST, opens /ws, joins a room and sends messages, each
// acknowledged, then closes the socket with 1000. It speaks only the public
// contract.
//
// With -free-port it prints a free loopback TCP port and exits.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// httpTimeout bounds each REST call.
const httpTimeout = 10 * time.Second

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "promtraffic:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("promtraffic", flag.ContinueOnError)
	base := fs.String("base", "", "base URL of the service, e.g. http://127.0.0.1:8080")
	n := fs.Int("n", 20, "messages to send")
	every := fs.Duration("every", 150*time.Millisecond, "pause between two messages")
	room := fs.String("room", "general", "room to send to")
	timeout := fs.Duration("timeout", 30*time.Second, "bound on the whole run")
	freePort := fs.Bool("free-port", false, "print a free loopback TCP port and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *freePort {
		return printFreePort()
	}
	if *base == "" {
		return errors.New("-base is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	return traffic(ctx, strings.TrimRight(*base, "/"), *room, *n, *every)
}

func printFreePort() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	return nil
}

// traffic registers a fresh user, logs in and sends n messages to room.
func traffic(ctx context.Context, base, room string, n int, every time.Duration) error {
	user := "e2e_" + randomHex(6)
	password := randomHex(16)
	creds := map[string]string{"username": user, "password": password}
	if err := postJSON(ctx, base+"/api/v1/auth/register", creds, http.StatusCreated, nil); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	// A wrong password first, so a failed login shows up too.
	bad := map[string]string{"username": user, "password": password + "x"}
	if err := postJSON(ctx, base+"/api/v1/auth/login", bad, http.StatusUnauthorized, nil); err != nil {
		return fmt.Errorf("login with a wrong password: %w", err)
	}
	var pair struct {
		AccessToken string `json:"access_token"`
	}
	if err := postJSON(ctx, base+"/api/v1/auth/login", creds, http.StatusOK, &pair); err != nil {
		return fmt.Errorf("login: %w", err)
	}

	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("base URL: %w", err)
	}
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.Path = "/ws"
	d := websocket.Dialer{EnableCompression: true, HandshakeTimeout: httpTimeout, Subprotocols: []string{"chat.v1"}}
	c, resp, err := d.DialContext(ctx, u.String(), http.Header{"Authorization": {"Bearer " + pair.AccessToken}})
	if err != nil {
		if resp != nil {
			return fmt.Errorf("dial /ws: %w (HTTP %d)", err, resp.StatusCode)
		}
		return fmt.Errorf("dial /ws: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.NetConn().Close() })
	defer stop()

	if _, err := expect(c, "welcome", ""); err != nil {
		return err
	}
	if err := c.WriteJSON(map[string]any{"type": "join", "room": room}); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	if _, err := expect(c, "joined", ""); err != nil {
		return err
	}
	for i := range n {
		ref := fmt.Sprintf("e2e-%s-%d", randomHex(4), i)
		text := fmt.Sprintf("end-to-end message %d of %d", i+1, n)
		if err := c.WriteJSON(map[string]any{"type": "send", "room": room, "text": text, "ref": ref}); err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
		if _, err := expect(c, "ack", ref); err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "done")
	if err := c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	// Read until the server answers the close.
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				break
			}
			return fmt.Errorf("close: %w", err)
		}
	}
	fmt.Printf("promtraffic: %s sent %d messages to %s\n", user, n, room)
	return nil
}

// expect reads frames until one of type typ (with ref, when given), failing
// on an error frame.
func expect(c *websocket.Conn, typ, ref string) (map[string]any, error) {
	for {
		var f map[string]any
		if err := c.ReadJSON(&f); err != nil {
			return nil, fmt.Errorf("waiting for %s: %w", typ, err)
		}
		t, _ := f["type"].(string)
		if t == "error" {
			return nil, fmt.Errorf("waiting for %s: error frame %v", typ, f)
		}
		if t == typ && (ref == "" || f["ref"] == ref) {
			return f, nil
		}
	}
}

// postJSON posts body and decodes the answer into out when it has status
// want.
func postJSON(ctx context.Context, u string, body any, want int, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("HTTP %d (%s), want %d", resp.StatusCode, e.Error.Code, want)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
