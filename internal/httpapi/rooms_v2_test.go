package httpapi_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
)

type myRoomsAnswer struct {
	Rooms []chat.MyRoomJSON `json:"rooms"`
}

func TestCreateRoom(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{roomCreateRate: auth.Rate{N: 2, Per: time.Hour}})
		p := newPeople(e, "alice", "bob")
		bad := []struct {
			body   any
			status int
			code   string
		}{
			{map[string]string{"name": "dm-alice", "kind": "public"}, 400, chat.CodeInvalidRoom},
			{map[string]string{"name": "a b", "kind": "public"}, 400, chat.CodeInvalidRoom},
			{map[string]string{"name": "ops"}, 400, chat.CodeInvalidRequest},
			{map[string]string{"name": "ops", "kind": "direct"}, 400, chat.CodeInvalidRequest},
			{map[string]any{"name": "ops", "kind": "public", "topic": string(make([]byte, 501))}, 400, chat.CodeInvalidRequest},
			{map[string]string{"name": "general", "kind": "public"}, 409, chat.CodeRoomExists},
		}
		for _, b := range bad {
			wantError(t, p.call("alice", http.MethodPost, "/api/v1/rooms", b.body), b.status, b.code)
		}
		var rb struct {
			Room chat.RoomJSON `json:"room"`
		}
		rec := p.call("alice", http.MethodPost, "/api/v1/rooms", map[string]string{"name": "Ops", "kind": "private", "topic": "on call"})
		wantStatus(t, rec, http.StatusCreated, "")
		decode(t, rec, &rb)
		if r := rb.Room; r.Name != "ops" || r.Kind != "private" || r.Topic != "on call" || r.Owner == nil || *r.Owner != "alice" || r.MemberCount != 1 || r.LastSeq != 0 {
			t.Fatalf("created %+v", r)
		}
		wantError(t, p.call("bob", http.MethodPost, "/api/v1/rooms", map[string]string{"name": "ops", "kind": "public"}), http.StatusConflict, chat.CodeRoomExists)
		// Refused attempts did not count: one more room, then 429.
		wantStatus(t, p.call("alice", http.MethodPost, "/api/v1/rooms", map[string]string{"name": "two", "kind": "public"}), http.StatusCreated, "")
		rec = p.call("alice", http.MethodPost, "/api/v1/rooms", map[string]string{"name": "three", "kind": "public"})
		wantError(t, rec, http.StatusTooManyRequests, chat.CodeRateLimited)
		if rec.Header().Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		if got := counterValue(t, e, "chat_rate_limited_total", "room_create"); got != 1 {
			t.Fatalf("chat_rate_limited_total{scope=room_create} = %v, want 1", got)
		}
		wantStatus(t, p.call("bob", http.MethodPost, "/api/v1/rooms", map[string]string{"name": "three", "kind": "public"}), http.StatusCreated, "")

		// The list: bob sees public rooms, not alice's private one.
		var page roomsPage
		decode(t, p.call("bob", http.MethodGet, "/api/v1/rooms", nil), &page)
		if got := roomNames(page.Rooms); !slices.Equal(got, []string{"general", "three", "two"}) {
			t.Fatalf("bob lists %v", got)
		}
		decode(t, p.call("alice", http.MethodGet, "/api/v1/rooms", nil), &page)
		if got := roomNames(page.Rooms); !slices.Equal(got, []string{"general", "ops", "three", "two"}) {
			t.Fatalf("alice lists %v", got)
		}
		for _, r := range page.Rooms {
			if r.Name == "general" && (r.Owner != nil || r.Kind != "public") {
				t.Fatalf("general is %+v, want public without owner", r)
			}
		}
		var my myRoomsAnswer
		decode(t, p.call("alice", http.MethodGet, "/api/v1/me/rooms", nil), &my)
		if len(my.Rooms) != 2 || my.Rooms[0].Room.Name != "two" || my.Rooms[0].Role != chat.RoleOwner || my.Rooms[0].LastMessage != nil {
			t.Fatalf("alice's rooms %+v", my.Rooms)
		}
	})
}

