package httpapi_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
)

type memberPage struct {
	Members []chat.MemberJSON `json:"members"`
	Next    *string           `json:"next"`
}

type roomAnswer struct {
	Room       chat.RoomJSON    `json:"room"`
	Membership *chat.MemberJSON `json:"membership"`
}

func TestModerationEffects(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		p, rec := setupRooms(t, dialect)
		user := func(name string) map[string]string { return map[string]string{"username": name} }
		ids := func(name string) string { return p.users[name].ID }

		// The invited user sees the room with the invitation.
		var ra roomAnswer
		decode(t, p.call("invitee", http.MethodGet, "/api/v1/rooms/priv", nil), &ra)
		if ra.Membership == nil || ra.Membership.State != chat.StateInvited || ra.Room.Kind != chat.KindPrivate || ra.Room.Owner == nil || *ra.Room.Owner != "owner" {
			t.Fatalf("invitee's view %+v", ra)
		}
		decode(t, p.call("stranger", http.MethodGet, "/api/v1/rooms/pub", nil), &ra)
		if ra.Membership != nil {
			t.Fatalf("a stranger has a membership: %+v", ra.Membership)
		}

		// Banned users are listed to admins and the owner only.
		var mp memberPage
		decode(t, p.call("admin", http.MethodGet, "/api/v1/rooms/pub/members", nil), &mp)
		if !slices.Contains(memberNames(mp.Members), "banned") {
			t.Fatalf("admin does not see the banned user: %v", memberNames(mp.Members))
		}
		decode(t, p.call("member", http.MethodGet, "/api/v1/rooms/pub/members?limit=3", nil), &mp)
		if slices.Contains(memberNames(mp.Members), "banned") || len(mp.Members) != 3 || mp.Next == nil {
			t.Fatalf("member's first page %v next %v", memberNames(mp.Members), mp.Next)
		}
		decode(t, p.call("member", http.MethodGet, "/api/v1/rooms/pub/members?after="+*mp.Next, nil), &mp)
		if slices.Contains(memberNames(mp.Members), "banned") || mp.Next != nil {
			t.Fatalf("member's second page %v", memberNames(mp.Members))
		}

		// Invite: an event, an invited frame; again: nothing.
		seq := p.lastSeq("priv")
		wantStatus(t, p.call("admin", http.MethodPost, "/api/v1/rooms/priv/invite", map[string]string{"username": "stranger", "reason": "welcome"}), http.StatusNoContent, "")
		wantStatus(t, p.call("admin", http.MethodPost, "/api/v1/rooms/priv/invite", user("stranger")), http.StatusNoContent, "")
		evs := p.events("priv", seq)
		if len(evs) != 1 || evs[0].Change != chat.ChangeInvited || evs[0].From != "admin" || evs[0].User != "stranger" || evs[0].Reason != "welcome" {
			t.Fatalf("invite events %+v", evs)
		}
		if got := rec.take(); !slices.Equal(got, []string{
			"event priv " + strconv.FormatInt(seq+1, 10) + " member invited",
			"invited priv " + ids("stranger") + " admin",
		}) {
			t.Fatalf("notified %q", got)
		}

		// Kick: membership ends, left kicked.
		wantStatus(t, p.call("admin", http.MethodPost, "/api/v1/rooms/pub/kick", user("tkick")), http.StatusNoContent, "")
		if m := p.member("pub", "tkick"); m.State != "" {
			t.Fatalf("kicked user still %+v", m)
		}
		if got := rec.take(); len(got) != 1 || !strings.HasSuffix(got[0], " member kicked") {
			t.Fatalf("notified %q", got)
		}
		// Ban: out, cannot read; unban: not a member.
		wantStatus(t, p.call("admin", http.MethodPost, "/api/v1/rooms/pub/ban", user("tban")), http.StatusNoContent, "")
		wantError(t, p.call("tban", http.MethodGet, "/api/v1/rooms/pub/messages", nil), http.StatusForbidden, chat.CodeForbidden)
		if got := rec.take(); len(got) != 1 || !strings.HasSuffix(got[0], " member banned") {
			t.Fatalf("notified %q", got)
		}
		wantStatus(t, p.call("admin", http.MethodPost, "/api/v1/rooms/pub/unban", user("tban")), http.StatusNoContent, "")
		if m := p.member("pub", "tban"); m.State != "" {
			t.Fatalf("unbanned user is %+v", m)
		}
		// Mute with a duration; unmute.
		wantStatus(t, p.call("admin", http.MethodPost, "/api/v1/rooms/pub/mute", map[string]string{"username": "tmute", "duration": "10m"}), http.StatusNoContent, "")
		if m := p.member("pub", "tmute"); !m.Muted(m.Since.Add(9*60e9)) || m.Muted(m.MutedUntil) {
			t.Fatalf("muted member %+v", m)
		}
		wantStatus(t, p.call("admin", http.MethodPost, "/api/v1/rooms/pub/unmute", user("tmute")), http.StatusNoContent, "")
		if m := p.member("pub", "tmute"); !m.MutedUntil.IsZero() {
			t.Fatalf("unmuted member %+v", m)
		}
		// Hand-over: the old owner becomes admin.
		wantStatus(t, p.call("owner", http.MethodPost, "/api/v1/rooms/pub/role", map[string]string{"username": "trole", "role": "owner"}), http.StatusNoContent, "")
		decode(t, p.call("member", http.MethodGet, "/api/v1/rooms/pub", nil), &ra)
		if ra.Room.Owner == nil || *ra.Room.Owner != "trole" || p.member("pub", "owner").Role != chat.RoleAdmin {
			t.Fatalf("after hand-over %+v", ra.Room)
		}
		wantStatus(t, p.call("owner", http.MethodPost, "/api/v1/rooms/pub/leave", map[string]string{}), http.StatusNoContent, "")
		if got := rec.take(); !strings.HasSuffix(got[len(got)-1], " member left") {
			t.Fatalf("notified %q", got)
		}
		// Topic: a room event.
		seq = p.lastSeq("pub")
		var rb struct {
			Room chat.RoomJSON `json:"room"`
		}
		decode(t, p.call("admin", http.MethodPatch, "/api/v1/rooms/pub", map[string]string{"topic": "weekly"}), &rb)
		if rb.Room.Topic != "weekly" || rb.Room.LastSeq != seq+1 {
			t.Fatalf("patched room %+v", rb.Room)
		}
		// Delete: gone for everyone, the name for good.
		wantStatus(t, p.call("trole", http.MethodDelete, "/api/v1/rooms/pub", nil), http.StatusNoContent, "")
		wantError(t, p.call("trole", http.MethodGet, "/api/v1/rooms/pub", nil), http.StatusNotFound, chat.CodeRoomNotFound)
		wantError(t, p.call("root", http.MethodGet, "/api/v1/rooms/pub/messages", nil), http.StatusNotFound, chat.CodeRoomNotFound)
		wantError(t, p.call("member", http.MethodPost, "/api/v1/rooms", map[string]string{"name": "pub", "kind": "public"}), http.StatusConflict, chat.CodeRoomExists)
		if got := rec.take(); got[len(got)-1] != "deleted pub" {
			t.Fatalf("notified %q", got)
		}
	})
}
