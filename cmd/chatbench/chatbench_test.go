package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/servertest"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
	"github.com/redis/go-redis/v9"
)

// benchEnv is what a benchmark needs of a server: throttles off, the frame
// rate and per-user socket limit raised.
var benchEnv = map[string]string{
	"CHAT_LOG_LEVEL":             "warn",
	"CHAT_WS_MAX_CONNS_PER_USER": "200",
	"CHAT_RATE_MSGS":             "100000",
	"CHAT_RATE_BURST":            "100000",
	"CHAT_LOGIN_RATE":            "0",
	"CHAT_LOGIN_IP_RATE":         "0",
	"CHAT_LOGIN_USER_RATE":       "0",
	"CHAT_REGISTER_RATE":         "0",
}

// runBench runs chatbench with args and returns its JSON lines by scenario
// and what it wrote to stderr.
func runBench(t testing.TB, args ...string) (map[string]map[string]any, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, append([]string{"chatbench", "-timeout", "50s"}, args...), &stdout, &stderr)
	if err != nil {
		t.Fatalf("chatbench %v: %v\nstderr:\n%s", args, err, stderr.String())
	}
	out := make(map[string]map[string]any)
	for line := range strings.SplitSeq(stdout.String(), "\n") {
		if !strings.HasPrefix(line, `{"scenario":`) {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("JSON line %q: %v", line, err)
		}
		out[m["scenario"].(string)] = m
	}
	t.Logf("chatbench %v:\n%s", args, stdout.String())
	return out, stderr.String()
}

// num returns the number reported under key.
func num(t testing.TB, m map[string]any, key string) float64 {
	t.Helper()
	v, ok := m[key].(float64)
	if !ok {
		t.Fatalf("%s: %s missing or not a number in %v", m["scenario"], key, m)
	}
	return v
}

// successfulLogins reads chat_auth_logins_total{result="success"}.
func successfulLogins(t testing.TB, url string) float64 {
	t.Helper()
	const name = `chat_auth_logins_total{result="success"}`
	m, err := scrape(context.Background(), http.DefaultClient, url+"/metrics", name)
	if err != nil {
		t.Fatal(err)
	}
	return m[name]
}

// checkServerGone checks that chatbench's stderr names the pid of the
// server it started and that the process has exited.
func checkServerGone(t testing.TB, stderr string) {
	t.Helper()
	match := regexp.MustCompile(`server pid (\d+) listening`).FindStringSubmatch(stderr)
	if match == nil {
		t.Fatalf("no server pid in %q", stderr)
	}
	if _, err := os.Stat("/proc/" + match[1]); err == nil {
		t.Errorf("server %s still running", match[1])
	}
}

