package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
)

// setupRooms builds the cast of the permission tests: a public room pub and
// a private room priv, both owned by owner, with an admin, members, a muted
// member, an invited user (priv), a banned user, a stranger and a server
// admin (root).
func setupRooms(t *testing.T, dialect string) (*people, *recorder) {
	t.Helper()
	rec := &recorder{}
	e := newEnv(t, dialect, envOptions{admins: []string{"root"}, notifier: rec})
	p := newPeople(e, "owner", "admin", "admin2", "member", "muted", "invitee", "banned", "stranger", "root",
		"tkick", "tban", "tmute", "trole")
	for _, room := range []string{"pub", "priv"} {
		kind := chat.KindPublic
		if room == "priv" {
			kind = chat.KindPrivate
		}
		wantStatus(t, p.call("owner", http.MethodPost, "/api/v1/rooms", map[string]string{"name": room, "kind": kind}), http.StatusCreated, "")
		for _, who := range []string{"admin", "admin2", "member", "muted", "banned", "tkick", "tban", "tmute", "trole"} {
			if room == "priv" {
				wantStatus(t, p.call("owner", http.MethodPost, "/api/v1/rooms/priv/invite", map[string]string{"username": who}), http.StatusNoContent, "")
			}
			p.join(room, who)
		}
		for _, who := range []string{"admin", "admin2"} {
			wantStatus(t, p.call("owner", http.MethodPost, "/api/v1/rooms/"+room+"/role", map[string]string{"username": who, "role": "admin"}), http.StatusNoContent, "")
		}
		wantStatus(t, p.call("owner", http.MethodPost, "/api/v1/rooms/"+room+"/mute", map[string]string{"username": "muted", "duration": "1h"}), http.StatusNoContent, "")
		wantStatus(t, p.call("owner", http.MethodPost, "/api/v1/rooms/"+room+"/ban", map[string]string{"username": "banned"}), http.StatusNoContent, "")
	}
	wantStatus(t, p.call("owner", http.MethodPost, "/api/v1/rooms/priv/invite", map[string]string{"username": "invitee"}), http.StatusNoContent, "")
	rec.take()
	return p, rec
}

