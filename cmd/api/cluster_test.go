package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/servertest"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
	"github.com/chatsvc/chat/openapi/apitest"
	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"
)

// redisEnv names the Redis server of the multi-node tests.
const redisEnv = "CHAT_TEST_REDIS_URL"

// cluster is the shared configuration of the nodes of one test: a fresh
// PostgreSQL schema and a Redis key prefix of its own.
type cluster struct {
	env map[string]string
}

// newCluster skips the test unless PostgreSQL and Redis are configured.
// The test's keys are deleted at its end.
func newCluster(t *testing.T, redisURL string) *cluster {
	t.Helper()
	if redisURL == "" {
		redisURL = os.Getenv(redisEnv)
		if redisURL == "" {
			t.Skip(redisEnv + " not set: skipping multi-node tests")
		}
	}
	dbURL := storetest.URL(t, store.DialectPostgres)
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "chattest:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() { deleteKeys(t, redisURL, prefix) })
	return &cluster{env: map[string]string{
		"CHAT_DB_URL":                dbURL,
		"CHAT_REDIS_URL":             redisURL,
		"CHAT_REDIS_PREFIX":          prefix,
		"CHAT_RATE_MSGS":             "1000",
		"CHAT_RATE_BURST":            "1000",
		"CHAT_LOGIN_RATE":            "0",
		"CHAT_LOGIN_IP_RATE":         "0",
		"CHAT_REGISTER_RATE":         "0",
		"CHAT_LOGIN_USER_RATE":       "0",
		"CHAT_REFRESH_RATE":          "0",
		"CHAT_REFRESH_SESSION_RATE":  "0",
		"CHAT_WS_MAX_CONNS_PER_USER": "64",
		"CHAT_LOG_LEVEL":             "info",
		"CHAT_JWT_SECRET":            testSecret,
	}}
}

// with returns the cluster's variables with extra ones on top.
func (c *cluster) with(extra map[string]string) map[string]string {
	e := make(map[string]string, len(c.env)+len(extra))
	for k, v := range c.env {
		e[k] = v
	}
	for k, v := range extra {
		e[k] = v
	}
	return e
}

func deleteKeys(t *testing.T, redisURL, prefix string) {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}

// account is a registered user with a live session.
type account struct {
	name    string
	id      string
	access  string
	refresh string
}

// signUp registers name through node and logs it in.
func signUp(t *testing.T, node *service, name string) account {
	t.Helper()
	creds := map[string]string{"username": name, "password": "correct horse battery"}
	code, body := node.call(t, http.MethodPost, "/api/v1/auth/register", creds, "")
	if code != http.StatusCreated {
		t.Fatalf("register %s: %d %s", name, code, body)
	}
	var reg struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal(body, &reg); err != nil {
		t.Fatal(err)
	}
	code, body = node.call(t, http.MethodPost, "/api/v1/auth/login", creds, "")
	if code != http.StatusOK {
		t.Fatalf("login %s: %d %s", name, code, body)
	}
	var pair struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &pair); err != nil {
		t.Fatal(err)
	}
	return account{name: name, id: reg.User.ID, access: pair.AccessToken, refresh: pair.RefreshToken}
}

// frame is any frame the server sends, with the fields the tests read.
type frame struct {
	Type    string   `json:"type"`
	Room    string   `json:"room"`
	Seq     int64    `json:"seq"`
	Text    string   `json:"text"`
	Ref     string   `json:"ref"`
	Code    string   `json:"code"`
	User    string   `json:"user"`
	Event   string   `json:"event"`
	From    string   `json:"from"`
	LastSeq int64    `json:"last_seq"`
	Members []string `json:"members"`
	Change  string   `json:"change"`
	Reason  string   `json:"reason"`
	By      string   `json:"by"`
	// EditedAt and Deleted: a replayed message's current state.
	EditedAt *string `json:"edited_at"`
	Deleted  bool    `json:"deleted"`
}

// peer is one WebSocket client; a reader goroutine files what arrives.
type peer struct {
	t      *testing.T
	name   string
	ws     *websocket.Conn
	writeM sync.Mutex

	mu        sync.Mutex
	msgs      map[string][]frame // messages per room, in arrival order
	others    []frame            // every frame that is not a message
	bad       []string           // frames not as docs/frames.json describes
	closeCode int                // 0 while open; 1006 for a cut connection
	changed   chan struct{}
}

