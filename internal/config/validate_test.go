package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  string // a part of the message besides the variable's name
	}{
		{"CHAT_ADDR", "8080", `got "8080"`},
		{"CHAT_ADDR", "localhost:", "host:port"},
		{"CHAT_ADDR", ":http", "host:port"},
		{"CHAT_ADDR", ":70000", "host:port"},
		{"CHAT_METRICS_ADDR", "metrics", "host:port"},
		{"CHAT_METRICS_ADDR", ":8080", "the same address as CHAT_ADDR"},
		{"CHAT_DB_URL", "mysql://db/chat", `unknown scheme "mysql"`},
		{"CHAT_DB_URL", "sqlite:", "path is empty"},
		{"CHAT_DB_URL", "chat.db", "sqlite:PATH"},
		{"CHAT_DB_URL", "postgres://a b:%zz@db/x", "postgres://"},
		{"CHAT_REDIS_URL", "http://redis:6379", `unknown scheme "http"`},
		{"CHAT_REDIS_URL", "127.0.0.1:6379", "redis://"},
		{"CHAT_REDIS_URL", "redis://127.0.0.1:6379/abc", "redis://"},
		{"CHAT_JWT_SECRET", "short", "at least 32 bytes, got a value of 5 bytes"},
		{"CHAT_JWT_PREVIOUS_SECRET", "short", "at least 32 bytes"},
		{"CHAT_JWT_LEEWAY", "31s", "from 0s to 30s"},
		{"CHAT_JWT_LEEWAY", "-1s", "from 0s to 30s"},
		{"CHAT_JWT_LEEWAY", "5", "from 0s to 30s"},
		{"CHAT_ACCESS_TTL", "0s", "positive duration"},
		{"CHAT_ACCESS_TTL", "15 minutes", "positive duration"},
		{"CHAT_REFRESH_TTL", "-1h", "positive duration"},
		{"CHAT_ALLOW_REGISTRATION", "yes", "true, false, 1 or 0"},
		{"CHAT_ALLOW_REGISTRATION", "on", "true, false, 1 or 0"},
		{"CHAT_ALLOW_REGISTRATION", "2", "true, false, 1 or 0"},
		{"CHAT_LOGIN_RATE", "5", "N/DURATION"},
		{"CHAT_ADMINS", "alice,b", `"b" is not a username`},
		{"CHAT_ADMINS", "alice bob", "comma-separated list of usernames"},
		{"CHAT_ROOM_CREATE_RATE", "10", "N/DURATION"},
		{"CHAT_RECEIPTS_MAX_MEMBERS", "0", "positive number"},
		{"CHAT_LOGIN_IP_RATE", "5/minute", "N/DURATION"},
		{"CHAT_REGISTER_RATE", "off", "N/DURATION"},
		{"CHAT_TRUSTED_PROXIES", "10.0.0.0/33", `entry "10.0.0.0/33" is not a CIDR`},
		{"CHAT_TRUSTED_PROXIES", "10.0.0.1,proxy.local", `entry "proxy.local"`},
		{"CHAT_TRUSTED_PROXIES", "10.0.0.1,", "empty entry"},
		{"CHAT_TRUSTED_PROXIES", "fe80::1%eth0", "fe80::1%eth0"},
		{"CHAT_ALLOWED_ORIGINS", "chat.example.com", "scheme http or https"},
		{"CHAT_ALLOWED_ORIGINS", "ftp://chat.example.com", "scheme http or https"},
		{"CHAT_ALLOWED_ORIGINS", "https://chat.example.com/", "path"},
		{"CHAT_ALLOWED_ORIGINS", "https://chat.example.com/app", "path"},
		{"CHAT_ALLOWED_ORIGINS", "https://chat.example.com?x=1", "path, query"},
		{"CHAT_ALLOWED_ORIGINS", "https://", "has no host"},
		{"CHAT_ALLOWED_ORIGINS", "https://:8443", "has no host"},
		{"CHAT_ALLOWED_ORIGINS", "https://u:p@chat.example.com", "user information"},
		{"CHAT_ALLOWED_ORIGINS", "https://chat.example.com:0", "port"},
		{"CHAT_ALLOWED_ORIGINS", "https://chat.example.com:", "empty port"},
		{"CHAT_ALLOWED_ORIGINS", "https://a.example,,https://b.example", "empty entry"},
		{"CHAT_ALLOWED_ORIGINS", "null", "scheme"},
		{"CHAT_WS_COMPRESSION", "on", "true, false, 1 or 0"},
		{"CHAT_WS_READ_MODE", "poll", "epoll or goroutine"},
		{"CHAT_WS_PING_INTERVAL", "abc", `must be a positive duration such as 25s, got "abc"`},
		{"CHAT_WS_PING_INTERVAL", "0s", "positive duration"},
		{"CHAT_WS_PONG_TIMEOUT", "-5s", "positive duration"},
		{"CHAT_WS_WRITE_DELAY", "150ms", "0s to 100ms"},
		{"CHAT_WS_MAX_FRAME_BYTES", "49023", "needs at least 49024"},
		{"CHAT_WS_MAX_FRAME_BYTES", "64k", "at least 12 × CHAT_MAX_TEXT_CHARS + 1024"},
		{"CHAT_WS_SEND_QUEUE", "0", "positive"},
		{"CHAT_WS_REPLAY_LIMIT", "-1", "positive"},
		{"CHAT_WS_MAX_CONNS_PER_USER", "0", "positive"},
		{"CHAT_WS_MAX_ROOMS_PER_CONN", "many", "positive"},
		{"CHAT_PRESENCE_MAX_MEMBERS", "0", "positive"},
		{"CHAT_MAX_TEXT_CHARS", "0", "positive"},
		{"CHAT_MAX_TEXT_CHARS", "1.5", "positive"},
		{"CHAT_RATE_MSGS", "0", "positive number"},
		{"CHAT_RATE_MSGS", "-1", "positive number"},
		{"CHAT_RATE_MSGS", "NaN", "positive number"},
		{"CHAT_RATE_MSGS", "+Inf", "positive number"},
		{"CHAT_RATE_MSGS", "ten", "positive number"},
		{"CHAT_RATE_BURST", "0", "at least 1"},
		{"CHAT_RATE_BURST", "2.5", "at least 1"},
		{"CHAT_SHUTDOWN_DRAIN", "-1s", "0s or more"},
		{"CHAT_SHUTDOWN_TIMEOUT", "0s", "positive duration"},
		{"CHAT_LOG_LEVEL", "verbose", "debug, info, warn or error"},
		{"CHAT_LOG_LEVEL", "warning", "debug, info, warn or error"},
		{"CHAT_LOG_FORMAT", "logfmt", "json or text"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			c, err := Load(envOf(map[string]string{tt.name: tt.value}))
			if err == nil {
				t.Fatalf("Load(%s=%q) = nil error, want one", tt.name, tt.value)
			}
			errs := varErrors(t, err)
			if got := varNames(errs); !slices.Equal(got, []string{tt.name}) {
				t.Fatalf("errors name %v, want only %s: %v", got, tt.name, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.name+": ") {
				t.Errorf("message %q does not start with %s", msg, tt.name)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("message %q does not contain %q", msg, tt.want)
			}
			if !reflect.ValueOf(c).IsZero() {
				t.Errorf("Load returned a non-zero Config with an error: %+v", c)
			}
		})
	}
}

