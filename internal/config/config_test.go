package config

import (
	"bytes"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// envOf returns a getenv that reads the literal environment m.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// varErrors returns the VarErrors joined in err, in order.
func varErrors(tb testing.TB, err error) []*VarError {
	tb.Helper()
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		tb.Fatalf("error %v (%T) is not a joined error", err, err)
	}
	var out []*VarError
	for _, e := range joined.Unwrap() {
		var ve *VarError
		if !errors.As(e, &ve) {
			tb.Fatalf("joined error %v (%T) is not a *VarError", e, e)
		}
		out = append(out, ve)
	}
	return out
}

func varNames(errs []*VarError) []string {
	names := make([]string, len(errs))
	for i, e := range errs {
		names[i] = e.Var
	}
	return names
}

// loadNaming loads env and fails unless the errors of Load name the
// variables want, in order, or, with want nil, unless Load succeeds. It
// returns what Load returned.
func loadNaming(tb testing.TB, env map[string]string, want []string) (Config, error) {
	tb.Helper()
	c, err := Load(envOf(env))
	if want == nil {
		if err != nil {
			tb.Fatalf("Load: %v", err)
		}
		return c, nil
	}
	if err == nil {
		tb.Fatalf("Load = nil error, want errors for %v", want)
	}
	if got := varNames(varErrors(tb, err)); !slices.Equal(got, want) {
		tb.Fatalf("errors name %v, want %v: %v", got, want, err)
	}
	return c, err
}

const secret32 = "0123456789abcdef0123456789abcdef"

// contractVariables is every variable of the contract's Configuration table.
var contractVariables = []string{
	"CHAT_ADDR", "CHAT_METRICS_ADDR", "CHAT_DB_URL", "CHAT_REDIS_URL", "CHAT_REDIS_PREFIX",
	"CHAT_JWT_SECRET", "CHAT_JWT_PREVIOUS_SECRET", "CHAT_JWT_ISSUER", "CHAT_JWT_LEEWAY",
	"CHAT_ACCESS_TTL", "CHAT_REFRESH_TTL",
	"CHAT_OIDC_ISSUER", "CHAT_OIDC_AUDIENCE", "CHAT_OIDC_USERNAME_CLAIM",
	"CHAT_ALLOW_REGISTRATION",
	"CHAT_LOGIN_RATE", "CHAT_LOGIN_IP_RATE", "CHAT_REGISTER_RATE",
	"CHAT_TRUSTED_PROXIES", "CHAT_ALLOWED_ORIGINS", "CHAT_WS_COMPRESSION",
	"CHAT_WS_PING_INTERVAL", "CHAT_WS_PONG_TIMEOUT", "CHAT_WS_MAX_FRAME_BYTES",
	"CHAT_WS_SEND_QUEUE", "CHAT_WS_REPLAY_LIMIT", "CHAT_WS_MAX_CONNS_PER_USER",
	"CHAT_WS_MAX_ROOMS_PER_CONN", "CHAT_PRESENCE_MAX_MEMBERS", "CHAT_MAX_TEXT_CHARS",
	"CHAT_RATE_MSGS", "CHAT_RATE_BURST", "CHAT_ADMINS", "CHAT_ROOM_CREATE_RATE",
	"CHAT_RECEIPTS_MAX_MEMBERS", "CHAT_SHUTDOWN_DRAIN", "CHAT_SHUTDOWN_TIMEOUT",
	"CHAT_LOG_LEVEL", "CHAT_LOG_FORMAT",
}

// serviceVariables are the variables the service reads beyond the
// contract's table.
var serviceVariables = []string{
	"CHAT_BROKER_SECRET", "CHAT_JWT_PREVIOUS_SECRET_UNTIL", "CHAT_REFRESH_GRACE",
	"CHAT_LOGIN_USER_RATE", "CHAT_REFRESH_RATE", "CHAT_REFRESH_SESSION_RATE",
	"CHAT_WS_WRITE_DELAY",
	"CHAT_WS_READ_MODE",
}

