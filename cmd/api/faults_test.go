package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/servertest"
)

// TestFaultRedisOutage stops Redis for a few seconds in a busy room spread
// over two nodes, with a sender on each. While it is away each node goes on
// delivering its own sender's messages to its own sockets (the other
// node's are read from the store as the gaps show), and /readyz says
// broker. Then node b's sender falls silent while node a's sockets send a
// burst, so node b has a backlog of hundreds of messages, larger than a
// socket's queue, when Redis returns: it must reach every socket without
// closing any as a slow consumer. Deliveries across the nodes resume, and
// every socket has every acknowledged message once, in order. A logout on
// node a while Redis is away still closes the session's socket on node b
// with 4003, when node b checks its sockets' sessions again.
func TestFaultRedisOutage(t *testing.T) {
	rs := servertest.StartRedis(t)
	c := newCluster(t, rs.URL())
	a, b := startRun(t, c.env), startRun(t, c.env)
	const room = "storm"
	onA := roomOnNode(t, a, "ann", room)
	onB := roomOnNode(t, b, "bob", room)
	all := append(append([]*peer(nil), onA...), onB...)
	leaver := signUp(t, a, "leaver")
	leaving := connectPeer(t, b.url, leaver)
	started := time.Now()

	stopA, stopB := make(chan struct{}), make(chan struct{})
	fromA := startSending(onA[0], room, "a", faultSendEvery, stopA)
	fromB := startSending(onB[0], room, "b", faultSendEvery, stopB)
	waitAll(t, all, 20*time.Second, "20 messages", func(p *peer) bool { return len(p.messages(room)) >= 20 })

	rs.Stop()
	down := time.Now()
	waitReady(t, a, http.StatusServiceUnavailable, "broker", 10*time.Second)
	waitReady(t, b, http.StatusServiceUnavailable, "broker", 10*time.Second)
	// Local deliveries go on while Redis is away: every socket gets its
	// own node's sender's messages sent after the outage began.
	mark := make(map[*peer]int64, len(all))
	for _, p := range all {
		mark[p] = newest(p, room)
	}
	waitAll(t, onA, 20*time.Second, "messages of its node's sender during the outage", func(p *peer) bool { return fromTag(p, room, "a", mark[p]) >= 10 })
	waitAll(t, onB, 20*time.Second, "messages of its node's sender during the outage", func(p *peer) bool { return fromTag(p, room, "b", mark[p]) >= 10 })

	leaverClosed := closedAt(leaving)
	loggedOut := logout(t, a, leaver)
	close(stopB)
	ackedB, errB := fromB.result()
	ackedBurst := burst(t, onA[1], room, "rush", faultBurst)
	revoked := waitRevoked(t, leaving, leaverClosed, loggedOut)
	waitReady(t, b, http.StatusServiceUnavailable, "broker", time.Second)
	time.Sleep(time.Until(down.Add(faultOutage)))

	rs.Start()
	up := time.Now()
	stopB = make(chan struct{})
	fromB2 := startSending(onB[0], room, "b2", faultSendEvery, stopB)
	waitReady(t, a, http.StatusOK, "ok", 20*time.Second)
	waitReady(t, b, http.StatusOK, "ok", 20*time.Second)
	ready := time.Since(up)
	// Deliveries across the nodes resume: each side hears the other's
	// sender again.
	for _, p := range all {
		mark[p] = newest(p, room)
	}
	waitAll(t, onB, 30*time.Second, "node a's messages after Redis returned", func(p *peer) bool { return fromTag(p, room, "a", mark[p]) >= 5 })
	waitAll(t, onA, 30*time.Second, "node b's messages after Redis returned", func(p *peer) bool { return fromTag(p, room, "b2", mark[p]) >= 5 })
	close(stopA)
	close(stopB)
	ackedA, errA := fromA.result()
	ackedB2, errB2 := fromB2.result()
	if errA != nil || errB != nil || errB2 != nil {
		t.Fatalf("sends while Redis was away must still be acknowledged: %v %v %v", errA, errB, errB2)
	}
	last := max(maxSeq(ackedA), maxSeq(ackedB), maxSeq(ackedB2), maxSeq(ackedBurst))
	checkAcks(t, last, ackedA, ackedB, ackedB2, ackedBurst)
	waitAll(t, all, 30*time.Second, "every acknowledged message", func(p *peer) bool { return newest(p, room) >= last })
	for i, p := range all {
		checkStream(t, fmt.Sprintf("socket %d (%s)", i, p.name), p.messages(room), 1, last)
		if code := p.code(); code != 0 {
			t.Errorf("socket %d (%s) closed with %d", i, p.name, code)
		}
	}
	t.Logf("%d sockets, %d messages (a %d, b %d+%d, burst %d); Redis away %v, ready again %v later; a logout reached node b in %v; %v in all",
		len(all), last, len(ackedA), len(ackedB), len(ackedB2), len(ackedBurst),
		up.Sub(down).Round(time.Millisecond), ready.Round(time.Millisecond), revoked.Round(time.Millisecond), time.Since(started).Round(time.Second))
}

