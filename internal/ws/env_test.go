package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/chatsvc/chat/openapi/apitest"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/hub"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
	"github.com/chatsvc/chat/internal/ws"
	"github.com/gorilla/websocket"
)

const testSecret = "ws-test-secret-ws-test-secret-ws-test-0"

// env is one hub on a real store behind a real HTTP server.
type env struct {
	t       testing.TB
	db      *store.DB
	auth    *auth.Service
	tokens  *auth.Tokens
	hub     *hub.Hub
	ws      *ws.Server
	m       *metrics.Metrics
	srv     *httptest.Server
	wsURL   string
	dbURL   string
	dialect string
}

type envOpts struct {
	hub       func(*hub.Options)
	ws        func(*ws.Options)
	accessTTL time.Duration
	dbURL     string
}

// forDialects runs f on SQLite and, when configured, on PostgreSQL.
func forDialects(t *testing.T, f func(t *testing.T, dialect string)) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) { f(t, d) })
	}
}

func newEnv(t testing.TB, dialect string, o envOpts) *env {
	t.Helper()
	m := metrics.New()
	u := o.dbURL
	if u == "" {
		u = storetest.URL(t, dialect)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, u, store.Options{Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	ttl := o.accessTTL
	if ttl == 0 {
		ttl = 15 * time.Minute
	}
	tokens, err := auth.NewTokens(auth.TokenOptions{Secret: []byte(testSecret), Issuer: "chat", AccessTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, tokens: tokens, m: m, dialect: dialect, dbURL: u}
	e.auth = auth.NewService(auth.ServiceOptions{
		Store: db, Tokens: tokens, Hasher: auth.NewHasher(0), AllowRegistration: true,
		RefreshTTL: time.Hour, Metrics: m,
		OnRevoke: func(sid string) { e.hub.RevokeSession(context.Background(), sid) },
	})
	opt := hub.Options{
		Auth: e.auth, Store: db, Metrics: m,
		RateMsgs: 1000, RateBurst: 1000,
	}
	if o.hub != nil {
		o.hub(&opt)
	}
	wopt := ws.Options{Compression: true, ReadMode: ws.TestReadMode}
	if o.ws != nil {
		o.ws(&wopt)
	}
	e.hub = hub.New(opt)
	mux := http.NewServeMux()
	e.ws = ws.Handler(e.hub, wopt)
	mux.Handle("/ws", e.ws)
	e.srv = httptest.NewUnstartedServer(mux)
	e.srv.Listener = ws.Listener(e.srv.Listener)
	e.srv.Start()
	e.wsURL = "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.hub.Shutdown(ctx)
		if err := e.ws.Shutdown(ctx); err != nil {
			t.Errorf("read sides still running after the hub's shutdown: %v", err)
		}
		e.srv.Close()
		_ = db.Close()
	})
	return e
}

// user returns a token pair of a fresh session of user name, creating the
// user on first use. It skips password hashing: the hub is under test here.
func (e *env) user(name string) chat.TokenPair {
	e.t.Helper()
	ctx := context.Background()
	u, _, err := e.db.UserByName(ctx, name)
	if err != nil {
		if u, err = e.db.CreateUser(ctx, name, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"); err != nil {
			e.t.Fatal(err)
		}
	}
	refresh, hash, err := auth.NewRefreshToken()
	if err != nil {
		e.t.Fatal(err)
	}
	sess, err := e.db.CreateSession(ctx, u.ID, hash, time.Now().Add(time.Hour))
	if err != nil {
		e.t.Fatal(err)
	}
	tok, exp, err := e.tokens.Issue(u, sess.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return chat.TokenPair{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(time.Until(exp).Seconds()), RefreshToken: refresh}
}

// client is a test WebSocket client.
type client struct {
	welcome frame
	frames  chan frame
	readErr error // set before frames is closed
	t       testing.TB
	c       *websocket.Conn
	resp    *http.Response
	mu      sync.Mutex
}

// dialUser dials a socket of a fresh session of user name.
func (e *env) dialUser(name string) *client {
	e.t.Helper()
	return e.dial(e.user(name).AccessToken)
}

func (e *env) dial(token string) *client {
	e.t.Helper()
	c, resp, err := e.dialHeader(http.Header{"Authorization": {"Bearer " + token}}, "")
	if err != nil {
		e.t.Fatalf("dial: %v (status %v)", err, status(resp))
	}
	return c
}

func status(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

func (e *env) dialHeader(h http.Header, query string) (*client, *http.Response, error) {
	return e.dialWith(websocket.Dialer{EnableCompression: true, HandshakeTimeout: 5 * time.Second}, h, query)
}

func (e *env) dialWith(d websocket.Dialer, h http.Header, query string) (*client, *http.Response, error) {
	u := e.wsURL
	if query != "" {
		u += "?" + query
	}
	c, resp, err := d.Dial(u, h)
	if err != nil {
		return nil, resp, err
	}
	cl := &client{t: e.t, c: c, resp: resp, frames: make(chan frame, 1<<16)}
	e.t.Cleanup(func() { c.Close() })
	go cl.readPump()
	cl.welcome = cl.read()
	if cl.welcome.str("type") != "welcome" {
		e.t.Fatalf("first frame is not welcome: %v", cl.welcome)
	}
	return cl, resp, nil
}

func (c *client) send(v any) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.c.WriteJSON(v); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) sendRaw(typ int, b []byte) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.c.WriteMessage(typ, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

type frame map[string]any

func (f frame) str(k string) string { s, _ := f[k].(string); return s }
func (f frame) num(k string) int64  { n, _ := f[k].(float64); return int64(n) }

// read returns the next frame, failing after 5 s.
func (c *client) read() frame {
	c.t.Helper()
	f, err := c.tryRead(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

func (c *client) readPump() {
	defer close(c.frames)
	for {
		_, b, err := c.c.ReadMessage()
		if err != nil {
			c.readErr = err
			return
		}
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			c.readErr = fmt.Errorf("decode %q: %w", b, err)
			return
		}
		// Every frame the server sends must be as docs/frames.json says;
		// one that is not ends the stream with the reason.
		if err := apitest.ValidateServerFrame(b); err != nil {
			c.readErr = fmt.Errorf("frame %s: %w", b, err)
			return
		}
		c.frames <- f
	}
}

// errTimeout reports that no frame came in time.
var errTimeout = fmt.Errorf("no frame in time")

func (c *client) tryRead(d time.Duration) (frame, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case f, ok := <-c.frames:
		if !ok {
			return nil, c.readErr
		}
		return f, nil
	case <-t.C:
		return nil, errTimeout
	}
}

// expect reads frames until one of type typ, failing on an error frame
// unless typ is "error". Presence and typing frames are skipped.
func (c *client) expect(typ string) frame {
	c.t.Helper()
	if typ == "welcome" {
		return c.welcome
	}
	for {
		f := c.read()
		t := f.str("type")
		if t == typ {
			return f
		}
		if t == "presence" || t == "typing" {
			continue
		}
		c.t.Fatalf("want %s frame, got %v", typ, f)
	}
}

// expectClose reads until the socket closes and returns the close code.
func (c *client) expectClose(within time.Duration) (int, string) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		_, err := c.tryRead(time.Until(deadline))
		if err == nil {
			continue
		}
		if err == errTimeout {
			c.t.Fatalf("socket still open after %s", within)
		}
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code, ce.Text
		}
		return websocket.CloseAbnormalClosure, err.Error()
	}
}

