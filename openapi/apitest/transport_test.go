package apitest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chatsvc/chat/openapi/apitest"
)

// recorder is a testing.TB that keeps what Errorf reports.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestTransport(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantBad bool
	}{
		{"as documented", `{"user":` + user + `}`, false},
		{"not as documented", `{"user":{}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			rec := &recorder{TB: t}
			client := &http.Client{Transport: apitest.Transport(rec, nil)}
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/me", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer x")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != tt.body {
				t.Fatalf("the caller read %q, want %q", b, tt.body)
			}
			if bad := len(rec.errors) > 0; bad != tt.wantBad {
				t.Fatalf("reported %q, want a report: %v", strings.Join(rec.errors, "; "), tt.wantBad)
			}
		})
	}
}
