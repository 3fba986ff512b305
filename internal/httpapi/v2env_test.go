package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/chatsvc/chat/internal/chat"
)

// recorder is a Notifier that records what it is told, one line per call.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
}

func (r *recorder) Event(_ context.Context, ev chat.Message) {
	r.add("event %s %d %s %s", ev.Room, ev.Seq, ev.Kind, ev.Change)
}
func (r *recorder) Invited(_ context.Context, room, userID, by string) {
	r.add("invited %s %s %s", room, userID, by)
}
func (r *recorder) RoomDeleted(_ context.Context, room string) { r.add("deleted %s", room) }
func (r *recorder) SessionsRevoked(_ context.Context, ids []string) {
	r.add("revoked %d", len(ids))
}

// take returns the calls recorded since the last take.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

// people is a set of registered, logged-in users of an env.
type people struct {
	e      *env
	users  map[string]chat.UserJSON
	tokens map[string]string
}

// newPeople registers and logs in each name.
func newPeople(e *env, names ...string) *people {
	e.t.Helper()
	p := &people{e: e, users: map[string]chat.UserJSON{}, tokens: map[string]string{}}
	for _, n := range names {
		p.users[n] = e.register(n)
		p.tokens[n] = e.login(n).AccessToken
	}
	return p
}

// user returns the chat.User of a registered name.
func (p *people) user(name string) chat.User {
	u := p.users[name]
	return chat.User{ID: u.ID, Username: u.Username}
}

// call sends a request as the named user (no token for ""), with body
// marshalled as JSON when not nil.
func (p *people) call(who, method, path string, body any) *httptest.ResponseRecorder {
	p.e.t.Helper()
	r := request{method: method, path: path, token: p.tokens[who]}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			p.e.t.Fatal(err)
		}
		r.body = string(b)
	}
	return p.e.do(r)
}

// join makes the named user join the room as a WebSocket join would.
func (p *people) join(room, who string) {
	p.e.t.Helper()
	if _, err := p.e.db.JoinRoom(context.Background(), room, p.user(who), false, nil); err != nil {
		p.e.t.Fatalf("%s joins %s: %v", who, room, err)
	}
}

// lastSeq returns the room's last_seq as stored.
func (p *people) lastSeq(room string) int64 {
	p.e.t.Helper()
	r, err := p.e.db.Room(context.Background(), room)
	if err != nil {
		p.e.t.Fatal(err)
	}
	return r.LastSeq
}

// member returns the user's membership as stored.
func (p *people) member(room, who string) chat.Member {
	p.e.t.Helper()
	m, err := p.e.db.Membership(context.Background(), room, p.users[who].ID)
	if err != nil {
		p.e.t.Fatal(err)
	}
	return m
}

// wantStatus fails unless rec has the status, and for errors the code.
func wantStatus(t testing.TB, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if code != "" {
		wantError(t, rec, status, code)
		return
	}
	if rec.Code != status {
		t.Fatalf("status %d, want %d (body %s)", rec.Code, status, rec.Body)
	}
}

// events returns the stored stream events of a room after seq.
func (p *people) events(room string, after int64) []chat.Message {
	p.e.t.Helper()
	evs, _, err := p.e.db.After(context.Background(), room, after, 0, 100)
	if err != nil {
		p.e.t.Fatal(err)
	}
	return evs
}

func memberNames(ms []chat.MemberJSON) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.User.Username)
	}
	return out
}

// counterValue reads one labelled child of a counter family of the env.
func counterValue(t testing.TB, e *env, name, label string) float64 {
	t.Helper()
	switch name {
	case "chat_rate_limited_total":
		return testutil.ToFloat64(e.m.RateLimited.WithLabelValues(label))
	case "chat_moderation_actions_total":
		return testutil.ToFloat64(e.m.ModerationActions.WithLabelValues(label))
	case "chat_room_events_stored_total":
		return testutil.ToFloat64(e.m.RoomEventsStored.WithLabelValues(label))
	}
	t.Fatalf("no counter %s", name)
	return 0
}
