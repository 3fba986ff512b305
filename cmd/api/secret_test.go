package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// slowRequest bounds the requests of these tests: a registration hashes a
// password, which takes seconds with the race detector on a loaded machine.
const slowRequest = 60 * time.Second

// TestRunKeepsGeneratedSecret restarts run on one SQLite file without
// CHAT_JWT_SECRET: a token issued before the restart still works after it,
// the key file has mode 0600, and the log names the file but not the key.
func TestRunKeepsGeneratedSecret(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"CHAT_DB_URL":     "sqlite:" + filepath.Join(dir, "chat.db"),
		"CHAT_JWT_SECRET": "",
	}
	first := startRun(t, env)
	first.client.Timeout = slowRequest
	a := signUp(t, first, "keeper")
	if err := first.stop(t, stopTimeout); err != nil {
		t.Fatalf("first run: %v\n%s", err, first.stderr)
	}

	path := filepath.Join(dir, "chat.db.secret")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("key file: %v", err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", mode)
	}
	key, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key = bytes.TrimSpace(key)
	logs := first.stderr.String()
	if !strings.Contains(logs, path) || strings.Contains(logs, string(key)) {
		t.Fatalf("the log should name %s and never hold the key:\n%s", path, logs)
	}

	second := startRun(t, env)
	second.client.Timeout = slowRequest
	if code, body := second.call(t, http.MethodGet, "/api/v1/me", nil, a.access); code != http.StatusOK {
		t.Fatalf("me after the restart with the old token: %d %s", code, body)
	}
	after, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(bytes.TrimSpace(after), key) {
		t.Fatalf("the key changed across the restart (%v)", err)
	}
}

// TestRunExplicitSecretWritesNoFile checks that an explicit
// CHAT_JWT_SECRET leaves no key file beside the database.
func TestRunExplicitSecretWritesNoFile(t *testing.T) {
	dir := t.TempDir()
	s := startRun(t, map[string]string{"CHAT_DB_URL": "sqlite:" + filepath.Join(dir, "chat.db")})
	if err := s.stop(t, stopTimeout); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "chat.db.secret")); !os.IsNotExist(err) {
		t.Fatalf("key file with CHAT_JWT_SECRET set: %v", err)
	}
}

func TestLoadOrCreateSecret(t *testing.T) {
	tests := []struct {
		name    string
		content string // "" for no file
		mode    os.FileMode
		want    string // the key read, or "" for a new one
		wantErr string
	}{
		{name: "no file", want: ""},
		{name: "kept key", content: strings.Repeat("k", 40) + "\n", mode: 0o600, want: strings.Repeat("k", 40)},
		{name: "owner read only", content: strings.Repeat("k", 32), mode: 0o400, want: strings.Repeat("k", 32)},
		{name: "group readable", content: strings.Repeat("k", 40), mode: 0o640, wantErr: "must be 0600"},
		{name: "world readable", content: strings.Repeat("k", 40), mode: 0o644, wantErr: "must be 0600"},
		{name: "too short", content: "short\n", mode: 0o600, wantErr: "at least 32"},
		{name: "empty", content: "\n", mode: 0o600, wantErr: "at least 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "chat.db.secret")
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tt.mode); err != nil {
					t.Fatal(err)
				}
			}
			got, created, err := loadOrCreateSecret(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != "" {
				if created || string(got) != tt.want {
					t.Fatalf("got %q created=%v, want the kept %q", got, created, tt.want)
				}
				return
			}
			if !created || len(got) != 2*generatedSecretBytes {
				t.Fatalf("got %d bytes created=%v, want a new key of %d", len(got), created, 2*generatedSecretBytes)
			}
			again, created, err := loadOrCreateSecret(path)
			if err != nil || created || !bytes.Equal(again, got) {
				t.Fatalf("second call: %q created=%v err=%v, want the same key", again, created, err)
			}
		})
	}
}

func TestLoadOrCreateSecretDirectoryMissing(t *testing.T) {
	_, _, err := loadOrCreateSecret(filepath.Join(t.TempDir(), "absent", "chat.db.secret"))
	if err == nil {
		t.Fatal("no error for a key file in a missing directory")
	}
}

// TestRunProbe runs the -probe mode against a running service: 0 for a
// ready one, an error for a missing path and for a closed port.
func TestRunProbe(t *testing.T) {
	s := startRun(t, nil)
	s.client.Timeout = slowRequest
	s.waitHealthy(t)
	tests := []struct {
		name string
		url  string
		ok   bool
	}{
		{"ready", s.url + "/readyz", true},
		{"not found", s.url + "/nope", false},
		{"bad url", "://", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(t.Context(), []string{"api", "-probe", tt.url}, nil, &out, &bytes.Buffer{})
			if (err == nil) != tt.ok {
				t.Fatalf("probe %s: %v, want ok=%v", tt.url, err, tt.ok)
			}
		})
	}
	if err := s.stop(t, stopTimeout); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"api", "-probe", s.url + "/readyz"}, nil, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Fatal("probe of a stopped service succeeded")
	}
}