func connectPeer(t *testing.T, node string, a account) *peer {
	t.Helper()
	p, resp, err := dialPeer(node, a)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s as %s: %v (status %d)", node, a.name, err, status)
	}
	p.t = t
	t.Cleanup(func() {
		p.ws.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, b := range p.bad {
			t.Errorf("%s: %s", a.name, b)
		}
	})
	return p
}

func dialPeer(node string, a account) (*peer, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{"chat.v1", "access_token." + a.access}}
	ws, resp, err := d.Dial("ws"+strings.TrimPrefix(node, "http")+"/ws", nil)
	if err != nil {
		return nil, resp, err
	}
	p := &peer{name: a.name, ws: ws, msgs: map[string][]frame{}, changed: make(chan struct{}, 1)}
	go p.read()
	return p, resp, nil
}

func (p *peer) read() {
	for {
		_, data, err := p.ws.ReadMessage()
		var bad error
		if err == nil {
			bad = apitest.ValidateServerFrame(data)
		}
		p.mu.Lock()
		if err != nil {
			p.closeCode = websocket.CloseAbnormalClosure
			if ce, ok := err.(*websocket.CloseError); ok {
				p.closeCode = ce.Code
			}
			p.mu.Unlock()
			p.notify()
			return
		}
		if bad != nil {
			p.bad = append(p.bad, fmt.Sprintf("server frame %.300s: not as docs/frames.json describes: %v", data, bad))
		}
		var f frame
		if json.Unmarshal(data, &f) == nil {
			if f.Type == "message" {
				p.msgs[f.Room] = append(p.msgs[f.Room], f)
			} else {
				p.others = append(p.others, f)
			}
		}
		p.mu.Unlock()
		p.notify()
	}
}

func (p *peer) notify() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

func (p *peer) write(v any) error {
	p.writeM.Lock()
	defer p.writeM.Unlock()
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := apitest.ValidateClientFrame(b); err != nil {
		return fmt.Errorf("client frame %s: not as docs/frames.json describes: %w", b, err)
	}
	_ = p.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return p.ws.WriteMessage(websocket.TextMessage, b)
}

// waitFor waits until cond, checked under the peer's lock, holds.
func (p *peer) waitFor(within time.Duration, what string, cond func() bool) {
	p.t.Helper()
	deadline := time.After(within)
	for {
		p.mu.Lock()
		ok := cond()
		p.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-p.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			p.mu.Lock()
			others := fmt.Sprint(p.others)
			p.mu.Unlock()
			p.t.Fatalf("%s: no %s within %v (frames: %s)", p.name, what, within, others)
		}
	}
}

// other waits for a non-message frame matching match and returns it.
func (p *peer) other(within time.Duration, what string, match func(frame) bool) frame {
	p.t.Helper()
	var got frame
	p.waitFor(within, what, func() bool {
		for _, f := range p.others {
			if match(f) {
				got = f
				return true
			}
		}
		return false
	})
	return got
}

// join joins room (with since when since >= 0) and returns the joined frame.
func (p *peer) join(room string, since int64) frame {
	p.t.Helper()
	ref := "j-" + room + fmt.Sprint(time.Now().UnixNano())
	cmd := map[string]any{"type": "join", "room": room, "ref": ref}
	if since >= 0 {
		cmd["since"] = since
	}
	if err := p.write(cmd); err != nil {
		p.t.Fatalf("%s: join: %v", p.name, err)
	}
	return p.other(10*time.Second, "joined "+room, func(f frame) bool { return f.Type == "joined" && f.Room == room && f.Ref == ref })
}

// messages returns a copy of the messages received in room.
func (p *peer) messages(room string) []frame {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]frame(nil), p.msgs[room]...)
}

// code returns the close code, 0 while open.
func (p *peer) code() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closeCode
}

