package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
)

// messagesPage is the body of GET /api/v1/rooms/{room}/messages.
type messagesPage struct {
	Messages []chat.MessageJSON `json:"messages"`
	HasMore  bool               `json:"has_more"`
}

func TestMessages(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e, tok := aliceEnv(t, dialect)
		ctx := context.Background()
		bob := e.storeUser(t, "bob")
		if _, err := e.db.EnsureRoom(ctx, "empty"); err != nil {
			t.Fatal(err)
		}
		stored := e.appendN(t, "general", bob, 5)

		t.Run("shape", func(t *testing.T) {
			p := e.history(t, tok, "/api/v1/rooms/general/messages")
			if len(p.Messages) != 5 || p.HasMore {
				t.Fatalf("%d messages, has_more %v; want 5, false", len(p.Messages), p.HasMore)
			}
			for i, m := range p.Messages {
				s := stored[i]
				want := chat.MessageJSON{Room: "general", Seq: int64(i + 1), ID: s.ID, From: "bob", FromID: bob.ID, Text: s.Text, TS: chat.FormatTime(s.TS)}
				if m != want {
					t.Fatalf("message %d = %+v, want %+v", i, m, want)
				}
				wantTime(t, "ts", m.TS)
			}
		})

		tests := []struct {
			query   string
			seqs    []int64
			hasMore bool
		}{
			{query: "", seqs: []int64{1, 2, 3, 4, 5}},
			{query: "?limit=2", seqs: []int64{4, 5}, hasMore: true},
			{query: "?limit=5", seqs: []int64{1, 2, 3, 4, 5}},
			{query: "?limit=4", seqs: []int64{2, 3, 4, 5}, hasMore: true},
			{query: "?before=4&limit=2", seqs: []int64{2, 3}, hasMore: true},
			{query: "?before=3&limit=2", seqs: []int64{1, 2}},
			{query: "?before=2", seqs: []int64{1}},
			{query: "?before=1", seqs: []int64{}},
			{query: "?before=6", seqs: []int64{1, 2, 3, 4, 5}},
			{query: "?before=1000", seqs: []int64{1, 2, 3, 4, 5}},
			{query: "?before=5&limit=1", seqs: []int64{4}, hasMore: true},
		}
		for _, tt := range tests {
			t.Run("general"+tt.query, func(t *testing.T) {
				p := e.history(t, tok, "/api/v1/rooms/general/messages"+tt.query)
				if got := seqs(p.Messages); !slices.Equal(got, tt.seqs) || p.HasMore != tt.hasMore {
					t.Fatalf("seqs %v has_more %v, want %v %v", got, p.HasMore, tt.seqs, tt.hasMore)
				}
			})
		}

		t.Run("empty room", func(t *testing.T) {
			rec := e.get("/api/v1/rooms/empty/messages", tok)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"messages":[]`) {
				t.Fatalf("%d %s, want 200 with \"messages\":[]", rec.Code, rec.Body)
			}
			var p messagesPage
			decode(t, rec, &p)
			if p.HasMore {
				t.Fatal("has_more in an empty room")
			}
		})
		t.Run("room name is case-insensitive", func(t *testing.T) {
			if p := e.history(t, tok, "/api/v1/rooms/General/messages?limit=1"); len(p.Messages) != 1 || p.Messages[0].Room != "general" {
				t.Fatalf("messages %+v", p.Messages)
			}
		})

		errs := []struct {
			path   string
			status int
			code   string
		}{
			{path: "/api/v1/rooms/nowhere/messages", status: http.StatusNotFound, code: chat.CodeRoomNotFound},
			{path: "/api/v1/rooms/nowhere/messages?before=3&limit=2", status: http.StatusNotFound, code: chat.CodeRoomNotFound},
			{path: "/api/v1/rooms/bad%21name/messages", status: http.StatusBadRequest, code: chat.CodeInvalidRoom},
			{path: "/api/v1/rooms/bad.name/messages", status: http.StatusBadRequest, code: chat.CodeInvalidRoom},
			{path: "/api/v1/rooms/caf%C3%A9/messages", status: http.StatusBadRequest, code: chat.CodeInvalidRoom},
			{path: "/api/v1/rooms/%FF%FE/messages", status: http.StatusBadRequest, code: chat.CodeInvalidRoom},
			{path: "/api/v1/rooms/" + strings.Repeat("a", 65) + "/messages", status: http.StatusBadRequest, code: chat.CodeInvalidRoom},
			{path: "/api/v1/rooms/general/messages?before=abc", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{path: "/api/v1/rooms/general/messages?before=0", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{path: "/api/v1/rooms/general/messages?before=-1", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{path: "/api/v1/rooms/general/messages?before=1.5", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{path: "/api/v1/rooms/general/messages?before=99999999999999999999", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{path: "/api/v1/rooms/general/messages?limit=0", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{path: "/api/v1/rooms/general/messages?limit=-5", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{path: "/api/v1/rooms/general/messages?limit=ten", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{path: "/api/v1/rooms/general/messages?limit=%00", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
		}
		for _, tt := range errs {
			t.Run(tt.path, func(t *testing.T) {
				wantError(t, e.get(tt.path, tok), tt.status, tt.code)
			})
		}
		t.Run("unauthenticated", func(t *testing.T) {
			rec := e.get("/api/v1/rooms/general/messages", "")
			wantError(t, rec, http.StatusUnauthorized, chat.CodeInvalidToken)
			if rec.Header().Get("WWW-Authenticate") != "Bearer" {
				t.Fatalf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
			}
		})
	})
}

func TestMessagesLimits(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e, tok := aliceEnv(t, dialect)
		bob := e.storeUser(t, "bob")
		const n = 210
		e.appendN(t, "general", bob, n)

		tests := []struct {
			query   string
			from    int64 // first seq
			count   int
			hasMore bool
		}{
			{query: "", from: n - 49, count: 50, hasMore: true},
			{query: "?limit=200", from: n - 199, count: 200, hasMore: true},
			{query: "?limit=201", from: n - 199, count: 200, hasMore: true},
			{query: "?limit=100000", from: n - 199, count: 200, hasMore: true},
			{query: "?before=201&limit=500", from: 1, count: 200},
			{query: "?before=100", from: 50, count: 50, hasMore: true},
		}
		for _, tt := range tests {
			t.Run(cmpOr(tt.query, "default"), func(t *testing.T) {
				p := e.history(t, tok, "/api/v1/rooms/general/messages"+tt.query)
				var want []int64
				for i := range tt.count {
					want = append(want, tt.from+int64(i))
				}
				if got := seqs(p.Messages); !slices.Equal(got, want) || p.HasMore != tt.hasMore {
					t.Fatalf("%d messages %v…%v has_more %v, want %d from %d, has_more %v",
						len(got), first(got), last(got), p.HasMore, tt.count, tt.from, tt.hasMore)
				}
			})
		}
	})
}

// history GETs the messages at path as tok and fails unless the answer is
// 200 with a messages array.
func (e *env) history(t testing.TB, tok, path string) messagesPage {
	t.Helper()
	rec := e.get(path, tok)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	var p messagesPage
	decode(t, rec, &p)
	if p.Messages == nil {
		t.Fatalf("messages is null in %s", rec.Body)
	}
	return p
}

func seqs(ms []chat.MessageJSON) []int64 {
	out := make([]int64, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Seq)
	}
	return out
}