func TestVariablesMatchContract(t *testing.T) {
	var got []string
	for _, v := range variables() {
		if !slices.Contains(serviceVariables, v.name) {
			got = append(got, v.name)
		}
		if v.accepts == "" {
			t.Errorf("%s has no accepts tag", v.name)
		}
	}
	if !slices.Equal(got, contractVariables) {
		t.Fatalf("variables = %v\nwant %v", got, contractVariables)
	}
}

func TestLoadDefaults(t *testing.T) {
	for name, getenv := range map[string]func(string) string{
		"empty map": envOf(map[string]string{}),
		"nil":       nil,
		// An empty value is the same as an unset one.
		"empty values": func(string) string { return "" },
	} {
		t.Run(name, func(t *testing.T) { checkDefaults(t, getenv) })
	}
}

// checkDefaults asserts that Load(getenv) gives the contract's defaults.
func checkDefaults(t *testing.T, getenv func(string) string) {
	t.Helper()
	c, err := Load(getenv)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"CHAT_ADDR", c.Addr, ":8080"},
		{"CHAT_METRICS_ADDR", c.MetricsAddr, ""},
		{"CHAT_DB_URL", c.DBURL, "sqlite:chat.db"},
		{"CHAT_REDIS_URL", c.RedisURL, ""},
		{"CHAT_REDIS_PREFIX", c.RedisPrefix, "chat:"},
		{"CHAT_JWT_SECRET", c.JWTSecret, ""},
		{"CHAT_JWT_PREVIOUS_SECRET", c.JWTPreviousSecret, ""},
		{"CHAT_JWT_ISSUER", c.JWTIssuer, "chat"},
		{"CHAT_JWT_LEEWAY", c.JWTLeeway, 5 * time.Second},
		{"CHAT_ACCESS_TTL", c.AccessTTL, 15 * time.Minute},
		{"CHAT_REFRESH_TTL", c.RefreshTTL, 720 * time.Hour},
		{"CHAT_OIDC_ISSUER", c.OIDCIssuer, ""},
		{"CHAT_OIDC_AUDIENCE", c.OIDCAudience, ""},
		{"CHAT_OIDC_USERNAME_CLAIM", c.OIDCUsernameClaim, "preferred_username"},
		{"CHAT_ALLOW_REGISTRATION", c.AllowRegistration, true},
		{"CHAT_LOGIN_RATE", c.LoginRate, chat.Rate{N: 5, Per: time.Minute}},
		{"CHAT_LOGIN_IP_RATE", c.LoginIPRate, chat.Rate{N: 60, Per: time.Minute}},
		{"CHAT_REGISTER_RATE", c.RegisterRate, chat.Rate{N: 20, Per: time.Minute}},
		{"CHAT_LOGIN_USER_RATE", c.LoginUserRate, chat.Rate{N: 10, Per: time.Minute}},
		{"CHAT_REFRESH_RATE", c.RefreshRate, chat.Rate{N: 60, Per: time.Minute}},
		{"CHAT_REFRESH_SESSION_RATE", c.RefreshSessRate, chat.Rate{N: 10, Per: time.Minute}},
		{"CHAT_REFRESH_GRACE", c.RefreshGrace, 10 * time.Second},
		{"CHAT_BROKER_SECRET", c.BrokerSecret, ""},
		{"CHAT_JWT_PREVIOUS_SECRET_UNTIL", c.JWTPreviousUntil, time.Time{}},
		{"CHAT_TRUSTED_PROXIES", len(c.TrustedProxies), 0},
		{"CHAT_ALLOWED_ORIGINS", len(c.AllowedOrigins), 0},
		{"CHAT_WS_COMPRESSION", c.WSCompression, true},
		{"CHAT_WS_READ_MODE", c.WSReadMode, "epoll"},
		{"CHAT_WS_PING_INTERVAL", c.WSPingInterval, 25 * time.Second},
		{"CHAT_WS_PONG_TIMEOUT", c.WSPongTimeout, 10 * time.Second},
		{"CHAT_WS_WRITE_DELAY", c.WSWriteDelay, time.Duration(0)},
		{"CHAT_WS_MAX_FRAME_BYTES", c.WSMaxFrameBytes, 65536},
		{"CHAT_WS_SEND_QUEUE", c.WSSendQueue, 256},
		{"CHAT_WS_REPLAY_LIMIT", c.WSReplayLimit, 500},
		{"CHAT_WS_MAX_CONNS_PER_USER", c.WSMaxConnsPerUser, 16},
		{"CHAT_WS_MAX_ROOMS_PER_CONN", c.WSMaxRoomsPerConn, 100},
		{"CHAT_PRESENCE_MAX_MEMBERS", c.PresenceMaxMembers, 500},
		{"CHAT_MAX_TEXT_CHARS", c.MaxTextChars, 4000},
		{"CHAT_RATE_MSGS", c.RateMsgs, 10.0},
		{"CHAT_RATE_BURST", c.RateBurst, 20},
		{"CHAT_ADMINS", len(c.Admins), 0},
		{"CHAT_ROOM_CREATE_RATE", c.RoomCreateRate, chat.Rate{N: 10, Per: time.Hour}},
		{"CHAT_RECEIPTS_MAX_MEMBERS", c.ReceiptsMaxMembers, 50},
		{"CHAT_SHUTDOWN_DRAIN", c.ShutdownDrain, time.Duration(0)},
		{"CHAT_SHUTDOWN_TIMEOUT", c.ShutdownTimeout, 15 * time.Second},
		{"CHAT_LOG_LEVEL", c.LogLevelName, "info"},
		{"CHAT_LOG_FORMAT", c.LogFormat, "json"},
	}
	if len(tests) != len(contractVariables)+len(serviceVariables) {
		t.Fatalf("%d defaults checked, %d variables", len(tests), len(contractVariables)+len(serviceVariables))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("%s = %v (%T), want %v (%T)", tt.name, tt.got, tt.got, tt.want, tt.want)
			}
		})
	}
	if !c.SQLite() || c.SQLitePath() != "chat.db" {
		t.Errorf("SQLite() = %v, SQLitePath() = %q, want true, chat.db", c.SQLite(), c.SQLitePath())
	}
	if c.LogLevel() != slog.LevelInfo {
		t.Errorf("LogLevel() = %v, want INFO", c.LogLevel())
	}
}

