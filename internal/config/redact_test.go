package config

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestBoolForms checks that boolean settings read every form of Go's
// strconv.ParseBool.
func TestBoolForms(t *testing.T) {
	for in, want := range map[string]bool{
		"true": true, "TRUE": true, "True": true, "t": true, "T": true, "1": true,
		"false": false, "FALSE": false, "False": false, "f": false, "F": false, "0": false,
	} {
		t.Run(in, func(t *testing.T) {
			c, err := Load(envOf(map[string]string{"CHAT_ALLOW_REGISTRATION": in, "CHAT_WS_COMPRESSION": in}))
			if err != nil {
				t.Fatal(err)
			}
			if c.AllowRegistration != want || c.WSCompression != want {
				t.Fatalf("got %v and %v, want %v", c.AllowRegistration, c.WSCompression, want)
			}
		})
	}
}

// TestSecretsRedacted checks that neither an error nor the logged
// configuration repeats a password in any of the forms a URL carries it.
func TestSecretsRedacted(t *testing.T) {
	const pw = "hunter2-Secret"
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"userinfo password, bad scheme", map[string]string{"CHAT_DB_URL": "mysql://chat:" + pw + "@db/chat"}},
		{"query password, bad scheme", map[string]string{"CHAT_DB_URL": "mysql://db/chat?user=chat&password=" + pw}},
		{"query password, upper case", map[string]string{"CHAT_DB_URL": "mysql://db/chat?PassWord=" + pw}},
		{"sslpassword", map[string]string{"CHAT_DB_URL": "mysql://db/chat?sslpassword=" + pw}},
		{"unparsable with password", map[string]string{"CHAT_DB_URL": "postgres://chat:" + pw + "@db:port/chat"}},
		{"unparsable with query password", map[string]string{"CHAT_DB_URL": "postgres://db:port/chat?password=" + pw}},
		{"redis password", map[string]string{"CHAT_REDIS_URL": "memcache://:" + pw + "@cache:6379/0"}},
		{"redis user only", map[string]string{"CHAT_REDIS_URL": "memcache://" + pw + "@cache:6379/0"}},
		{"redis bad db", map[string]string{"CHAT_REDIS_URL": "redis://user:" + pw + "@cache:6379/x", "CHAT_DB_URL": "postgres://db/chat"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(envOf(tt.env))
			if err == nil {
				t.Fatal("Load accepted the value")
			}
			if strings.Contains(err.Error(), pw) {
				t.Fatalf("error repeats the password: %v", err)
			}
		})
	}

	t.Run("logged configuration", func(t *testing.T) {
		c, err := Load(envOf(map[string]string{
			"CHAT_DB_URL":     "postgres://chat@db/chat?sslmode=require&password=" + pw,
			"CHAT_REDIS_URL":  "redis://" + pw + "@cache:6379/0",
			"CHAT_JWT_SECRET": strings.Repeat("s", 32),
		}))
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		slog.New(slog.NewTextHandler(&b, nil)).Info("config", "config", c)
		if strings.Contains(b.String(), pw) {
			t.Fatalf("logged configuration repeats the password: %s", b.String())
		}
		if !strings.Contains(b.String(), "sslmode=require") {
			t.Fatalf("redaction removed more than the secret: %s", b.String())
		}
	})
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://chat:pw@db/chat", "postgres://chat:xxxxx@db/chat"},
		{"postgres://chat@db/chat", "postgres://chat@db/chat"},
		{"postgres://db/chat?password=pw&sslmode=require", "postgres://db/chat?password=xxxxx&sslmode=require"},
		{"redis://:pw@cache:6379/0", "redis://xxxxx@cache:6379/0"},
		{"redis://pw@cache:6379/0", "redis://xxxxx@cache:6379/0"},
		{"rediss://user:pw@cache:6379/0", "rediss://xxxxx@cache:6379/0"},
		{"postgres://u:pw@db:port/x?password=pw", "postgres://xxxxx@db:port/x?password=xxxxx"},
		{"sqlite:chat.db", "sqlite:chat.db"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnknownVars(t *testing.T) {
	environ := []string{
		"PATH=/bin", "CHAT_ADDR=:8080", "CHAT_JWT_SECRT=x", "CHAT_LOGIN_RATE=5/1m", "CHAT_PPROF_ADDR=127.0.0.1:6060",
		"CHAT_TEST_REDIS_URL=redis://", "CHAT_WEB_URL=http://", "CHAT_URL=http://", "CHAT_NONSENSE_FLAG=1",
		"CHAT_JWT_SECRT=y", "chat_addr=:1",
	}
	got := UnknownVars(environ)
	want := []Unknown{{Name: "CHAT_JWT_SECRT", Suggest: "CHAT_JWT_SECRET"}, {Name: "CHAT_NONSENSE_FLAG"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("UnknownVars = %v, want %v", got, want)
	}
}

func TestPreviousSecretUntil(t *testing.T) {
	base := map[string]string{"CHAT_JWT_SECRET": secret32, "CHAT_JWT_PREVIOUS_SECRET": secret32 + "x"}
	with := func(v string) map[string]string {
		m := map[string]string{"CHAT_JWT_PREVIOUS_SECRET_UNTIL": v}
		for k, x := range base {
			m[k] = x
		}
		return m
	}
	c, err := Load(envOf(with("2026-12-01T12:00:00Z")))
	if err != nil {
		t.Fatal(err)
	}
	if want := "2026-12-01 12:00:00 +0000 UTC"; c.JWTPreviousUntil.String() != want {
		t.Fatalf("JWTPreviousUntil = %v, want %s", c.JWTPreviousUntil, want)
	}
	for _, bad := range []string{"tomorrow", "2026-12-01"} {
		if _, err := Load(envOf(with(bad))); err == nil || !strings.Contains(err.Error(), "CHAT_JWT_PREVIOUS_SECRET_UNTIL") {
			t.Fatalf("Load with %q: %v, want an error naming the variable", bad, err)
		}
	}
	if _, err := Load(envOf(map[string]string{"CHAT_JWT_SECRET": secret32, "CHAT_JWT_PREVIOUS_SECRET_UNTIL": "2026-12-01T12:00:00Z"})); err == nil {
		t.Fatal("an end without a previous key was accepted")
	}
}
