package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/httpapi"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/chatsvc/chat/internal/servertest"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
	"github.com/chatsvc/chat/openapi/apitest"
)

// testSecret is the HS256 key of every env.
const testSecret = "httpapi-test-secret-httpapi-test-secret"

// testPassword is the password of the users the tests register.
const testPassword = "correct horse battery"

// timeRE is the contract's time layout 2006-01-02T15:04:05.000Z.
var timeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

// leakMarkers are fragments that must never appear in an error message: stack
// traces, SQL, driver names and source paths.
var leakMarkers = []string{
	"goroutine ", ".go:", "panic", "runtime/", "SELECT", "INSERT", "UPDATE ", "DELETE ", " FROM ",
	"sql", "SQL", "sqlite", "pgx", "postgres", "SQLSTATE", "/work/", "/home/", "/tmp/", "github.com/",
}

// envOptions varies the server an env builds; the zero value is the
// service's defaults with every throttle off.
type envOptions struct {
	registrationClosed bool
	loginRate          auth.Rate
	loginIPRate        auth.Rate
	registerRate       auth.Rate
	ready              func(ctx context.Context) []string
	ws                 http.Handler
	web                fs.FS
	admins             []string
	roomCreateRate     auth.Rate
	notifier           httpapi.Notifier
}

// env is the real Echo handler on a real store and a real auth.Service.
type env struct {
	t      testing.TB
	db     *store.DB
	url    string // the database's, for storetest.OpenRaw
	auth   *auth.Service
	tokens *auth.Tokens
	m      *metrics.Metrics
	h      http.Handler
	logs   *servertest.Buffer
}

// forDialects runs f on SQLite and, when CHAT_TEST_POSTGRES_URL is set, on
// PostgreSQL.
func forDialects(t *testing.T, f func(t *testing.T, dialect string)) {
	t.Helper()
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) { f(t, d) })
	}
}

func newEnv(t testing.TB, dialect string, o envOptions) *env {
	t.Helper()
	url := storetest.URL(t, dialect)
	db := storetest.OpenURL(t, dialect, url)
	tokens, err := auth.NewTokens(auth.TokenOptions{Secret: []byte(testSecret), Leeway: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	logs := &servertest.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := metrics.New()
	svc := auth.NewService(auth.ServiceOptions{
		Store:             db,
		Tokens:            tokens,
		Hasher:            auth.NewHasher(0),
		AllowRegistration: !o.registrationClosed,
		LoginThrottle:     auth.NewMemThrottle(o.loginRate, nil),
		LoginIPThrottle:   auth.NewMemThrottle(o.loginIPRate, nil),
		RegisterThrottle:  auth.NewMemThrottle(o.registerRate, nil),
		Metrics:           m,
		Logger:            log,
	})
	ready := o.ready
	if ready == nil {
		ready = func(ctx context.Context) []string {
			if err := db.Ping(ctx); err != nil {
				return []string{"database"}
			}
			return nil
		}
	}
	h := httpapi.New(httpapi.Options{
		Auth:         svc,
		Store:        db,
		Metrics:      m,
		Logger:       log,
		WS:           o.ws,
		Ready:        ready,
		ServeMetrics: true,
		Web:          o.web,
		Admins:       o.admins,
		RoomCreate:   auth.NewMemThrottle(o.roomCreateRate, nil),
		Notifier:     o.notifier,
	})
	return &env{t: t, db: db, url: url, auth: svc, tokens: tokens, m: m, h: h, logs: logs}
}

// request is one HTTP request to an env.
type request struct {
	method string
	path   string
	body   string
	// contentType defaults to application/json when body is set; "-" sends
	// none.
	contentType string
	token       string // Authorization: Bearer token
	header      http.Header
	remoteAddr  string
}

func (e *env) do(r request) *httptest.ResponseRecorder {
	e.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req := httptest.NewRequest(r.method, r.path, body)
	switch {
	case r.contentType == "-":
	case r.contentType != "":
		req.Header.Set("Content-Type", r.contentType)
	case r.body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, vs := range r.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.remoteAddr != "" {
		req.RemoteAddr = r.remoteAddr
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	apitest.CheckRecorded(e.t, req, []byte(r.body), rec.Code, rec.Header(), rec.Body.Bytes())
	if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
		e.t.Logf("%s %s: %d %s", r.method, r.path, rec.Code, rec.Body.String())
	}
	return rec
}

// post sends a JSON body.
func (e *env) post(path string, body any) *httptest.ResponseRecorder {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(request{method: http.MethodPost, path: path, body: string(b)})
}

func (e *env) get(path, token string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(request{method: http.MethodGet, path: path, token: token})
}

// register registers username with testPassword and fails the test unless
// it gets 201.
func (e *env) register(username string) chat.UserJSON {
	e.t.Helper()
	rec := e.post("/api/v1/auth/register", map[string]string{"username": username, "password": testPassword})
	if rec.Code != http.StatusCreated {
		e.t.Fatalf("register %s: %d %s", username, rec.Code, rec.Body)
	}
	var out struct{ User chat.UserJSON }
	decode(e.t, rec, &out)
	return out.User
}

// login logs username in with testPassword and fails the test unless it
// gets 200.
func (e *env) login(username string) chat.TokenPair {
	e.t.Helper()
	rec := e.post("/api/v1/auth/login", map[string]string{"username": username, "password": testPassword})
	if rec.Code != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", username, rec.Code, rec.Body)
	}
	var p chat.TokenPair
	decode(e.t, rec, &p)
	return p
}

// decode unmarshals a JSON response body strictly into v.
func decode(t testing.TB, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json (body %q)", ct, rec.Body)
	}
	d := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("decode %q: %v", rec.Body, err)
	}
}