func TestLoadReportsEveryBadVariable(t *testing.T) {
	m := map[string]string{
		"CHAT_LOG_FORMAT":       "xml",
		"CHAT_ADDR":             "nope",
		"CHAT_WS_PING_INTERVAL": "abc",
		"CHAT_LOGIN_RATE":       "5",
		"CHAT_JWT_SECRET":       "short",
	}
	// Every bad variable is named, in the order of Config's fields.
	want := []string{"CHAT_ADDR", "CHAT_JWT_SECRET", "CHAT_LOGIN_RATE", "CHAT_WS_PING_INTERVAL", "CHAT_LOG_FORMAT"}
	_, err := loadNaming(t, m, want)
	if lines := strings.Count(err.Error(), "\n") + 1; lines != len(want) {
		t.Errorf("message has %d lines, want %d:\n%s", lines, len(want), err)
	}
}

func TestLoadFrameBytesFollowsTextChars(t *testing.T) {
	tests := []struct {
		env     map[string]string
		wantErr []string
	}{
		{map[string]string{"CHAT_MAX_TEXT_CHARS": "10000"}, []string{"CHAT_WS_MAX_FRAME_BYTES"}},
		{map[string]string{"CHAT_MAX_TEXT_CHARS": "10000", "CHAT_WS_MAX_FRAME_BYTES": "121024"}, nil},
		{map[string]string{"CHAT_MAX_TEXT_CHARS": "10000", "CHAT_WS_MAX_FRAME_BYTES": "121023"}, []string{"CHAT_WS_MAX_FRAME_BYTES"}},
		{map[string]string{"CHAT_WS_MAX_FRAME_BYTES": "49024"}, nil},
		// A bad CHAT_MAX_TEXT_CHARS is reported alone, not as a frame size error too.
		{map[string]string{"CHAT_MAX_TEXT_CHARS": "x", "CHAT_WS_MAX_FRAME_BYTES": "2000"}, []string{"CHAT_MAX_TEXT_CHARS"}},
	}
	for _, tt := range tests {
		t.Run(envName(tt.env), func(t *testing.T) {
			loadNaming(t, tt.env, tt.wantErr)
		})
	}
}

