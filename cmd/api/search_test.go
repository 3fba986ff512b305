package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/store/storetest"
)

// searchResults runs GET /api/v1/search?q=… as token and returns the texts
// found.
func searchResults(t *testing.T, s *service, token, q string) []string {
	t.Helper()
	code, body := s.call(t, http.MethodGet, "/api/v1/search?q="+url.QueryEscape(q), nil, token)
	if code != http.StatusOK {
		t.Fatalf("search %q: %d %s", q, code, body)
	}
	var out struct {
		Results []struct {
			Text string `json:"text"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	texts := []string{}
	for _, r := range out.Results {
		texts = append(texts, r.Text)
	}
	return texts
}

// TestRunSearch checks through the whole service, on each database, that
// a message is found as soon as its ack arrives, and that CHAT_ADMINS
// reaches the search.
func TestRunSearch(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			dbURL := storetest.URL(t, d)
			s := startRun(t, map[string]string{"CHAT_DB_URL": dbURL, "CHAT_ADMINS": "Root"})
			alice := signUp(t, s, "alice")
			bob := signUp(t, s, "bob")
			root := signUp(t, s, "root")
			p := connectPeer(t, s.url, alice)
			p.join("general", -1)
			for i := range 10 {
				text := "needle" + strconv.Itoa(i) + " in the haystack"
				p.mustSend(t, "general", "n"+strconv.Itoa(i), text, 10*time.Second)
				if got := searchResults(t, s, bob.access, "needle"+strconv.Itoa(i)); len(got) != 1 || got[0] != text {
					t.Fatalf("right after the ack, search finds %q, want %q", got, text)
				}
			}

			p.join("hq", -1)
			p.mustSend(t, "hq", "t", "treasure map", 10*time.Second)
			storetest.OpenRaw(t, d, dbURL).SetRoomKind("hq", "private")
			if got := searchResults(t, s, bob.access, "treasure"); len(got) != 0 {
				t.Errorf("bob finds %q in a private room", got)
			}
			if got := searchResults(t, s, root.access, "treasure"); len(got) != 1 {
				t.Errorf("the server admin finds %q, want the treasure map", got)
			}
		})
	}
}