func TestScenariosAgainstRunningServer(t *testing.T) {
	srv := servertest.Start(t, benchEnv)
	const (
		users   = 5
		sockets = 60
		members = 40
		senders = 4
		rate    = 40
	)
	logins0 := successfulLogins(t, srv.URL)
	res, _ := runBench(t, "-url", srv.URL, "-pid", strconv.Itoa(srv.Pid()), "-scenario", "all",
		"-users", fmt.Sprint(users), "-sockets", fmt.Sprint(sockets), "-rooms", "3",
		"-members", fmt.Sprint(members), "-senders", fmt.Sprint(senders), "-rate", fmt.Sprint(rate),
		"-duration", "1s", "-settle", "200ms", "-login-workers", "2", "-sources", "4")
	for _, sc := range scenarioNames {
		if res[sc] == nil {
			t.Fatalf("no JSON line for %s", sc)
		}
	}

	t.Run("login", func(t *testing.T) {
		m := res["login"]
		logins := num(t, m, "logins")
		if logins < 1 || num(t, m, "failed") != 0 {
			t.Errorf("logins %v failed %v, want some and none", logins, m["failed"])
		}
		// The server counted the setup's logins (one per user) and the
		// scenario's.
		if got := successfulLogins(t, srv.URL) - logins0; got != logins+users {
			t.Errorf("server counted %v successful logins, chatbench %v + %d users", got, logins, users)
		}
		if p50, p99 := num(t, m, "latency_p50"), num(t, m, "latency_p99"); p50 <= 0 || p99 < p50 {
			t.Errorf("latency p50 %v p99 %v", p50, p99)
		}
	})

	t.Run("send", func(t *testing.T) {
		m := res["send"]
		sent, acked := num(t, m, "sent"), num(t, m, "acked")
		if sent < senders || acked != sent {
			t.Errorf("sent %v acked %v, want every send acked", sent, acked)
		}
		if stored := num(t, m, "server_stored"); stored != acked {
			t.Errorf("server stored %v, chatbench saw %v acks", stored, acked)
		}
		if num(t, m, "errors") != 0 || num(t, m, "ack_p50") <= 0 {
			t.Errorf("errors %v ack_p50 %v", m["errors"], m["ack_p50"])
		}
	})

	t.Run("idle", func(t *testing.T) {
		m := res["idle"]
		for _, k := range []string{"sockets", "compressed", "server_open_sockets"} {
			if got := num(t, m, k); got != sockets {
				t.Errorf("%s = %v, want %d", k, got, sockets)
			}
		}
		if num(t, m, "connect_failed") != 0 || num(t, m, "dropped_by_server") != 0 {
			t.Errorf("failed %v dropped %v", m["connect_failed"], m["dropped_by_server"])
		}
		if num(t, m, "rss_before") <= 0 || num(t, m, "rss_after") <= 0 || num(t, m, "connects_per_s") <= 0 {
			t.Errorf("memory or rate not measured: %v", m)
		}
		if m["memory_source"] != "/proc" {
			t.Errorf("memory_source %v with a pid", m["memory_source"])
		}
	})

	t.Run("fanout", func(t *testing.T) {
		m := res["fanout"]
		sent, acked := num(t, m, "sent"), num(t, m, "acked")
		if sent < rate-2 || sent > rate+2 || acked != sent {
			t.Errorf("sent %v acked %v, want about %d in 1s, all acked", sent, acked, rate)
		}
		delivered := num(t, m, "delivered")
		if delivered != acked*members || num(t, m, "expected") != delivered {
			t.Errorf("delivered %v expected %v, want %v", delivered, m["expected"], acked*members)
		}
		for _, k := range []string{"lost", "dup", "gaps", "errors", "dropped_by_server"} {
			if num(t, m, k) != 0 {
				t.Errorf("%s = %v, want 0", k, m[k])
			}
		}
		if got := num(t, m, "server_delivered"); got != delivered {
			t.Errorf("server counted %v deliveries, chatbench %v", got, delivered)
		}
		if p50, p99, mx := num(t, m, "latency_p50"), num(t, m, "latency_p99"), num(t, m, "latency_max"); p50 <= 0 || p99 < p50 || mx < p99 {
			t.Errorf("latency p50 %v p99 %v max %v", p50, p99, mx)
		}
		if num(t, m, "server_cpu_s") <= 0 || num(t, m, "deliveries_per_server_cpu_s") <= 0 {
			t.Errorf("server CPU not measured: %v", m)
		}
	})
}

// TestServerBin has chatbench start the server itself, without compression,
// and checks the server is gone afterwards.
func TestServerBin(t *testing.T) {
	bin := servertest.Binary(t)
	res, stderr := runBench(t, "-server-bin", bin, "-scenario", "fanout", "-compress=false",
		"-users", "3", "-members", "30", "-senders", "2", "-rate", "20", "-duration", "1s")
	m := res["fanout"]
	if m == nil {
		t.Fatal("no fanout line")
	}
	if num(t, m, "compressed") != 0 || num(t, m, "sockets") != 30 {
		t.Errorf("compressed %v sockets %v, want 0 and 30", m["compressed"], m["sockets"])
	}
	if num(t, m, "lost") != 0 || num(t, m, "delivered") != num(t, m, "acked")*30 {
		t.Errorf("lost %v delivered %v acked %v", m["lost"], m["delivered"], m["acked"])
	}
	checkServerGone(t, stderr)
}