// join joins room (since < 0: no since) and returns the replayed messages
// and the joined frame.
func (c *client) join(room string, since int64) ([]frame, frame) {
	c.t.Helper()
	j := frame{"type": "join", "room": room}
	if since >= 0 {
		j["since"] = since
	}
	c.send(j)
	var msgs []frame
	for {
		f := c.read()
		switch f.str("type") {
		case "message":
			msgs = append(msgs, f)
		case "joined":
			return msgs, f
		case "presence", "typing":
		default:
			c.t.Fatalf("join %s: unexpected %v", room, f)
		}
	}
}

var refN struct {
	sync.Mutex
	n int
}

func newRef() string {
	refN.Lock()
	defer refN.Unlock()
	refN.n++
	return fmt.Sprintf("ref-%d-%d", time.Now().UnixNano(), refN.n)
}

// sendMsg sends text and waits for its ack, skipping other frames.
func (c *client) sendMsg(room, text string) frame {
	c.t.Helper()
	ref := newRef()
	c.send(frame{"type": "send", "room": room, "text": text, "ref": ref})
	for {
		f := c.read()
		if f.str("type") == "ack" && f.str("ref") == ref {
			return f
		}
		if f.str("type") == "error" {
			c.t.Fatalf("send: %v", f)
		}
	}
}

// burstSize is how many messages sendBurst sends.
const burstSize = 10

// sendBurst sends burstSize messages of text to room without waiting, refs
// f<burst>-0, f<burst>-1, …, then reads until every one is acked.
func (c *client) sendBurst(room, text string, burst int) {
	c.t.Helper()
	refs := map[string]bool{}
	for i := range burstSize {
		ref := fmt.Sprint("f", burst, "-", i)
		refs[ref] = true
		c.send(frame{"type": "send", "room": room, "text": text, "ref": ref})
	}
	for len(refs) > 0 {
		if f := c.read(); f.str("type") == "ack" {
			delete(refs, f.str("ref"))
		}
	}
}

func queryToken(tok string) string { return "access_token=" + url.QueryEscape(tok) }

// tokensAt issues tokens as if the clock were shifted by skew.
func (e *env) tokensAt(skew time.Duration) *auth.Tokens {
	e.t.Helper()
	now := func() time.Time { return time.Now().Add(skew) }
	tk, err := auth.NewTokens(auth.TokenOptions{Secret: []byte(testSecret), Issuer: "chat", AccessTTL: 15 * time.Minute, Now: now})
	if err != nil {
		e.t.Fatal(err)
	}
	return tk
}