func TestPermissions(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		p, _ := setupRooms(t, dialect)
		type row struct {
			who, method, path string
			body              any
			status            int
			code              string
		}
		user := func(name string) map[string]string { return map[string]string{"username": name} }
		get, post, patch, del := http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
		// Refused requests: each gets its error and changes nothing.
		refused := []row{
			// A private room does not exist for a stranger or a banned user.
			{"stranger", get, "/api/v1/rooms/priv", nil, 404, chat.CodeRoomNotFound},
			{"stranger", get, "/api/v1/rooms/priv/messages", nil, 404, chat.CodeRoomNotFound},
			{"stranger", get, "/api/v1/rooms/priv/members", nil, 404, chat.CodeRoomNotFound},
			{"stranger", patch, "/api/v1/rooms/priv", map[string]string{"topic": "x"}, 404, chat.CodeRoomNotFound},
			{"stranger", del, "/api/v1/rooms/priv", nil, 404, chat.CodeRoomNotFound},
			{"stranger", post, "/api/v1/rooms/priv/kick", user("member"), 404, chat.CodeRoomNotFound},
			{"stranger", post, "/api/v1/rooms/priv/invite", user("stranger"), 404, chat.CodeRoomNotFound},
			{"stranger", post, "/api/v1/rooms/priv/leave", map[string]string{}, 404, chat.CodeRoomNotFound},
			{"stranger", post, "/api/v1/rooms/priv/kick", user("nobody-at-all"), 404, chat.CodeRoomNotFound},
			{"banned", get, "/api/v1/rooms/priv", nil, 404, chat.CodeRoomNotFound},
			{"banned", get, "/api/v1/rooms/priv/messages", nil, 404, chat.CodeRoomNotFound},
			// A public room is visible, but not to read for a banned user.
			{"banned", get, "/api/v1/rooms/pub", nil, 403, chat.CodeForbidden},
			{"banned", get, "/api/v1/rooms/pub/messages", nil, 403, chat.CodeForbidden},
			{"banned", get, "/api/v1/rooms/pub/members", nil, 403, chat.CodeForbidden},
			// An invited user reads only after joining.
			{"invitee", get, "/api/v1/rooms/priv/messages", nil, 403, chat.CodeForbidden},
			{"invitee", get, "/api/v1/rooms/priv/members", nil, 403, chat.CodeForbidden},
			// invite: private rooms, admin or over; never a banned user.
			{"member", post, "/api/v1/rooms/priv/invite", user("stranger"), 403, chat.CodeForbidden},
			{"muted", post, "/api/v1/rooms/priv/invite", user("stranger"), 403, chat.CodeForbidden},
			{"owner", post, "/api/v1/rooms/pub/invite", user("stranger"), 403, chat.CodeForbidden},
			{"owner", post, "/api/v1/rooms/priv/invite", user("banned"), 403, chat.CodeForbidden},
			{"owner", post, "/api/v1/rooms/priv/invite", user("nobody-at-all"), 404, chat.CodeUserNotFound},
			// kick, ban, unban, mute, unmute: admin or over, over the target.
			{"member", post, "/api/v1/rooms/pub/kick", user("tkick"), 403, chat.CodeForbidden},
			{"stranger", post, "/api/v1/rooms/pub/kick", user("tkick"), 403, chat.CodeForbidden},
			{"banned", post, "/api/v1/rooms/pub/kick", user("tkick"), 403, chat.CodeForbidden},
			{"admin", post, "/api/v1/rooms/pub/kick", user("admin2"), 403, chat.CodeForbidden},
			{"admin", post, "/api/v1/rooms/pub/kick", user("owner"), 403, chat.CodeForbidden},
			{"admin", post, "/api/v1/rooms/pub/kick", user("root"), 403, chat.CodeForbidden},
			{"admin", post, "/api/v1/rooms/pub/kick", user("stranger"), 404, chat.CodeUserNotFound},
			{"member", post, "/api/v1/rooms/pub/ban", user("tban"), 403, chat.CodeForbidden},
			{"admin", post, "/api/v1/rooms/pub/ban", user("owner"), 403, chat.CodeForbidden},
			{"member", post, "/api/v1/rooms/pub/unban", user("banned"), 403, chat.CodeForbidden},
			{"muted", post, "/api/v1/rooms/pub/mute", map[string]string{"username": "tmute", "duration": "1m"}, 403, chat.CodeForbidden},
			{"admin", post, "/api/v1/rooms/pub/mute", map[string]string{"username": "owner", "duration": "1m"}, 403, chat.CodeForbidden},
			{"admin", post, "/api/v1/rooms/pub/mute", map[string]string{"username": "tmute", "duration": "721h"}, 400, chat.CodeInvalidRequest},
			{"admin", post, "/api/v1/rooms/pub/mute", map[string]string{"username": "tmute", "duration": "forever"}, 400, chat.CodeInvalidRequest},
			{"admin", post, "/api/v1/rooms/pub/mute", map[string]string{"username": "tmute"}, 400, chat.CodeInvalidRequest},
			{"member", post, "/api/v1/rooms/pub/unmute", user("muted"), 403, chat.CodeForbidden},
			// role: the owner and server admins.
			{"admin", post, "/api/v1/rooms/pub/role", map[string]string{"username": "trole", "role": "admin"}, 403, chat.CodeForbidden},
			{"member", post, "/api/v1/rooms/pub/role", map[string]string{"username": "trole", "role": "admin"}, 403, chat.CodeForbidden},
			{"owner", post, "/api/v1/rooms/pub/role", map[string]string{"username": "trole", "role": "king"}, 400, chat.CodeInvalidRequest},
			{"owner", post, "/api/v1/rooms/pub/role", map[string]string{"username": "owner", "role": "member"}, 403, chat.CodeForbidden},
			{"root", post, "/api/v1/rooms/pub/role", map[string]string{"username": "owner", "role": "member"}, 403, chat.CodeForbidden},
			// leave: the owner must hand over first.
			{"owner", post, "/api/v1/rooms/pub/leave", map[string]string{}, 409, chat.CodeOwnerMustTransfer},
			{"stranger", post, "/api/v1/rooms/pub/leave", map[string]string{}, 400, chat.CodeInvalidRequest},
			// topic: admin or over; at most 500 characters.
			{"member", patch, "/api/v1/rooms/pub", map[string]string{"topic": "x"}, 403, chat.CodeForbidden},
			{"stranger", patch, "/api/v1/rooms/pub", map[string]string{"topic": "x"}, 403, chat.CodeForbidden},
			{"admin", patch, "/api/v1/rooms/pub", map[string]string{"topic": strings.Repeat("t", 501)}, 400, chat.CodeInvalidRequest},
			{"admin", patch, "/api/v1/rooms/pub", map[string]string{}, 400, chat.CodeInvalidRequest},
			// delete: the owner and server admins; never general.
			{"admin", del, "/api/v1/rooms/pub", nil, 403, chat.CodeForbidden},
			{"member", del, "/api/v1/rooms/priv", nil, 403, chat.CodeForbidden},
			{"root", del, "/api/v1/rooms/general", nil, 403, chat.CodeForbidden},
			// An unknown action is no route at all.
			{"owner", post, "/api/v1/rooms/pub/promote", user("member"), 404, chat.CodeNotFound},
		}
		for _, r := range refused {
			t.Run(r.who+" "+r.method+" "+r.path, func(t *testing.T) {
				before := p.lastSeq("pub") + 1000*p.lastSeq("priv")
				members := [2]chat.Member{p.member("pub", "tmute"), p.member("priv", "tkick")}
				wantStatus(t, p.call(r.who, r.method, r.path, r.body), r.status, r.code)
				if after := p.lastSeq("pub") + 1000*p.lastSeq("priv"); after != before {
					t.Fatalf("a refused request stored an event")
				}
				if got := [2]chat.Member{p.member("pub", "tmute"), p.member("priv", "tkick")}; got != members {
					t.Fatalf("a refused request changed a membership: %+v, was %+v", got, members)
				}
			})
		}

		allowed := []row{
			{"stranger", get, "/api/v1/rooms/pub", nil, 200, ""},
			{"stranger", get, "/api/v1/rooms/pub/messages", nil, 200, ""},
			{"stranger", get, "/api/v1/rooms/pub/members", nil, 200, ""},
			{"invitee", get, "/api/v1/rooms/priv", nil, 200, ""},
			{"member", get, "/api/v1/rooms/priv/messages", nil, 200, ""},
			{"muted", get, "/api/v1/rooms/priv/members", nil, 200, ""},
			{"root", get, "/api/v1/rooms/priv/messages", nil, 200, ""},
			{"root", get, "/api/v1/rooms/priv/members", nil, 200, ""},
			{"admin", post, "/api/v1/rooms/priv/invite", user("stranger"), 204, ""},
			{"admin", post, "/api/v1/rooms/priv/invite", user("stranger"), 204, ""},
			{"admin", post, "/api/v1/rooms/pub/kick", user("tkick"), 204, ""},
			{"admin", post, "/api/v1/rooms/pub/ban", user("tban"), 204, ""},
			{"admin", post, "/api/v1/rooms/pub/unban", user("tban"), 204, ""},
			{"admin", post, "/api/v1/rooms/pub/mute", map[string]string{"username": "tmute", "duration": "720h"}, 204, ""},
			{"admin", post, "/api/v1/rooms/pub/unmute", user("tmute"), 204, ""},
			{"owner", post, "/api/v1/rooms/pub/role", map[string]string{"username": "trole", "role": "admin"}, 204, ""},
			{"owner", post, "/api/v1/rooms/pub/kick", user("admin2"), 204, ""},
			{"root", post, "/api/v1/rooms/priv/kick", user("owner"), 204, ""},
			{"admin", patch, "/api/v1/rooms/pub", map[string]string{"topic": "release notes"}, 200, ""},
			{"member", post, "/api/v1/rooms/pub/leave", map[string]string{}, 204, ""},
			{"muted", post, "/api/v1/rooms/priv/leave", map[string]string{}, 204, ""},
			{"owner", del, "/api/v1/rooms/pub", nil, 204, ""},
			{"root", del, "/api/v1/rooms/priv", nil, 204, ""},
		}
		for _, r := range allowed {
			if rec := p.call(r.who, r.method, r.path, r.body); rec.Code != r.status {
				t.Fatalf("%s %s %s: %d %s, want %d", r.who, r.method, r.path, rec.Code, rec.Body, r.status)
			}
		}
	})
}