func TestLoadDoesNotReadProcessEnvironment(t *testing.T) {
	if os.Getenv("CHAT_ADDR") != "" {
		t.Skip("CHAT_ADDR is set in the process environment")
	}
	c, err := Load(envOf(map[string]string{"CHAT_ADDR": "127.0.0.1:9999"}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Addr != "127.0.0.1:9999" {
		t.Fatalf("Addr = %q, want the given 127.0.0.1:9999", c.Addr)
	}
}

func TestLoadValues(t *testing.T) {
	m := map[string]string{
		"CHAT_ADDR":                  "127.0.0.1:0",
		"CHAT_METRICS_ADDR":          "[::1]:9090",
		"CHAT_DB_URL":                "postgres://chat:pw@db.internal:5432/chat?sslmode=disable",
		"CHAT_REDIS_URL":             "rediss://:pw@redis.internal:6380/2",
		"CHAT_REDIS_PREFIX":          "prod:chat:",
		"CHAT_JWT_SECRET":            secret32,
		"CHAT_JWT_PREVIOUS_SECRET":   strings.Repeat("p", 40),
		"CHAT_JWT_ISSUER":            "https://chat.example.com",
		"CHAT_JWT_LEEWAY":            "0s",
		"CHAT_ACCESS_TTL":            "5m",
		"CHAT_REFRESH_TTL":           "24h",
		"CHAT_ALLOW_REGISTRATION":    "0",
		"CHAT_LOGIN_RATE":            "0",
		"CHAT_LOGIN_IP_RATE":         "100/1h",
		"CHAT_REGISTER_RATE":         "3/30s",
		"CHAT_TRUSTED_PROXIES":       "10.0.0.0/8, 192.0.2.7,2001:db8::/32,::1",
		"CHAT_ALLOWED_ORIGINS":       "https://Chat.Example.com, http://localhost:3000,https://a.example:443",
		"CHAT_OIDC_ISSUER":           "https://id.example.com/realms/chat",
		"CHAT_OIDC_AUDIENCE":         "chat-api",
		"CHAT_OIDC_USERNAME_CLAIM":   "nickname",
		"CHAT_WS_COMPRESSION":        "false",
		"CHAT_WS_READ_MODE":          "Goroutine",
		"CHAT_WS_PING_INTERVAL":      "1s",
		"CHAT_WS_PONG_TIMEOUT":       "500ms",
		"CHAT_WS_MAX_FRAME_BYTES":    "2224",
		"CHAT_WS_SEND_QUEUE":         "8",
		"CHAT_WS_REPLAY_LIMIT":       "1",
		"CHAT_WS_MAX_CONNS_PER_USER": "2",
		"CHAT_WS_MAX_ROOMS_PER_CONN": "3",
		"CHAT_PRESENCE_MAX_MEMBERS":  "4",
		"CHAT_MAX_TEXT_CHARS":        "100",
		"CHAT_RATE_MSGS":             "0.5",
		"CHAT_RATE_BURST":            "1",
		"CHAT_ADMINS":                "Root, ops.lead",
		"CHAT_ROOM_CREATE_RATE":      "2/1m",
		"CHAT_RECEIPTS_MAX_MEMBERS":  "7",
		"CHAT_SHUTDOWN_DRAIN":        "3s",
		"CHAT_SHUTDOWN_TIMEOUT":      "1m",
		"CHAT_LOG_LEVEL":             "DEBUG",
		"CHAT_LOG_FORMAT":            "text",
	}
	c, err := Load(envOf(m))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Config{
		Addr:               "127.0.0.1:0",
		MetricsAddr:        "[::1]:9090",
		DBURL:              m["CHAT_DB_URL"],
		RedisURL:           m["CHAT_REDIS_URL"],
		RedisPrefix:        "prod:chat:",
		JWTSecret:          secret32,
		JWTPreviousSecret:  strings.Repeat("p", 40),
		JWTIssuer:          "https://chat.example.com",
		JWTLeeway:          0,
		AccessTTL:          5 * time.Minute,
		RefreshTTL:         24 * time.Hour,
		RefreshGrace:       10 * time.Second,
		LoginUserRate:      chat.Rate{N: 10, Per: time.Minute},
		RefreshRate:        chat.Rate{N: 60, Per: time.Minute},
		RefreshSessRate:    chat.Rate{N: 10, Per: time.Minute},
		OIDCIssuer:         "https://id.example.com/realms/chat",
		OIDCAudience:       "chat-api",
		OIDCUsernameClaim:  "nickname",
		AllowRegistration:  false,
		LoginRate:          chat.Rate{},
		LoginIPRate:        chat.Rate{N: 100, Per: time.Hour},
		RegisterRate:       chat.Rate{N: 3, Per: 30 * time.Second},
		WSCompression:      false,
		WSReadMode:         "goroutine",
		WSPingInterval:     time.Second,
		WSPongTimeout:      500 * time.Millisecond,
		WSMaxFrameBytes:    2224,
		WSSendQueue:        8,
		WSReplayLimit:      1,
		WSMaxConnsPerUser:  2,
		WSMaxRoomsPerConn:  3,
		PresenceMaxMembers: 4,
		MaxTextChars:       100,
		RateMsgs:           0.5,
		RateBurst:          1,
		Admins:             []string{"root", "ops.lead"},
		RoomCreateRate:     chat.Rate{N: 2, Per: time.Minute},
		ReceiptsMaxMembers: 7,
		ShutdownDrain:      3 * time.Second,
		ShutdownTimeout:    time.Minute,
		LogLevelName:       "debug",
		LogFormat:          "text",
	}
	wantProxies := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("::1/128"),
	}
	wantOrigins := []string{"https://chat.example.com", "http://localhost:3000", "https://a.example"}
	if !slices.Equal(c.TrustedProxies, wantProxies) {
		t.Errorf("TrustedProxies = %v, want %v", c.TrustedProxies, wantProxies)
	}
	if !slices.Equal(c.AllowedOrigins, wantOrigins) {
		t.Errorf("AllowedOrigins = %q, want %q", c.AllowedOrigins, wantOrigins)
	}
	c.TrustedProxies, c.AllowedOrigins = nil, nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", c, want)
	}
	if c.SQLite() || c.SQLitePath() != "" {
		t.Errorf("SQLite() = %v, SQLitePath() = %q for a PostgreSQL URL", c.SQLite(), c.SQLitePath())
	}
	if c.LogLevel() != slog.LevelDebug {
		t.Errorf("LogLevel() = %v, want DEBUG", c.LogLevel())
	}
}