// mustSend is sendAcked that fails the test on an error.
func (p *peer) mustSend(t testing.TB, room, ref, text string, within time.Duration) int64 {
	t.Helper()
	seq, err := p.sendAcked(room, ref, text, within)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// sendAcked sends text and waits for its ack, returning the seq. Errors
// are reported, not fatal, so senders can run in goroutines.
func (p *peer) sendAcked(room, ref, text string, within time.Duration) (int64, error) {
	if err := p.write(map[string]any{"type": "send", "room": room, "text": text, "ref": ref}); err != nil {
		return 0, err
	}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for _, f := range p.others {
			if f.Ref == ref && (f.Type == "ack" || f.Type == "error") {
				p.mu.Unlock()
				if f.Type == "error" {
					return 0, fmt.Errorf("send %s: error %s", ref, f.Code)
				}
				return f.Seq, nil
			}
		}
		closed := p.closeCode
		p.mu.Unlock()
		if closed != 0 {
			return 0, fmt.Errorf("send %s: socket closed with %d", ref, closed)
		}
		select {
		case <-p.changed:
		case <-time.After(20 * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("send %s: no ack within %v", ref, within)
}

// checkStream fails unless msgs are exactly seqs from..to, in order, each
// once.
func checkStream(t *testing.T, who string, msgs []frame, from, to int64) {
	t.Helper()
	if int64(len(msgs)) != to-from+1 {
		t.Errorf("%s: %d messages, want seqs %d..%d (%d)", who, len(msgs), from, to, to-from+1)
	}
	want := from
	for _, m := range msgs {
		if m.Seq != want {
			t.Errorf("%s: got seq %d where %d was due", who, m.Seq, want)
			return
		}
		want++
	}
}

func TestClusterMessagesInOneOrder(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "")
	nodes := []*service{startRun(t, c.env), startRun(t, c.env), startRun(t, c.env)}
	const room = "everyone"
	const perSender = 40

	var peers []*peer
	var senders []*peer
	for i, n := range nodes {
		a := signUp(t, n, fmt.Sprintf("member%d", i))
		for j := 0; j < 2; j++ {
			p := connectPeer(t, n.url, a)
			p.join(room, -1)
			peers = append(peers, p)
		}
		senders = append(senders, peers[len(peers)-1])
	}

	var wg sync.WaitGroup
	errs := make(chan error, len(senders)*perSender)
	for i, s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < perSender; k++ {
				if _, err := s.sendAcked(room, fmt.Sprintf("n%d-%d", i, k), fmt.Sprintf("hello %d from node %d", k, i), 10*time.Second); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := int64(len(senders) * perSender)
	for i, p := range peers {
		p.waitFor(10*time.Second, fmt.Sprintf("%d messages", total), func() bool { return int64(len(p.msgs[room])) >= total })
		msgs := p.messages(room)
		checkStream(t, fmt.Sprintf("peer %d on node %d", i, i/2), msgs, 1, total)
		if i > 0 {
			for k, m := range msgs {
				if first := peers[0].messages(room); k < len(first) && first[k].Text != m.Text {
					t.Fatalf("peer %d: seq %d is %q, peer 0 has %q", i, m.Seq, m.Text, first[k].Text)
				}
			}
		}
	}
}

func TestClusterRevocation(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "")
	a, b, other := startRun(t, c.env), startRun(t, c.env), startRun(t, c.env)
	acct := signUp(t, a, "leaver")
	pa := connectPeer(t, a.url, acct)
	pb := connectPeer(t, b.url, acct)
	pa.join("lobby", -1)
	pb.join("lobby", -1)

	start := time.Now()
	if code, body := other.call(t, http.MethodPost, "/api/v1/auth/logout", map[string]string{"refresh_token": acct.refresh}, ""); code != http.StatusNoContent {
		t.Fatalf("logout: %d %s", code, body)
	}
	for _, p := range []*peer{pa, pb} {
		p.waitFor(2*time.Second, "close", func() bool { return p.closeCode != 0 })
		if p.code() != 4003 {
			t.Errorf("socket closed with %d, want 4003", p.code())
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("sockets closed %v after the logout, want within 1s", d)
	}
	// The access token of the revoked session opens no new socket on any
	// node, although it has not expired.
	for _, n := range []*service{a, b, other} {
		if _, resp, err := dialPeer(n.url, acct); err == nil {
			t.Errorf("%s accepted a socket of a revoked session", n.url)
		} else if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: dial after logout: %v, want 401", n.url, err)
		}
	}
}

func TestClusterRefreshReuse(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "")
	// No grace: the first retry of the spent token is already reuse (the
	// grace itself is tested in internal/auth, on two nodes).
	env := c.with(map[string]string{"CHAT_REFRESH_GRACE": "0s"})
	a, b, other := startRun(t, env), startRun(t, env), startRun(t, env)
	acct := signUp(t, a, "copied")
	p := connectPeer(t, other.url, acct)
	p.join("lobby", -1)

	body := map[string]string{"refresh_token": acct.refresh}
	if code, resp := a.call(t, http.MethodPost, "/api/v1/auth/refresh", body, ""); code != http.StatusOK {
		t.Fatalf("refresh: %d %s", code, resp)
	}
	// The spent token again, on another node: the whole session ends.
	start := time.Now()
	if code, resp := b.call(t, http.MethodPost, "/api/v1/auth/refresh", body, ""); code != http.StatusUnauthorized {
		t.Fatalf("reuse of a spent refresh token: %d %s, want 401", code, resp)
	}
	p.waitFor(2*time.Second, "close", func() bool { return p.closeCode != 0 })
	if p.code() != 4003 {
		t.Errorf("socket on a third node closed with %d, want 4003", p.code())
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("socket closed %v after the reuse, want within 1s", d)
	}
}

func TestClusterPresenceAndTyping(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "")
	a, b := startRun(t, c.env), startRun(t, c.env)
	alice := signUp(t, a, "alice")
	bob := signUp(t, b, "bob")
	const room = "garden"

	pa := connectPeer(t, a.url, alice)
	pa.join(room, -1)
	pb := connectPeer(t, b.url, bob)
	joined := pb.join(room, -1)
	if strings.Join(joined.Members, ",") != "alice,bob" {
		t.Errorf("bob's joined members %v, want [alice bob]\n%s", joined.Members, b.stderr)
	}
	pa.other(5*time.Second, "bob's presence join", func(f frame) bool {
		return f.Type == "presence" && f.User == "bob" && f.Event == "join"
	})

	// A second socket of bob on the other node is no new arrival.
	pb2 := connectPeer(t, a.url, bob)
	pb2.join(room, -1)

	if err := pb.write(map[string]any{"type": "typing", "room": room}); err != nil {
		t.Fatal(err)
	}
	pa.other(5*time.Second, "bob typing", func(f frame) bool { return f.Type == "typing" && f.From == "bob" })

	pb.ws.Close()
	time.Sleep(500 * time.Millisecond)
	pb2.ws.Close()
	pa.other(5*time.Second, "bob's presence leave", func(f frame) bool {
		return f.Type == "presence" && f.User == "bob" && f.Event == "leave"
	})
	pa.mu.Lock()
	joins := 0
	for _, f := range pa.others {
		if f.Type == "presence" && f.User == "bob" && f.Event == "join" {
			joins++
		}
	}
	pa.mu.Unlock()
	if joins != 1 {
		t.Errorf("alice saw bob join %d times, want once (presence is per user)", joins)
	}
}