// envName names a test case by its environment.
func envName(m map[string]string) string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func TestLoadSeveralNodes(t *testing.T) {
	const pg = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	const rd = "redis://127.0.0.1:6379/0"
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string // variables named, in order
		wantMsg []string
	}{
		{"one node on SQLite", map[string]string{}, nil, nil},
		{"one node on PostgreSQL without a secret", map[string]string{"CHAT_DB_URL": pg}, nil, nil},
		{"several nodes", map[string]string{"CHAT_DB_URL": pg, "CHAT_REDIS_URL": rd, "CHAT_JWT_SECRET": secret32}, nil, nil},
		{"several nodes over TLS", map[string]string{"CHAT_DB_URL": "postgresql://db/chat", "CHAT_REDIS_URL": "rediss://redis:6380", "CHAT_JWT_SECRET": secret32}, nil, nil},
		{
			"redis with sqlite", map[string]string{"CHAT_REDIS_URL": rd, "CHAT_JWT_SECRET": secret32},
			[]string{"CHAT_REDIS_URL"}, []string{"SQLite", "CHAT_DB_URL", "several nodes"},
		},
		{
			"redis without a secret", map[string]string{"CHAT_DB_URL": pg, "CHAT_REDIS_URL": rd},
			[]string{"CHAT_REDIS_URL"}, []string{"CHAT_JWT_SECRET", "several nodes"},
		},
		{
			"redis with sqlite and without a secret", map[string]string{"CHAT_REDIS_URL": rd},
			[]string{"CHAT_REDIS_URL", "CHAT_REDIS_URL"}, []string{"SQLite", "CHAT_JWT_SECRET"},
		},
		{
			// The short secret is reported once, not again as missing.
			"redis with a short secret", map[string]string{"CHAT_DB_URL": pg, "CHAT_REDIS_URL": rd, "CHAT_JWT_SECRET": "short"},
			[]string{"CHAT_JWT_SECRET"}, nil,
		},
		{
			"previous secret without a current one", map[string]string{"CHAT_JWT_PREVIOUS_SECRET": secret32},
			[]string{"CHAT_JWT_PREVIOUS_SECRET"}, []string{"CHAT_JWT_SECRET is empty"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadNaming(t, tt.env, tt.wantErr)
			if tt.wantErr == nil {
				return
			}
			for _, w := range tt.wantMsg {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestSecretsStayOutOfMessages(t *testing.T) {
	const pw = "hunter2-very-secret"
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"short secret", map[string]string{"CHAT_JWT_SECRET": pw}},
		{"short previous secret", map[string]string{"CHAT_JWT_SECRET": secret32, "CHAT_JWT_PREVIOUS_SECRET": pw}},
		{"db url", map[string]string{"CHAT_DB_URL": "mysql://u:" + pw + "@db/chat"}},
		{"unparsable db url", map[string]string{"CHAT_DB_URL": "postgres://u:" + pw + "@db:port/chat"}},
		{"redis url", map[string]string{"CHAT_REDIS_URL": "redis://:" + pw + "@redis:6379/abc"}},
		{"redis url with sqlite", map[string]string{"CHAT_REDIS_URL": "redis://:" + pw + "@redis:6379/0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(envOf(tt.env))
			if err == nil {
				t.Fatal("Load = nil error, want one")
			}
			if strings.Contains(err.Error(), pw) {
				t.Fatalf("message shows the secret: %v", err)
			}
		})
	}
}
