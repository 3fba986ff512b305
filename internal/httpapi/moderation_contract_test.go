package httpapi_test

import (
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
)

// moderationCounts reads every action label of chat_moderation_actions_total.
func moderationCounts(t testing.TB, e *env) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, a := range metrics.ModerationActionNames {
		out[a] = counterValue(t, e, "chat_moderation_actions_total", a)
	}
	return out
}

// TestModerationContract checks the rows of the contract's moderation
// table that the REST API carries out: each action stores its member event
// naming who did it (by) and the reason given, with until for a mute and
// role for a role change; each counts once in chat_moderation_actions_total
// under its own action and a refused one not at all; a kicked or unbanned
// user may join a public room again; an owner alone may leave; a server
// admin outranks the owner for roles; and deleting a room counts as
// delete_room, suspending and unsuspending a user as suspend and unsuspend.
func TestModerationContract(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		p, _ := setupRooms(t, dialect)
		e := p.e
		reason := "the reason given"
		tests := []struct {
			who, room, action string
			body              map[string]string
			change            string // the stored event's change
			target            string
			check             func(t *testing.T, ev chat.Message)
		}{
			{"admin", "priv", "invite", map[string]string{"username": "stranger"}, chat.ChangeInvited, "stranger", nil},
			{"admin", "pub", "kick", map[string]string{"username": "tkick"}, chat.ChangeKicked, "tkick", nil},
			{"admin", "pub", "ban", map[string]string{"username": "tban"}, chat.ChangeBanned, "tban", nil},
			{"admin", "pub", "unban", map[string]string{"username": "tban"}, chat.ChangeUnbanned, "tban", nil},
			{"admin", "pub", "mute", map[string]string{"username": "tmute", "duration": "90m"}, chat.ChangeMuted, "tmute", func(t *testing.T, ev chat.Message) {
				if d := time.Until(ev.Until); d < 89*time.Minute || d > 91*time.Minute {
					t.Errorf("mute until %v, want 90 minutes from now", ev.Until)
				}
			}},
			{"admin", "pub", "unmute", map[string]string{"username": "tmute"}, chat.ChangeUnmuted, "tmute", nil},
			{"root", "pub", "role", map[string]string{"username": "trole", "role": "admin"}, chat.ChangeRole, "trole", func(t *testing.T, ev chat.Message) {
				if ev.Role != chat.RoleAdmin {
					t.Errorf("role event's role %q, want admin", ev.Role)
				}
			}},
		}
		for _, tc := range tests {
			t.Run(tc.action, func(t *testing.T) {
				before := moderationCounts(t, e)
				seq := p.lastSeq(tc.room)
				body := map[string]string{"reason": reason}
				for k, v := range tc.body {
					body[k] = v
				}
				// A refused attempt first: a member acts over no one.
				wantError(t, p.call("member", http.MethodPost, "/api/v1/rooms/"+tc.room+"/"+tc.action, body), http.StatusForbidden, chat.CodeForbidden)
				if got := moderationCounts(t, e); !maps.Equal(got, before) {
					t.Fatalf("a refused %s was counted: %v, was %v", tc.action, got, before)
				}
				wantStatus(t, p.call(tc.who, http.MethodPost, "/api/v1/rooms/"+tc.room+"/"+tc.action, body), http.StatusNoContent, "")
				evs := p.events(tc.room, seq)
				if len(evs) != 1 {
					t.Fatalf("%s stored %d events, want 1: %+v", tc.action, len(evs), evs)
				}
				ev := evs[0]
				if ev.Kind != chat.StreamMember || ev.Change != tc.change || ev.User != tc.target || ev.From != tc.who || ev.Reason != reason {
					t.Fatalf("%s stored %+v, want a member event %s of %s by %s with the reason", tc.action, ev, tc.change, tc.target, tc.who)
				}
				if tc.check != nil {
					tc.check(t, ev)
				}
				want := before
				want[tc.action]++
				if got := moderationCounts(t, e); !maps.Equal(got, want) {
					t.Fatalf("after %s: chat_moderation_actions_total %v, want %v", tc.action, got, want)
				}
			})
		}

		t.Run("public room joined again", func(t *testing.T) {
			// tkick was kicked and tban banned then unbanned: both may join.
			for _, who := range []string{"tkick", "tban"} {
				p.join("pub", who)
				if m := p.member("pub", who); m.State != chat.StateMember {
					t.Fatalf("%s after joining again: %+v", who, m)
				}
			}
		})

		t.Run("owner hands over through a server admin", func(t *testing.T) {
			wantStatus(t, p.call("root", http.MethodPost, "/api/v1/rooms/priv/role", map[string]string{"username": "member", "role": "owner"}), http.StatusNoContent, "")
			if m := p.member("priv", "member"); m.Role != chat.RoleOwner {
				t.Fatalf("new owner %+v", m)
			}
			if m := p.member("priv", "owner"); m.Role != chat.RoleAdmin || m.State != chat.StateMember {
				t.Fatalf("old owner %+v, want an admin member", m)
			}
		})

		t.Run("an owner alone may leave", func(t *testing.T) {
			wantStatus(t, p.call("stranger", http.MethodPost, "/api/v1/rooms", map[string]string{"name": "solo", "kind": "public"}), http.StatusCreated, "")
			wantStatus(t, p.call("stranger", http.MethodPost, "/api/v1/rooms/solo/leave", map[string]string{}), http.StatusNoContent, "")
			if m := p.member("solo", "stranger"); m.State != "" {
				t.Fatalf("the owner is still %+v", m)
			}
			evs := p.events("solo", 0)
			if len(evs) != 1 || evs[0].Change != chat.ChangeLeft || evs[0].User != "stranger" {
				t.Fatalf("leave stored %+v, want one member left event", evs)
			}
		})

		t.Run("delete_room, suspend and unsuspend", func(t *testing.T) {
			before := moderationCounts(t, e)
			wantError(t, p.call("admin", http.MethodDelete, "/api/v1/rooms/pub", nil), http.StatusForbidden, chat.CodeForbidden)
			wantStatus(t, p.call("trole", http.MethodPost, "/api/v1/rooms/pub/role", map[string]string{"username": "member", "role": "member"}), http.StatusForbidden, chat.CodeForbidden)
			wantStatus(t, p.call("owner", http.MethodDelete, "/api/v1/rooms/pub", nil), http.StatusNoContent, "")
			wantStatus(t, p.call("root", http.MethodPost, "/api/v1/admin/users/tkick/suspend", map[string]string{"reason": reason}), http.StatusNoContent, "")
			wantStatus(t, p.call("root", http.MethodPost, "/api/v1/admin/users/tkick/unsuspend", map[string]string{}), http.StatusNoContent, "")
			want := before
			for _, a := range []string{"delete_room", "suspend", "unsuspend"} {
				want[a]++
			}
			if got := moderationCounts(t, e); !maps.Equal(got, want) {
				t.Fatalf("chat_moderation_actions_total %v, want %v", got, want)
			}
		})
	})
}