// TestFaultPostgresRestart stops the service's PostgreSQL (a cluster of
// the test's own) for a few seconds and starts it again while two nodes
// take sends. Meanwhile a send gets error internal (or a close the client
// retries after), never an ack; a socket upgrade gets 503 with Retry-After,
// never 401 (the token may be good); /readyz says database. Once it is
// back the nodes recover by themselves: sends are acknowledged again and
// every acknowledged message is in the history and in every socket's
// stream, once.
func TestFaultPostgresRestart(t *testing.T) {
	pg := servertest.StartPostgres(t)
	c := newCluster(t, "")
	env := c.with(map[string]string{"CHAT_DB_URL": pg.URL()})
	a, b := startRun(t, env), startRun(t, env)
	const room = "ledger"
	alice, bob, late := signUp(t, a, "alice"), signUp(t, b, "bob"), signUp(t, a, "latecomer")
	started := time.Now()
	var watchers []*peer
	for _, w := range []struct {
		node *service
		acct account
	}{{a, alice}, {a, alice}, {b, bob}, {b, bob}} {
		p := connectPeer(t, w.node.url, w.acct)
		p.join(room, -1)
		watchers = append(watchers, p)
	}
	stop := make(chan struct{})
	senders := []*faultSender{
		startFaultSender(watchers[0], room, "a", faultSendEvery, stop),
		startFaultSender(watchers[2], room, "b", faultSendEvery, stop),
	}
	for _, s := range senders {
		waitSender(t, s, 20*time.Second, "10 acks", func(acked, _ int) bool { return acked >= 10 })
	}

	pg.Stop()
	down := time.Now()
	waitReady(t, a, http.StatusServiceUnavailable, "database", 10*time.Second)
	waitReady(t, b, http.StatusServiceUnavailable, "database", 10*time.Second)
	for _, s := range senders {
		waitSender(t, s, 30*time.Second, "error internal", func(_, internal int) bool { return internal >= 2 })
	}
	for _, n := range []*service{a, b} {
		_, resp, err := dialPeer(n.url, late)
		if err == nil {
			t.Fatalf("%s: a socket opened while the database was away", n.url)
		}
		if resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			status, retry := 0, ""
			if resp != nil {
				status, retry = resp.StatusCode, resp.Header.Get("Retry-After")
			}
			t.Fatalf("%s: upgrade with the database away: %d (Retry-After %q), %v; want 503 with Retry-After", n.url, status, retry, err)
		}
	}
	time.Sleep(time.Until(down.Add(faultOutage)))

	pg.Start()
	up := time.Now()
	waitReady(t, a, http.StatusOK, "ok", 30*time.Second)
	waitReady(t, b, http.StatusOK, "ok", 30*time.Second)
	ready := time.Since(up)
	for _, s := range senders {
		mark, _ := s.counts()
		waitSender(t, s, 30*time.Second, "acks after the database returned", func(acked, _ int) bool { return acked >= mark+5 })
	}
	close(stop)
	acked := make(map[int64]string)
	internal := 0
	for i, s := range senders {
		<-s.done
		if s.err != nil {
			t.Fatalf("sender %d: %v", i, s.err)
		}
		if s.closed != 0 && !retryableClose(s.closed) {
			t.Fatalf("sender %d: socket closed with %d, which no client retries", i, s.closed)
		}
		internal += s.internal
		for seq, text := range s.acked {
			if acked[seq] != "" {
				t.Fatalf("seq %d acknowledged to two senders", seq)
			}
			acked[seq] = text
		}
	}

	// Nothing acknowledged is lost or doubled: the history has every
	// acknowledged message at its seq, and no text twice.
	msgs := history(t, a, alice.access, room)
	checkStream(t, "history", msgs, 1, int64(len(msgs)))
	texts := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		if texts[m.Text] {
			t.Errorf("%q stored twice", m.Text)
		}
		texts[m.Text] = true
	}
	for seq, text := range acked {
		if seq > int64(len(msgs)) || msgs[seq-1].Text != text {
			t.Errorf("acknowledged seq %d (%q) is not in the history", seq, text)
		}
	}
	last := int64(len(msgs))
	for i, p := range watchers {
		if code := p.code(); code != 0 && !retryableClose(code) {
			t.Errorf("watcher %d closed with %d", i, code)
		}
		if p.code() != 0 {
			continue
		}
		p.waitFor(30*time.Second, "every stored message", func() bool {
			n := len(p.msgs[room])
			return n > 0 && p.msgs[room][n-1].Seq >= last
		})
		checkStream(t, fmt.Sprintf("watcher %d", i), p.messages(room), 1, last)
	}
	connectPeer(t, b.url, late).join(room, -1)
	t.Logf("%d messages stored, %d acknowledged, %d sends answered error internal; PostgreSQL away %v, ready again %v later; %v in all",
		last, len(acked), internal, up.Sub(down).Round(time.Millisecond), ready.Round(time.Millisecond), time.Since(started).Round(time.Second))
}
