package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatsvc/chat/client"
)

// Timings and sizes of the client.
const (
	// requestTimeout bounds one REST request.
	requestTimeout = 30 * time.Second
	// setupWorkers is how many registrations and logins run at once while
	// the users are prepared; each costs the server one password hash.
	setupWorkers = 8
)

// bench holds what every scenario shares: the configuration, the HTTP
// client, the users' access tokens and the dialers.
type bench struct {
	cfg        config
	proto      protocol
	log        io.Writer
	http       *http.Client
	api        *client.Client // the service's REST API
	metricsURL string         // the first node's
	metricsAll []string       // every node's
	wsURLs     []string
	runID      string
	tokens     []string
	dialers    []*dialer
	nextSource atomic.Uint32
}

func newBench(cfg config, log io.Writer) (*bench, error) {
	id := make([]byte, 4)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	proto, err := newProtocol(cfg.target)
	if err != nil {
		return nil, err
	}
	b := &bench{cfg: cfg, proto: proto, log: log, runID: hex.EncodeToString(id), metricsURL: cfg.metricsURL}
	if b.metricsURL == "" {
		b.metricsURL = cfg.url + "/metrics"
	}
	if len(cfg.nodeURLs) == 0 {
		cfg.nodeURLs = []string{cfg.url}
	}
	for _, u := range cfg.nodeURLs {
		switch {
		case strings.HasPrefix(u, "http://"):
			b.wsURLs = append(b.wsURLs, "ws://"+strings.TrimPrefix(u, "http://")+proto.wsPath())
		case strings.HasPrefix(u, "https://"):
			b.wsURLs = append(b.wsURLs, "wss://"+strings.TrimPrefix(u, "https://")+proto.wsPath())
		default:
			return nil, fmt.Errorf("server url %q: want http:// or https://", u)
		}
		b.metricsAll = append(b.metricsAll, u+"/metrics")
	}
	if cfg.metricsURL != "" {
		b.metricsAll = []string{cfg.metricsURL}
	}
	if !proto.metrics() {
		b.metricsAll = nil
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return b.netDialer(int(b.nextSource.Add(1))).DialContext(ctx, network, addr)
		},
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     30 * time.Second,
	}
	b.http = &http.Client{Transport: tr, Timeout: requestTimeout}
	if b.api, err = client.New(cfg.url, client.Options{HTTPClient: b.http}); err != nil {
		return nil, err
	}
	for i := range cfg.sources {
		b.dialers = append(b.dialers, newDialer(b.netDialer(i), cfg.compress))
	}
	return b, nil
}

// netDialer returns the dialer for source address 127.0.0.(1 + i%sources),
// so the sockets spread over several source addresses and many thousands
// fit past the ephemeral-port limit. A server that is not on loopback is
// dialed from the default address.
func (b *bench) netDialer(i int) *net.Dialer {
	d := &net.Dialer{Timeout: requestTimeout}
	if b.loopback() {
		d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%b.cfg.sources))}
	}
	return d
}

// loopback reports whether the server is on 127.0.0.0/8.
func (b *bench) loopback() bool {
	u := strings.TrimPrefix(strings.TrimPrefix(b.cfg.url, "http://"), "https://")
	host, _, err := net.SplitHostPort(strings.SplitN(u, "/", 2)[0])
	if err != nil {
		host = strings.SplitN(u, "/", 2)[0]
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback() && ip.To4() != nil
}

func (b *bench) closeIdle() { b.http.CloseIdleConnections() }

// username returns the name of benchmark user i.
func (b *bench) username(i int) string { return fmt.Sprintf("%s%05d", b.cfg.userPrefix, i) }

// prepareUsers registers the users (a taken name is fine: it logs in
// instead) and logs each in once for the access token its sockets share.
// Centrifugo's users get a connection token signed with its secret; the
// gorilla example has no users.
func (b *bench) prepareUsers(ctx context.Context) error {
	start := time.Now()
	b.tokens = make([]string, b.cfg.users)
	switch b.cfg.target {
	case targetGorilla:
		return nil
	case targetCentrifugo:
		for i := range b.tokens {
			tok, err := centrifugoToken(b.cfg.secret, b.username(i))
			if err != nil {
				return err
			}
			b.tokens[i] = tok
		}
		return nil
	}
	err := parallel(ctx, b.cfg.users, setupWorkers, func(ctx context.Context, i int) error {
		name := b.username(i)
		err := b.register(ctx, name)
		if err != nil && !errors.Is(err, client.CodeUsernameTaken) {
			return fmt.Errorf("register %s: %w", name, err)
		}
		tp, err := b.loginUser(ctx, name)
		if err != nil {
			return fmt.Errorf("login %s: %w", name, err)
		}
		b.tokens[i] = tp.AccessToken
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(b.log, "%d users ready in %s\n", b.cfg.users, time.Since(start).Round(time.Millisecond))
	return nil
}

// register creates user name through the client package.
func (b *bench) register(ctx context.Context, name string) error {
	_, err := b.api.Register(ctx, name, b.cfg.password)
	return err
}

// loginUser logs user name in through the client package.
func (b *bench) loginUser(ctx context.Context, name string) (client.TokenPair, error) {
	tp, err := b.api.Login(ctx, name, b.cfg.password)
	if err == nil && tp.AccessToken == "" {
		err = errors.New("login answered without an access token")
	}
	return tp, err
}

// parallel runs f(0) … f(n-1) with at most workers at once and returns the
// first error, after which no new calls start.
func parallel(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next    atomic.Int64
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					errOnce.Do(func() { first = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