// wantError checks that rec is an error response with the status and code,
// in the contract's shape and with nothing internal in it, and returns the
// message.
func wantError(t testing.TB, rec *httptest.ResponseRecorder, status int, code string) string {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d (body %q)", rec.Code, status, rec.Body)
	}
	var body struct {
		Error *struct {
			Code    *string `json:"code"`
			Message *string `json:"message"`
		} `json:"error"`
	}
	decode(t, rec, &body)
	if body.Error == nil || body.Error.Code == nil || body.Error.Message == nil {
		t.Fatalf("body %q is not {\"error\":{\"code\",\"message\"}}", rec.Body)
	}
	if *body.Error.Code != code {
		t.Fatalf("code %q, want %q (body %q)", *body.Error.Code, code, rec.Body)
	}
	if *body.Error.Message == "" {
		t.Fatalf("empty error message (body %q)", rec.Body)
	}
	noLeak(t, rec.Body.String())
	return *body.Error.Message
}

// noLeak fails when s holds a stack trace, SQL or an internal path.
func noLeak(t testing.TB, s string) {
	t.Helper()
	for _, m := range leakMarkers {
		if strings.Contains(s, m) {
			t.Fatalf("error body %q contains %q", s, m)
		}
	}
}

// wantTime checks that s is a timestamp in the contract's layout within a
// minute of now.
func wantTime(t testing.TB, what, s string) time.Time {
	t.Helper()
	if !timeRE.MatchString(s) {
		t.Fatalf("%s %q is not in layout 2006-01-02T15:04:05.000Z", what, s)
	}
	ts, err := time.Parse(chat.TimeLayout, s)
	if err != nil {
		t.Fatalf("%s %q: %v", what, s, err)
	}
	if d := time.Since(ts); d < -time.Minute || d > time.Minute {
		t.Fatalf("%s %s is %v away from now", what, s, d)
	}
	return ts
}

// aliceEnv returns a fresh env with alice registered, and her access token.
func aliceEnv(t testing.TB, dialect string) (*env, string) {
	t.Helper()
	e := newEnv(t, dialect, envOptions{})
	e.register("alice")
	return e, e.login("alice").AccessToken
}

// storeUser creates a user directly in the store, without password hashing.
func (e *env) storeUser(t testing.TB, name string) chat.User {
	t.Helper()
	u, err := e.db.CreateUser(context.Background(), name, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// appendN stores n messages from u in room (created if needed) and returns
// them in seq order.
func (e *env) appendN(t testing.TB, room string, u chat.User, n int) []chat.Message {
	t.Helper()
	ctx := context.Background()
	if _, err := e.db.EnsureRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	out := make([]chat.Message, n)
	parallel(t, n, func(i int) error {
		m, _, err := e.db.Append(ctx, chat.NewMessage{
			Room: room, UserID: u.ID, Username: u.Username,
			Text: fmt.Sprintf("message %d: «ünïcode» \t\"quoted\"\n", i), Ref: fmt.Sprintf("ref-%s-%d", room, i),
		})
		out[i] = m
		return err
	})
	slices.SortFunc(out, func(a, b chat.Message) int { return int(a.Seq - b.Seq) })
	return out
}

// parallel runs f(0) … f(n-1) on a few goroutines and fails on any error.
func parallel(t testing.TB, n int, f func(i int) error) {
	t.Helper()
	const workers = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d failed, first: %v", len(errs), n, errs[0])
	}
}

func first[T any](s []T) any {
	if len(s) == 0 {
		return nil
	}
	return s[0]
}

func last[T any](s []T) any {
	if len(s) == 0 {
		return nil
	}
	return s[len(s)-1]
}