func TestClusterSharedLimits(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "")
	env := c.with(map[string]string{"CHAT_WS_MAX_CONNS_PER_USER": "2", "CHAT_LOGIN_RATE": "2/1m"})
	nodes := []*service{startRun(t, env), startRun(t, env), startRun(t, env)}
	acct := signUp(t, nodes[0], "capped")

	p0 := connectPeer(t, nodes[0].url, acct)
	connectPeer(t, nodes[1].url, acct)
	if _, resp, err := dialPeer(nodes[2].url, acct); err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third socket across nodes: err %v, want 429", err)
	}
	p0.ws.Close()
	// The place frees once the first node has seen the socket go.
	deadline := time.Now().Add(5 * time.Second)
	for {
		p, _, err := dialPeer(nodes[2].url, acct)
		if err == nil {
			p.ws.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no place after a socket closed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	wrong := map[string]string{"username": "capped", "password": "wrong wrong wrong"}
	for i, n := range nodes[:2] {
		if code, body := n.call(t, http.MethodPost, "/api/v1/auth/login", wrong, ""); code != http.StatusUnauthorized {
			t.Fatalf("failed login %d: %d %s", i, code, body)
		}
	}
	if code, body := nodes[2].call(t, http.MethodPost, "/api/v1/auth/login", wrong, ""); code != http.StatusTooManyRequests {
		t.Fatalf("third failed login on a third node: %d %s, want 429", code, body)
	}
}

// sendLoop sends to room through p every interval until stop closes, and
// records the seqs acknowledged. It stops at the first failed send.
type sendLoop struct {
	mu    sync.Mutex
	acked []int64
	err   error
	done  chan struct{}
}

func startSending(p *peer, room, tag string, interval time.Duration, stop <-chan struct{}) *sendLoop {
	l := &sendLoop{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			case <-time.After(interval):
			}
			seq, err := p.sendAcked(room, fmt.Sprintf("%s-%d", tag, k), fmt.Sprintf("%s says %d", tag, k), 15*time.Second)
			l.mu.Lock()
			if err != nil {
				l.err = err
				l.mu.Unlock()
				return
			}
			l.acked = append(l.acked, seq)
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *sendLoop) result() ([]int64, error) {
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked, l.err
}

func maxSeq(seqs []int64) int64 {
	var m int64
	for _, s := range seqs {
		m = max(m, s)
	}
	return m
}

func TestClusterNodeKilled(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "")
	a := startRun(t, c.env)
	k := servertest.Start(t, c.with(map[string]string{"CHAT_LOG_LEVEL": "warn"}))
	const room = "crash"

	watcher := connectPeer(t, a.url, signUp(t, a, "watcher"))
	watcher.join(room, -1)
	victim := signUp(t, a, "victim")
	ghost := signUp(t, a, "ghost")
	onK := []*peer{connectPeer(t, k.URL, victim), connectPeer(t, k.URL, victim)}
	for _, p := range onK {
		p.join(room, -1)
	}
	connectPeer(t, k.URL, ghost).join(room, -1)
	watcher.other(5*time.Second, "ghost's presence join", func(f frame) bool {
		return f.Type == "presence" && f.User == "ghost" && f.Event == "join"
	})

	stop := make(chan struct{})
	fromA := startSending(watcher, room, "a", 10*time.Millisecond, stop)
	fromK := startSending(onK[0], room, "k", 10*time.Millisecond, stop)
	watcher.waitFor(10*time.Second, "20 messages", func() bool { return len(watcher.msgs[room]) >= 20 })

	k.Kill()
	killed := time.Now()
	ackedK, errK := fromK.result()
	if errK == nil {
		t.Fatal("sends through the killed node went on")
	}
	// Its clients reconnect to the live node and resume where they were.
	var resumed [][]frame
	for i, p := range onK {
		p.waitFor(5*time.Second, "the cut", func() bool { return p.closeCode != 0 })
		before := p.messages(room)
		var since int64
		if len(before) > 0 {
			since = before[len(before)-1].Seq
		}
		np := connectPeer(t, a.url, victim)
		np.join(room, since)
		resumed = append(resumed, before)
		onK[i] = np
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	ackedA, errA := fromA.result()
	if errA != nil {
		t.Fatalf("sends through the live node: %v", errA)
	}
	last := max(maxSeq(ackedA), maxSeq(ackedK))

	watcher.waitFor(10*time.Second, "every message", func() bool { return int64(len(watcher.msgs[room])) >= last })
	checkStream(t, "watcher", watcher.messages(room), 1, last)
	for i, np := range onK {
		np.waitFor(10*time.Second, "every message", func() bool {
			n := len(np.msgs[room])
			return n > 0 && np.msgs[room][n-1].Seq >= last
		})
		checkStream(t, fmt.Sprintf("victim socket %d across the crash", i), append(resumed[i], np.messages(room)...), 1, last)
	}

	// The ghost, who was only on the killed node, leaves within the bound.
	watcher.other(30*time.Second-time.Since(killed), "ghost's presence leave", func(f frame) bool {
		return f.Type == "presence" && f.User == "ghost" && f.Event == "leave"
	})
	t.Logf("ghost left %v after the kill", time.Since(killed).Round(time.Second))
}

// readyStatus returns the /readyz status of node.
func readyStatus(t *testing.T, node *service) (int, string) {
	t.Helper()
	code, body := node.call(t, http.MethodGet, "/readyz", nil, "")
	return code, string(body)
}

func TestClusterRedisRestart(t *testing.T) {
	t.Parallel()
	rs := servertest.StartRedis(t)
	c := newCluster(t, rs.URL())
	a, b := startRun(t, c.env), startRun(t, c.env)
	const room = "weather"

	pa := connectPeer(t, a.url, signUp(t, a, "anna"))
	pb := connectPeer(t, b.url, signUp(t, b, "ben"))
	pa.join(room, -1)
	pb.join(room, -1)
	stop := make(chan struct{})
	fromA := startSending(pa, room, "a", 15*time.Millisecond, stop)
	fromB := startSending(pb, room, "b", 15*time.Millisecond, stop)
	pa.waitFor(10*time.Second, "20 messages", func() bool { return len(pa.msgs[room]) >= 20 })

	rs.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := readyStatus(t, a)
		if code == http.StatusServiceUnavailable && strings.Contains(body, "broker") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz with Redis down: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // sends go on, stored and acknowledged
	rs.Start()
	deadline = time.Now().Add(15 * time.Second)
	for _, n := range []*service{a, b} {
		for {
			code, body := readyStatus(t, n)
			if code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("readyz after Redis returned: %d %s", code, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	time.Sleep(time.Second)
	close(stop)
	ackedA, errA := fromA.result()
	ackedB, errB := fromB.result()
	if errA != nil || errB != nil {
		t.Fatalf("sends while Redis was away must still be acknowledged: %v %v", errA, errB)
	}
	last := max(maxSeq(ackedA), maxSeq(ackedB))
	if int64(len(ackedA)+len(ackedB)) != last {
		t.Fatalf("%d acks for seqs up to %d", len(ackedA)+len(ackedB), last)
	}
	for _, p := range []*peer{pa, pb} {
		p.waitFor(15*time.Second, "every acked message", func() bool {
			n := len(p.msgs[room])
			return n > 0 && p.msgs[room][n-1].Seq >= last
		})
		checkStream(t, p.name, p.messages(room), 1, last)
	}
	// Redis lost everything it held; the nodes announced their presence
	// again, so a node that starts now lists both.
	third := startRun(t, c.env)
	pc := connectPeer(t, third.url, signUp(t, third, "cleo"))
	deadline = time.Now().Add(10 * time.Second)
	for {
		joined := pc.join(room, -1)
		if strings.Join(joined.Members, ",") == "anna,ben,cleo" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("members seen from a new node after the Redis restart: %v, want [anna ben cleo]", joined.Members)
		}
		if err := pc.write(map[string]any{"type": "leave", "room": room}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if strings.Count(a.stderr.String(), "redis subscription lost") > 1 {
		t.Errorf("the outage was logged more than once:\n%s", a.stderr)
	}
}

func TestClusterDatabaseOutage(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "")
	u, err := url.Parse(c.env["CHAT_DB_URL"])
	if err != nil {
		t.Fatal(err)
	}
	proxy := servertest.StartProxy(t, u.Host)
	u.Host = proxy.Addr()
	n := startRun(t, c.with(map[string]string{"CHAT_DB_URL": u.String()}))
	p := connectPeer(t, n.url, signUp(t, n, "patient"))
	p.join("outage", -1)
	p.mustSend(t, "outage", "before", "before the outage", 5*time.Second)

	proxy.Down()
	_, err = p.sendAcked("outage", "during", "while the database is away", 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "error internal") {
		t.Fatalf("send with the database away: %v, want error internal and no ack", err)
	}
	if code, body := readyStatus(t, n); code != http.StatusServiceUnavailable || !strings.Contains(body, "database") {
		t.Errorf("readyz with the database away: %d %s", code, body)
	}
	for k := 0; k < 3; k++ {
		if _, err := p.sendAcked("outage", fmt.Sprintf("during-%d", k), "still away", 20*time.Second); err == nil {
			t.Fatal("a send was acknowledged while the database was away")
		}
	}
	if p.code() != 0 {
		t.Fatalf("socket closed with %d; it must stay open", p.code())
	}
	if got := strings.Count(n.stderr.String(), "store unreachable"); got != 1 {
		t.Errorf("the outage was logged %d times, want once", got)
	}

	proxy.Up()
	deadline := time.Now().Add(20 * time.Second)
	for k := 0; ; k++ {
		_, err := p.sendAcked("outage", fmt.Sprintf("after-%d", k), "the database is back", 5*time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ack after the database returned: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, body := readyStatus(t, n); code != http.StatusOK {
		t.Errorf("readyz after the database returned: %d %s", code, body)
	}
	checkStream(t, "patient", p.messages("outage"), 1, 2)
	if !strings.Contains(n.stderr.String(), "store reachable again") {
		t.Error("the end of the outage was not logged")
	}
}

func TestClusterRedisUnreachableAtStart(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "redis://" + ln.Addr().String() + "/0"
	ln.Close()
	env := c.with(map[string]string{"CHAT_REDIS_URL": dead, "CHAT_ADDR": "127.0.0.1:0"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stderr servertest.Buffer
	err = run(ctx, []string{"api"}, environOf(env), io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "redis") {
		t.Fatalf("run with Redis unreachable: %v, want an error naming redis", err)
	}
	if ctx.Err() != nil {
		t.Fatal("run did not give up on an unreachable Redis in time")
	}
}