func TestLogValueRedacts(t *testing.T) {
	const pw = "hunter2-very-secret"
	c, err := Load(envOf(map[string]string{
		"CHAT_DB_URL":          "postgres://chat:" + pw + "@db/chat",
		"CHAT_REDIS_URL":       "redis://:" + pw + "@redis:6379/0",
		"CHAT_JWT_SECRET":      pw + pw,
		"CHAT_TRUSTED_PROXIES": "10.0.0.0/8",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", c)
	out := buf.String()
	if strings.Contains(out, pw) {
		t.Fatalf("log shows a secret: %s", out)
	}
	for _, want := range []string{
		"config.CHAT_JWT_SECRET=set", "config.CHAT_JWT_PREVIOUS_SECRET=unset",
		"config.CHAT_DB_URL=postgres://chat:xxxxx@db/chat", "config.CHAT_TRUSTED_PROXIES=10.0.0.0/8",
		"config.CHAT_LOGIN_RATE=5/1m0s", "config.CHAT_WS_PING_INTERVAL=25s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
}

// TestExampleFileListsEveryVariable keeps configs/chat.env.example in step
// with Config: every variable appears once as NAME=DEFAULT.
func TestExampleFileListsEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../../configs/chat.env.example")
	if err != nil {
		t.Fatalf("read example: %v", err)
	}
	assigned := map[string][]string{}
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#"))
		name, value, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(name, "CHAT_") || strings.ContainsAny(name, " \t") {
			continue
		}
		assigned[name] = append(assigned[name], value)
	}
	for _, v := range variables() {
		values := assigned[v.name]
		if len(values) != 1 {
			t.Errorf("%s is assigned %d times in the example, want once", v.name, len(values))
			continue
		}
		if values[0] != v.def {
			t.Errorf("%s=%q in the example, want the default %q", v.name, values[0], v.def)
		}
	}
	if len(assigned) != len(variables()) {
		t.Errorf("the example assigns %d variables, Config has %d", len(assigned), len(variables()))
	}
	// The example as written (comments stripped) loads.
	env := map[string]string{}
	for name, values := range assigned {
		env[name] = values[0]
	}
	if _, err := Load(envOf(env)); err != nil {
		t.Errorf("the example's values do not load: %v", err)
	}
}

func TestSecretIsVerbatim(t *testing.T) {
	const s = " ${HOME} $USER, \"quoted\" and trailing space "
	c, err := Load(envOf(map[string]string{"CHAT_JWT_SECRET": s}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.JWTSecret != s {
		t.Fatalf("JWTSecret = %q, want %q verbatim", c.JWTSecret, s)
	}
}
