package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// config is what the flags ask for.
type config struct {
	url        string   // the first node: REST calls go there
	nodeURLs   []string // every node; sockets are spread over them
	nodes      int
	metricsURL string
	pid        int
	pids       []int // every node's process, with -server-bin
	pprofURL   string
	scenarios  []string

	sockets  int
	rooms    int
	members  int
	senders  int
	rate     float64
	duration time.Duration
	window   int
	size     int
	logins   int

	compress    bool
	users       int
	userPrefix  string
	password    string
	sources     int
	concurrency int
	settle      time.Duration
	drain       time.Duration
	timeout     time.Duration

	target    string // chat, gorilla or centrifugo
	secret    string // Centrifugo's HMAC token secret
	serverBin string
	serverEnv []string
	serverLog string
	cpuProf   string
}

// scenarioNames are the scenarios in the order -scenario all runs them.
var scenarioNames = []string{"login", "send", "idle", "fanout"}

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var scen string
	var env multiFlag
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "base URL of the server, or comma-separated URLs of several nodes to spread the sockets over (ignored with -server-bin)")
	fs.IntVar(&c.nodes, "nodes", 1, "with -server-bin: nodes to start; more than one needs CHAT_DB_URL (PostgreSQL) and CHAT_REDIS_URL in -server-env")
	fs.StringVar(&c.metricsURL, "metrics-url", "", "URL of /metrics (default: URL/metrics)")
	fs.StringVar(&c.pprofURL, "pprof-url", "", "base URL of the server's pprof listener, to force a GC before memory readings (set by -server-bin)")
	fs.IntVar(&c.pid, "pid", 0, "server process id, to read memory and CPU from /proc (set by -server-bin)")
	fs.StringVar(&scen, "scenario", "fanout", "comma-separated scenarios: idle, fanout, send, login, or all")
	fs.IntVar(&c.sockets, "sockets", 1000, "idle: sockets to open")
	fs.IntVar(&c.rooms, "rooms", 1, "idle: rooms the sockets are spread over")
	fs.IntVar(&c.members, "members", 1000, "fanout: sockets in the room (the senders among them)")
	fs.IntVar(&c.senders, "senders", 10, "fanout and send: sending sockets")
	fs.Float64Var(&c.rate, "rate", 100, "fanout: messages a second, all senders together")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "fanout, send and login: how long to send")
	fs.IntVar(&c.window, "window", 1, "send: unacknowledged sends each sender keeps in flight")
	fs.IntVar(&c.size, "size", 64, "fanout and send: message text length in bytes (at least 24)")
	fs.IntVar(&c.logins, "login-workers", 4, "login: concurrent logins")
	fs.BoolVar(&c.compress, "compress", true, "offer permessage-deflate (and turn it on in a -server-bin server)")
	fs.IntVar(&c.users, "users", 200, "users to register (or log in) and spread the sockets over")
	fs.StringVar(&c.userPrefix, "user-prefix", "bench", "username prefix; users are PREFIX00000, PREFIX00001, …")
	fs.StringVar(&c.password, "password", "bench-password-0123", "password of the benchmark users")
	fs.IntVar(&c.sources, "sources", 8, "127.0.0.x source addresses the sockets are spread over")
	fs.IntVar(&c.concurrency, "concurrency", 128, "connects (and registrations) in flight")
	fs.DurationVar(&c.settle, "settle", 30*time.Second, "idle: longest wait for the server's memory to settle before each reading")
	fs.DurationVar(&c.drain, "drain", 10*time.Second, "fanout and send: longest wait for outstanding acks and deliveries after sending stops; what has not arrived by then counts as lost")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "the whole run stops after this long")
	fs.StringVar(&c.target, "target", targetChat, "server to measure: chat (this service), gorilla (the gorilla/websocket chat example) or centrifugo; the peers take idle and fanout, built by scripts/peers/build.sh")
	fs.StringVar(&c.secret, "secret", "", "centrifugo: HMAC secret of a running server's connection tokens (set by -server-bin)")
	fs.StringVar(&c.serverBin, "server-bin", "", "start this binary (cmd/api on a fresh SQLite file, or the -target peer) instead of using -url")
	fs.Var(&env, "server-env", "extra KEY=VALUE for the -server-bin server (repeatable)")
	fs.StringVar(&c.serverLog, "server-log", "", "file for the -server-bin server's stderr (default: in its temp dir, removed)")
	fs.StringVar(&c.cpuProf, "cpuprofile", "", "write the load generator's own CPU profile to this file")
	if err := fs.Parse(args[1:]); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	c.serverEnv = env
	if scen == "all" {
		c.scenarios = scenarioNames
	} else {
		for s := range strings.SplitSeq(scen, ",") {
			switch s = strings.TrimSpace(s); s {
			case "idle", "fanout", "send", "login":
				c.scenarios = append(c.scenarios, s)
			default:
				return c, fmt.Errorf("unknown scenario %q (want idle, fanout, send, login or all)", s)
			}
		}
	}
	var errs []error
	check := func(ok bool, msg string) {
		if !ok {
			errs = append(errs, errors.New(msg))
		}
	}
	check(c.sockets >= 1, "-sockets must be at least 1")
	check(c.rooms >= 1, "-rooms must be at least 1")
	check(c.members >= 1, "-members must be at least 1")
	check(c.senders >= 1, "-senders must be at least 1")
	check(c.senders <= c.members || !c.has("fanout"), "-senders must not exceed -members")
	check(c.rate > 0, "-rate must be positive")
	check(c.duration > 0, "-duration must be positive")
	check(c.window >= 1, "-window must be at least 1")
	check(c.size >= 24 && c.size <= 4000, "-size must be 24 to 4000")
	check(c.logins >= 1, "-login-workers must be at least 1")
	check(c.users >= 1 && c.users <= 99999, "-users must be 1 to 99999")
	check(c.sources >= 1 && c.sources <= 254, "-sources must be 1 to 254")
	check(c.concurrency >= 1, "-concurrency must be at least 1")
	check(c.timeout > 0, "-timeout must be positive")
	for _, kv := range c.serverEnv {
		check(strings.Contains(kv, "="), "-server-env wants KEY=VALUE")
	}
	check(c.nodes >= 1 && c.nodes <= 8, "-nodes must be 1 to 8")
	if c.target != targetChat {
		check(c.target == targetGorilla || c.target == targetCentrifugo, "-target must be chat, gorilla or centrifugo")
		check(!c.has("send") && !c.has("login"), "-target "+c.target+" takes the idle and fanout scenarios only")
		check(c.nodes == 1 && !strings.Contains(c.url, ","), "-target "+c.target+" runs one node")
		check(c.target != targetCentrifugo || c.serverBin != "" || c.secret != "", "-target centrifugo needs -server-bin or -secret")
	}
	if c.nodes > 1 {
		check(c.serverBin != "", "-nodes needs -server-bin (or give several -url)")
		check(c.envHas("CHAT_DB_URL=postgres"), "-nodes > 1 needs -server-env CHAT_DB_URL=postgres://… shared by the nodes")
		check(c.envHas("CHAT_REDIS_URL="), "-nodes > 1 needs -server-env CHAT_REDIS_URL=redis://…")
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	c.nodeURLs = nil
	for u := range strings.SplitSeq(c.url, ",") {
		c.nodeURLs = append(c.nodeURLs, strings.TrimRight(strings.TrimSpace(u), "/"))
	}
	c.url = c.nodeURLs[0]
	c.pprofURL = strings.TrimRight(c.pprofURL, "/")
	return c, nil
}

// envHas reports whether a -server-env entry starts with prefix.
func (c config) envHas(prefix string) bool {
	for _, kv := range c.serverEnv {
		if strings.HasPrefix(kv, prefix) {
			return true
		}
	}
	return false
}

// has reports whether scenario s is requested.
func (c config) has(s string) bool {
	for _, x := range c.scenarios {
		if x == s {
			return true
		}
	}
	return false
}

// maxSockets is the most sockets any requested scenario opens at once.
func (c config) maxSockets() int {
	n := 0
	if c.has("idle") {
		n = max(n, c.sockets)
	}
	if c.has("fanout") {
		n = max(n, c.members)
	}
	if c.has("send") {
		n = max(n, c.senders)
	}
	return n
}