// TestReaderCounts feeds frames to one socket's reader logic: duplicates,
// gaps, latencies, acks and errors are counted, also when the fields are not
// in the order the fast path expects.
func TestReaderCounts(t *testing.T) {
	c := newCounters()
	s := &sock{c: c, joinedCh: make(chan struct{}), window: make(chan struct{}, 4)}
	now := time.Now()
	sent := now.Add(-5 * time.Millisecond).UnixNano()
	msg := func(seq int64) []byte {
		f := chat.MessageFrame{Type: chat.TypeMessage, Room: "r", Seq: seq, ID: "x", From: "a", FromID: "b", Text: fmt.Sprintf("%d xxxx", sent), TS: "t"}
		b, _ := json.Marshal(f)
		return b
	}
	s.handle([]byte(`{"type":"joined","room":"r","last_seq":2,"replayed":0,"truncated":false,"members":["a"]}`), now)
	select {
	case <-s.joinedCh:
	default:
		t.Fatal("joined not noticed")
	}
	for _, seq := range []int64{2, 3, 4, 4, 7} { // 2 was before the join
		s.handle(msg(seq), now)
	}
	s.handle([]byte(fmt.Sprintf(`{"seq":8,"text":"%d y","type":"message","room":"r"}`, sent)), now)
	if d, dup, gaps := c.delivered.Load(), c.dups.Load(), c.gaps.Load(); d != 4 || dup != 2 || gaps != 2 {
		t.Errorf("delivered %d dups %d gaps %d, want 4, 2, 2", d, dup, gaps)
	}
	if n, p50 := c.lat.n.Load(), c.lat.quantile(0.5); n != 4 || p50 < 4900*time.Microsecond || p50 > 5100*time.Microsecond {
		t.Errorf("latency samples %d p50 %v, want 4 near 5ms", n, p50)
	}

	s.window <- struct{}{}
	s.window <- struct{}{}
	s.handle([]byte(fmt.Sprintf(`{"type":"ack","ref":"%d.1.2","room":"r","id":"x","seq":9,"ts":"t"}`, sent)), now)
	s.handle([]byte(`{"type":"error","code":"rate_limited","message":"slow down","ref":"1.2.3","room":"r"}`), now)
	if len(s.window) != 0 || c.acks.Load() != 1 || c.errs.Load() != 1 || c.errSummary() != "rate_limited:1" {
		t.Errorf("window %d acks %d errs %d (%s), want 0, 1, 1", len(s.window), c.acks.Load(), c.errs.Load(), c.errSummary())
	}
	if got := c.ackLat.quantile(1); got < 4900*time.Microsecond || got > 5100*time.Microsecond {
		t.Errorf("ack latency %v, want about 5ms", got)
	}
}

func TestSendFrameDecodes(t *testing.T) {
	now := time.Unix(1764000000, 123456789)
	for _, size := range []int{24, 64, 1000} {
		f, err := chat.DecodeFrame(sendFrame(nil, "fanout-ab12", 3, 17, now, size))
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if f.Type != chat.TypeSend || f.Room != "fanout-ab12" || f.Text == nil || len(*f.Text) != size {
			t.Fatalf("size %d: decoded %+v", size, f)
		}
		if err := chat.ValidateText(*f.Text, 4000); err != nil {
			t.Errorf("size %d: text refused: %v", size, err)
		}
		if want := fmt.Sprintf("%d.3.17", now.UnixNano()); f.Ref != want {
			t.Errorf("ref %q, want %q", f.Ref, want)
		}
		if got, _ := intAfter([]byte(`"text":"`+*f.Text), keyText); got != now.UnixNano() {
			t.Errorf("text time %d, want %d", got, now.UnixNano())
		}
	}
}

func TestHistQuantiles(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.quantile(tc.q)
		if diff := (got - tc.want).Abs(); diff > tc.want/50 {
			t.Errorf("q%v = %v, want %v within 2%%", tc.q, got, tc.want)
		}
	}
	var empty hist
	if empty.quantile(0.99) != 0 {
		t.Error("empty histogram has a quantile")
	}
}

// TestServerBinTwoNodes runs the fan-out over two nodes sharing PostgreSQL
// and Redis: members on both see every message once.
func TestServerBinTwoNodes(t *testing.T) {
	redisURL := os.Getenv("CHAT_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("CHAT_TEST_REDIS_URL not set: skipping the two-node benchmark")
	}
	dbURL := storetest.URL(t, store.DialectPostgres)
	bin := servertest.Binary(t)
	prefix := fmt.Sprintf("chatbench:%d:", time.Now().UnixNano())
	t.Cleanup(func() {
		opt, err := redis.ParseURL(redisURL)
		if err != nil {
			return
		}
		rdb := redis.NewClient(opt)
		defer rdb.Close()
		ctx := context.Background()
		for it := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator(); it.Next(ctx); {
			rdb.Del(ctx, it.Val())
		}
	})
	res, stderr := runBench(t, "-server-bin", bin, "-nodes", "2", "-scenario", "fanout", "-compress=false",
		"-server-env", "CHAT_DB_URL="+dbURL, "-server-env", "CHAT_REDIS_URL="+redisURL, "-server-env", "CHAT_REDIS_PREFIX="+prefix,
		"-users", "3", "-members", "30", "-senders", "4", "-rate", "20", "-duration", "1s")
	m := res["fanout"]
	if m == nil {
		t.Fatal("no fanout line")
	}
	if num(t, m, "nodes") != 2 {
		t.Errorf("nodes %v, want 2", m["nodes"])
	}
	if num(t, m, "lost") != 0 || num(t, m, "dup") != 0 || num(t, m, "delivered") != num(t, m, "acked")*30 {
		t.Errorf("lost %v dup %v delivered %v acked %v", m["lost"], m["dup"], m["delivered"], m["acked"])
	}
	if n := len(regexp.MustCompile(`server pid \d+ listening`).FindAllString(stderr, -1)); n != 2 {
		t.Errorf("%d servers started, want 2:\n%s", n, stderr)
	}
}
