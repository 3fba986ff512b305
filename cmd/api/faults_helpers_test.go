package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Sizes and timings of the fault tests: a room busy enough that a node
// coming back from an outage has a backlog for every socket, on a loaded
// machine.
const (
	faultUsersPerNode   = 2
	faultSocketsPerUser = 12
	faultSendEvery      = 15 * time.Millisecond
	faultOutage         = 4 * time.Second
	// faultBurst is how many messages one socket sends at once while
	// Redis is away, more than a socket's queue (CHAT_WS_SEND_QUEUE, 256
	// by default) holds, faultBurstWindow at a time.
	faultBurst       = 600
	faultBurstWindow = 100
)

// waitReady polls node's /readyz until it answers code with a body that
// contains want.
func waitReady(t *testing.T, node *service, code int, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, body := readyStatus(t, node)
		if got == code && strings.Contains(body, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz: %d %s, want %d with %q within %v", got, body, code, want, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// roomOnNode opens faultUsersPerNode users' sockets on node, each joined to
// room, faultSocketsPerUser per user.
func roomOnNode(t *testing.T, node *service, tag, room string) []*peer {
	t.Helper()
	var peers []*peer
	for u := range faultUsersPerNode {
		a := signUp(t, node, fmt.Sprintf("%s%d", tag, u))
		for range faultSocketsPerUser {
			p := connectPeer(t, node.url, a)
			p.join(room, -1)
			peers = append(peers, p)
		}
	}
	return peers
}

// fromTag counts the messages in room that p received from the sender
// tagged tag (texts "TAG says N") with a seq above after.
func fromTag(p *peer, room, tag string, after int64) int {
	n := 0
	for _, m := range p.messages(room) {
		if m.Seq > after && strings.HasPrefix(m.Text, tag+" says ") {
			n++
		}
	}
	return n
}

// newest returns the newest seq p received in room, 0 for none.
func newest(p *peer, room string) int64 {
	msgs := p.messages(room)
	if len(msgs) == 0 {
		return 0
	}
	return msgs[len(msgs)-1].Seq
}

// waitAll waits until cond holds for every peer.
func waitAll(t *testing.T, peers []*peer, within time.Duration, what string, cond func(p *peer) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, p := range peers {
		for !cond(p) {
			if p.code() != 0 {
				t.Fatalf("%s: socket closed with %d while waiting for %s", p.name, p.code(), what)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no %s within %v", p.name, what, within)
			}
			select {
			case <-p.changed:
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// checkAcks fails unless the acknowledged seqs of every sender are
// distinct and, together, exactly 1..last.
func checkAcks(t *testing.T, last int64, acked ...[]int64) {
	t.Helper()
	seen := make(map[int64]bool)
	for _, seqs := range acked {
		for _, s := range seqs {
			if seen[s] {
				t.Errorf("seq %d acknowledged twice", s)
			}
			seen[s] = true
		}
	}
	if int64(len(seen)) != last {
		t.Errorf("%d seqs acknowledged, the room's newest is %d", len(seen), last)
	}
}

// logout ends the session of a through node and returns when it did.
func logout(t *testing.T, node *service, a account) time.Time {
	t.Helper()
	if code, body := node.call(t, http.MethodPost, "/api/v1/auth/logout", map[string]string{"refresh_token": a.refresh}, ""); code != http.StatusNoContent {
		t.Fatalf("logout %s: %d %s", a.name, code, body)
	}
	return time.Now()
}

// closedAt reports, once, when p is closed: it looks every 20 ms.
func closedAt(p *peer) <-chan time.Time {
	at := make(chan time.Time, 1)
	go func() {
		for p.code() == 0 {
			time.Sleep(20 * time.Millisecond)
		}
		at <- time.Now()
	}()
	return at
}

// waitRevoked waits until p, whose session ended at since without its
// node hearing of it, is closed (closed reports when) with 4003 within a
// session re-check (8 s) and some slack, and returns how long it took.
func waitRevoked(t *testing.T, p *peer, closed <-chan time.Time, since time.Time) time.Duration {
	t.Helper()
	select {
	case at := <-closed:
		if code := p.code(); code != 4003 {
			t.Fatalf("%s: the socket of an ended session closed with %d, want 4003", p.name, code)
		}
		return at.Sub(since)
	case <-time.After(20*time.Second - time.Since(since)):
		t.Fatalf("%s: the socket of an ended session is still open %v after the logout", p.name, time.Since(since))
		return 0
	}
}

// burst sends n messages through p as fast as the node takes them, with
// up to faultBurstWindow unanswered at a time, and returns the
// acknowledged seqs.
func burst(t *testing.T, p *peer, room, tag string, n int) []int64 {
	t.Helper()
	var seqs []int64
	for sent := 0; sent < n; {
		next := min(n, sent+faultBurstWindow)
		for k := sent; k < next; k++ {
			if err := p.write(map[string]any{"type": "send", "room": room, "text": fmt.Sprintf("%s says %d", tag, k), "ref": fmt.Sprintf("%s-%d", tag, k)}); err != nil {
				t.Fatal(err)
			}
		}
		sent = next
		failed := ""
		p.waitFor(time.Minute, fmt.Sprintf("%d acks", sent), func() bool {
			seqs = seqs[:0]
			for _, f := range p.others {
				switch {
				case !strings.HasPrefix(f.Ref, tag+"-"):
				case f.Type == "error":
					failed = f.Ref + ": error " + f.Code
				case f.Type == "ack":
					seqs = append(seqs, f.Seq)
				}
			}
			return failed != "" || len(seqs) == sent
		})
		if failed != "" {
			t.Fatalf("%s: send %s", p.name, failed)
		}
	}
	return seqs
}

// faultSender sends to a room every interval through one socket, going on
// past failed sends, and records what each send got: an ack (its seq and
// text), an error internal, or the close of the socket, which ends it.
type faultSender struct {
	mu       sync.Mutex
	acked    map[int64]string // seq -> text
	internal int              // sends answered with error internal
	closed   int              // the socket's close code, 0 while open
	err      error            // any other answer: a failure of the test
	done     chan struct{}
}

func startFaultSender(p *peer, room, tag string, interval time.Duration, stop <-chan struct{}) *faultSender {
	s := &faultSender{acked: make(map[int64]string), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			case <-time.After(interval):
			}
			ref, text := fmt.Sprintf("%s-%d", tag, k), fmt.Sprintf("%s says %d", tag, k)
			seq, err := p.sendAcked(room, ref, text, 30*time.Second)
			s.mu.Lock()
			switch {
			case err == nil && s.acked[seq] != "":
				s.err = fmt.Errorf("seq %d acknowledged for %q and %q", seq, s.acked[seq], text)
			case err == nil:
				s.acked[seq] = text
			case strings.Contains(err.Error(), "error internal"):
				s.internal++
			case p.code() != 0:
				s.closed = p.code()
			default:
				s.err = err
			}
			end := s.err != nil || s.closed != 0
			s.mu.Unlock()
			if end {
				return
			}
		}
	}()
	return s
}

// counts returns the sender's acks and error internal answers so far.
func (s *faultSender) counts() (acked, internal int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acked), s.internal
}

// waitSender waits until cond holds for the sender's counts.
func waitSender(t *testing.T, s *faultSender, within time.Duration, what string, cond func(acked, internal int) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		acked, internal := s.counts()
		if cond(acked, internal) {
			return
		}
		s.mu.Lock()
		err, closed := s.err, s.closed
		s.mu.Unlock()
		if err != nil || closed != 0 || time.Now().After(deadline) {
			t.Fatalf("sender: no %s within %v (%d acks, %d error internal, closed %d, err %v)", what, within, acked, internal, closed, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// history reads every message of room over REST, oldest first.
func history(t *testing.T, node *service, token, room string) []frame {
	t.Helper()
	var all []frame
	before := ""
	for {
		code, body := node.call(t, http.MethodGet, "/api/v1/rooms/"+room+"/messages?limit=200"+before, nil, token)
		if code != http.StatusOK {
			t.Fatalf("history of %s: %d %s", room, code, body)
		}
		var page struct {
			Messages []frame `json:"messages"`
			HasMore  bool    `json:"has_more"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		all = append(page.Messages, all...)
		if !page.HasMore || len(page.Messages) == 0 {
			return all
		}
		before = fmt.Sprintf("&before=%d", page.Messages[0].Seq)
	}
}

// retryableClose reports whether a client told to close with code
// reconnects (with back-off) by the contract.
func retryableClose(code int) bool {
	switch code {
	case 1001, 1011, 1013:
		return true
	}
	return false
}