func TestDirectRooms(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{admins: []string{"root"}})
		p := newPeople(e, "alice", "bob", "carol", "root")
		var a, b struct {
			Room chat.RoomJSON `json:"room"`
		}
		decode(t, p.call("alice", http.MethodPost, "/api/v1/dms", map[string]string{"username": "Bob"}), &a)
		decode(t, p.call("bob", http.MethodPost, "/api/v1/dms", map[string]string{"username": "alice"}), &b)
		if a.Room.Name != b.Room.Name || a.Room.Kind != chat.KindDirect || a.Room.Owner != nil || a.Room.MemberCount != 2 {
			t.Fatalf("alice's DM %+v, bob's %+v", a.Room, b.Room)
		}
		dm := "/api/v1/rooms/" + a.Room.Name
		wantError(t, p.call("alice", http.MethodPost, "/api/v1/dms", map[string]string{"username": "alice"}), 400, chat.CodeInvalidRequest)
		wantError(t, p.call("alice", http.MethodPost, "/api/v1/dms", map[string]string{"username": "nobody"}), 404, chat.CodeUserNotFound)
		for _, who := range []string{"carol", "root"} {
			wantError(t, p.call(who, http.MethodGet, dm, nil), 404, chat.CodeRoomNotFound)
			wantError(t, p.call(who, http.MethodGet, dm+"/messages", nil), 404, chat.CodeRoomNotFound)
		}
		for _, action := range []string{"invite", "kick", "ban", "mute"} {
			body := map[string]string{"username": "carol", "duration": "1m"}
			if action != "invite" {
				body["username"] = "bob"
			}
			wantError(t, p.call("alice", http.MethodPost, dm+"/"+action, body), 403, chat.CodeForbidden)
		}
		if m := p.member(a.Room.Name, "carol"); m.State != "" {
			t.Fatalf("a third user got into the DM: %+v", m)
		}
		wantError(t, p.call("alice", http.MethodPatch, dm, map[string]string{"topic": "x"}), 403, chat.CodeForbidden)
		wantError(t, p.call("alice", http.MethodDelete, dm, nil), 403, chat.CodeForbidden)
		// Leaving hides the room from alice's list until the next message.
		if _, _, err := e.db.Append(t.Context(), chat.NewMessage{Room: a.Room.Name, UserID: p.users["bob"].ID, Username: "bob", Text: "hi"}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, p.call("alice", http.MethodPost, dm+"/leave", map[string]string{}), http.StatusNoContent, "")
		var my myRoomsAnswer
		decode(t, p.call("alice", http.MethodGet, "/api/v1/me/rooms", nil), &my)
		if len(my.Rooms) != 0 {
			t.Fatalf("left DM still listed: %+v", my.Rooms)
		}
		if m := p.member(a.Room.Name, "alice"); m.State != chat.StateMember {
			t.Fatalf("leaving a DM ended the membership: %+v", m)
		}
		if _, _, err := e.db.Append(t.Context(), chat.NewMessage{Room: a.Room.Name, UserID: p.users["bob"].ID, Username: "bob", Text: "back?"}); err != nil {
			t.Fatal(err)
		}
		decode(t, p.call("alice", http.MethodGet, "/api/v1/me/rooms", nil), &my)
		if len(my.Rooms) != 1 || my.Rooms[0].Unread != 2 || my.Rooms[0].LastMessage == nil || my.Rooms[0].LastMessage.Text != "back?" {
			t.Fatalf("DM after a new message: %+v", my.Rooms)
		}
	})
}

func TestUsersAndSuspension(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		rec := &recorder{}
		e := newEnv(t, dialect, envOptions{admins: []string{"root"}, notifier: rec})
		p := newPeople(e, "alice", "bob", "root")
		var ua struct {
			User chat.UserJSON `json:"user"`
		}
		decode(t, p.call("alice", http.MethodGet, "/api/v1/users/BOB", nil), &ua)
		if ua.User != p.users["bob"] {
			t.Fatalf("user %+v, want %+v", ua.User, p.users["bob"])
		}
		wantError(t, p.call("alice", http.MethodGet, "/api/v1/users/nobody", nil), 404, chat.CodeUserNotFound)
		wantError(t, p.call("alice", http.MethodGet, "/api/v1/users/x", nil), 404, chat.CodeUserNotFound)

		pair := e.login("bob")
		wantError(t, p.call("alice", http.MethodPost, "/api/v1/admin/users/bob/suspend", map[string]string{}), 403, chat.CodeForbidden)
		wantError(t, p.call("root", http.MethodPost, "/api/v1/admin/users/nobody/suspend", map[string]string{}), 404, chat.CodeUserNotFound)
		wantError(t, p.call("root", http.MethodPost, "/api/v1/admin/users/root/suspend", map[string]string{}), 403, chat.CodeForbidden)
		wantStatus(t, p.call("root", http.MethodPost, "/api/v1/admin/users/bob/suspend", map[string]string{"reason": "spam"}), http.StatusNoContent, "")
		if got := rec.take(); !slices.Equal(got, []string{"revoked 2"}) {
			t.Fatalf("notified %q, want bob's two sessions revoked", got)
		}
		wantError(t, e.post("/api/v1/auth/login", map[string]string{"username": "bob", "password": testPassword}), 403, chat.CodeAccountSuspended)
		wantError(t, e.post("/api/v1/auth/refresh", map[string]string{"refresh_token": pair.RefreshToken}), 403, chat.CodeAccountSuspended)
		wantError(t, p.call("bob", http.MethodGet, "/api/v1/me", nil), 401, chat.CodeInvalidToken)
		// A wrong password is still just wrong.
		wantError(t, e.post("/api/v1/auth/login", map[string]string{"username": "bob", "password": "wrong password"}), 401, chat.CodeInvalidCredentials)
		wantStatus(t, p.call("root", http.MethodPost, "/api/v1/admin/users/bob/unsuspend", nil), http.StatusNoContent, "")
		e.login("bob")
		if got := counterValue(t, e, "chat_moderation_actions_total", "suspend"); got != 1 {
			t.Fatalf("suspensions counted %v", got)
		}
	})
}
