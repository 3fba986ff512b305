package chat

import (
	"testing"
	"time"
)

// The people of the authorization tests, by their membership of the room.
var (
	authNow     = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	asOwner     = Actor{UserID: "o", Member: Member{Role: RoleOwner, State: StateMember}}
	asAdmin     = Actor{UserID: "a", Member: Member{Role: RoleAdmin, State: StateMember}}
	asAdmin2    = Actor{UserID: "a2", Member: Member{Role: RoleAdmin, State: StateMember}}
	asMember    = Actor{UserID: "m", Member: Member{Role: RoleMember, State: StateMember}}
	asMuted     = Actor{UserID: "mu", Member: Member{Role: RoleMember, State: StateMember, MutedUntil: authNow.Add(time.Minute)}}
	asUnmuted   = Actor{UserID: "mx", Member: Member{Role: RoleMember, State: StateMember, MutedUntil: authNow.Add(-time.Minute)}}
	asInvited   = Actor{UserID: "i", Member: Member{Role: RoleMember, State: StateInvited}}
	asBanned    = Actor{UserID: "b", Member: Member{Role: RoleMember, State: StateBanned}}
	asStranger  = Actor{UserID: "s"}
	asSrvAdmin  = Actor{UserID: "sa", ServerAdmin: true}
	asSrvAdmin2 = Actor{UserID: "sb", ServerAdmin: true}
)

// target returns the Target of the user an Actor describes.
func target(a Actor) Target {
	return Target{UserID: a.UserID, ServerAdmin: a.ServerAdmin, Member: a.Member}
}

func TestAuthorize(t *testing.T) {
	pub := Room{Name: "pub", Kind: KindPublic, OwnerID: "o", MemberCount: 5}
	priv := Room{Name: "priv", Kind: KindPrivate, OwnerID: "o", MemberCount: 5}
	dm := Room{Name: "dm-x", Kind: KindDirect, MemberCount: 2}
	gen := Room{Name: DefaultRoom, Kind: KindPublic, MemberCount: 3}
	gone := Room{Name: "gone", Kind: KindPublic, DeletedAt: authNow}
	alone := Room{Name: "alone", Kind: KindPrivate, OwnerID: "o", MemberCount: 1}
	none := Target{}
	tests := []struct {
		name   string
		room   Room
		actor  Actor
		action Action
		target Target
		want   string // "" allowed, else the error code
	}{
		// Seeing and reading.
		{"public view stranger", pub, asStranger, ActView, none, ""},
		{"public read stranger", pub, asStranger, ActRead, none, ""},
		{"public join stranger", pub, asStranger, ActJoin, none, ""},
		{"public view banned", pub, asBanned, ActView, none, CodeForbidden},
		{"public read banned", pub, asBanned, ActRead, none, CodeForbidden},
		{"public join banned", pub, asBanned, ActJoin, none, CodeForbidden},
		{"private view stranger", priv, asStranger, ActView, none, CodeRoomNotFound},
		{"private read stranger", priv, asStranger, ActRead, none, CodeRoomNotFound},
		{"private join stranger", priv, asStranger, ActJoin, none, CodeRoomNotFound},
		{"private read banned", priv, asBanned, ActRead, none, CodeRoomNotFound},
		{"private view invited", priv, asInvited, ActView, none, ""},
		{"private join invited", priv, asInvited, ActJoin, none, ""},
		{"private read invited", priv, asInvited, ActRead, none, CodeForbidden},
		{"private read member", priv, asMember, ActRead, none, ""},
		{"private read server admin", priv, asSrvAdmin, ActRead, none, ""},
		{"private join server admin", priv, asSrvAdmin, ActJoin, none, ""},
		{"direct read member", dm, asMember, ActRead, none, ""},
		{"direct read stranger", dm, asStranger, ActRead, none, CodeRoomNotFound},
		{"direct read server admin", dm, asSrvAdmin, ActRead, none, CodeRoomNotFound},
		{"direct join stranger", dm, asStranger, ActJoin, none, CodeRoomNotFound},
		{"deleted view member", gone, asOwner, ActView, none, CodeRoomNotFound},
		{"deleted read server admin", gone, asSrvAdmin, ActRead, none, CodeRoomNotFound},

		// Talking.
		{"send member", pub, asMember, ActSend, none, ""},
		{"send stranger", pub, asStranger, ActSend, none, CodeForbidden},
		{"send invited", priv, asInvited, ActSend, none, CodeForbidden},
		{"send muted", pub, asMuted, ActSend, none, CodeMuted},
		{"send mute over", pub, asUnmuted, ActSend, none, ""},
		{"typing muted", pub, asMuted, ActTyping, none, CodeMuted},
		{"typing member", dm, asMember, ActTyping, none, ""},
		{"send private stranger", priv, asStranger, ActSend, none, CodeRoomNotFound},
		{"mark read member", pub, asMember, ActMarkRead, none, ""},
		{"mark read muted", pub, asMuted, ActMarkRead, none, ""},
		{"mark read stranger", pub, asStranger, ActMarkRead, none, CodeForbidden},

		// Editing and deleting messages; the target is the author.
		{"edit own", pub, asMember, ActEdit, target(asMember), ""},
		{"edit other's", pub, asOwner, ActEdit, target(asMember), CodeForbidden},
		{"edit own muted", pub, asMuted, ActEdit, target(asMuted), CodeMuted},
		{"edit own stranger", pub, asStranger, ActEdit, target(asStranger), CodeForbidden},
		{"delete own", pub, asMember, ActDeleteMessage, target(asMember), ""},
		{"delete own muted", pub, asMuted, ActDeleteMessage, target(asMuted), ""},
		{"delete member's as admin", pub, asAdmin, ActDeleteMessage, target(asMember), ""},
		{"delete former member's as admin", pub, asAdmin, ActDeleteMessage, target(asStranger), ""},
		{"delete banned's as admin", pub, asAdmin, ActDeleteMessage, target(asBanned), ""},
		{"delete admin's as admin", pub, asAdmin, ActDeleteMessage, target(asAdmin2), CodeForbidden},
		{"delete owner's as admin", pub, asAdmin, ActDeleteMessage, target(asOwner), CodeForbidden},
		{"delete admin's as owner", pub, asOwner, ActDeleteMessage, target(asAdmin), ""},
		{"delete owner's as server admin", pub, asSrvAdmin, ActDeleteMessage, target(asOwner), ""},
		{"delete server admin's as owner", pub, asOwner, ActDeleteMessage, target(asSrvAdmin), CodeForbidden},
		{"delete other's as member", pub, asMember, ActDeleteMessage, target(asMuted), CodeForbidden},
		{"delete other's in direct", dm, asMember, ActDeleteMessage, target(asMuted), CodeForbidden},

		// Invitations.
		{"invite private admin", priv, asAdmin, ActInvite, target(asStranger), ""},
		{"invite private owner", priv, asOwner, ActInvite, target(asStranger), ""},
		{"invite private server admin", priv, asSrvAdmin, ActInvite, target(asStranger), ""},
		{"invite private member", priv, asMember, ActInvite, target(asStranger), CodeForbidden},
		{"invite private banned user", priv, asOwner, ActInvite, target(asBanned), CodeForbidden},
		{"invite private again", priv, asOwner, ActInvite, target(asInvited), ""},
		{"invite public", pub, asOwner, ActInvite, target(asStranger), CodeForbidden},
		{"invite direct", dm, asMember, ActInvite, target(asStranger), CodeForbidden},
		{"invite private stranger", priv, asStranger, ActInvite, target(asStranger), CodeRoomNotFound},

		// Kick, ban, mute: admin or over, over the target.
		{"kick member as admin", pub, asAdmin, ActKick, target(asMember), ""},
		{"kick invited as admin", priv, asAdmin, ActKick, target(asInvited), ""},
		{"kick admin as admin", pub, asAdmin, ActKick, target(asAdmin2), CodeForbidden},
		{"kick owner as admin", pub, asAdmin, ActKick, target(asOwner), CodeForbidden},
		{"kick admin as owner", pub, asOwner, ActKick, target(asAdmin), ""},
		{"kick owner as server admin", pub, asSrvAdmin, ActKick, target(asOwner), ""},
		{"kick server admin as server admin", pub, asSrvAdmin, ActKick, target(asSrvAdmin2), CodeForbidden},
		{"kick self", pub, asOwner, ActKick, target(asOwner), CodeForbidden},
		{"kick member as member", pub, asMember, ActKick, target(asMuted), CodeForbidden},
		{"kick stranger as admin", pub, asAdmin, ActKick, target(asStranger), CodeUserNotFound},
		{"kick in direct", dm, asMember, ActKick, target(asMuted), CodeForbidden},
		{"kick private as banned", priv, asBanned, ActKick, target(asMember), CodeRoomNotFound},
		{"ban member as admin", pub, asAdmin, ActBan, target(asMember), ""},
		{"ban stranger as admin", pub, asAdmin, ActBan, target(asStranger), ""},
		{"ban admin as admin", pub, asAdmin, ActBan, target(asAdmin2), CodeForbidden},
		{"ban member as member", pub, asMember, ActBan, target(asMuted), CodeForbidden},
		{"ban in direct", dm, asMember, ActBan, target(asMuted), CodeForbidden},
		{"unban as admin", pub, asAdmin, ActUnban, target(asBanned), ""},
		{"unban as member", pub, asMember, ActUnban, target(asBanned), CodeForbidden},
		{"unban as banned", pub, asBanned, ActUnban, target(asBanned), CodeForbidden},
		{"mute member as admin", pub, asAdmin, ActMute, target(asMember), ""},
		{"mute admin as owner", priv, asOwner, ActMute, target(asAdmin), ""},
		{"mute owner as admin", pub, asAdmin, ActMute, target(asOwner), CodeForbidden},
		{"mute stranger as admin", pub, asAdmin, ActMute, target(asStranger), CodeUserNotFound},
		{"mute invited as admin", priv, asAdmin, ActMute, target(asInvited), CodeUserNotFound},
		{"mute in direct", dm, asMember, ActMute, target(asMuted), CodeForbidden},
		{"unmute as admin", pub, asAdmin, ActUnmute, target(asMuted), ""},
		{"unmute as member", pub, asMember, ActUnmute, target(asMuted), CodeForbidden},

		// Roles.
		{"role admin as owner", pub, asOwner, ActRole, Target{UserID: "m", Member: asMember.Member, Role: RoleAdmin}, ""},
		{"role owner as owner", pub, asOwner, ActRole, Target{UserID: "a", Member: asAdmin.Member, Role: RoleOwner}, ""},
		{"role member as owner", pub, asOwner, ActRole, Target{UserID: "a", Member: asAdmin.Member, Role: RoleMember}, ""},
		{"role as server admin", pub, asSrvAdmin, ActRole, Target{UserID: "m", Member: asMember.Member, Role: RoleOwner}, ""},
		{"role of owner as server admin", pub, asSrvAdmin, ActRole, Target{UserID: "o", Member: asOwner.Member, Role: RoleMember}, CodeForbidden},
		{"role as admin", pub, asAdmin, ActRole, Target{UserID: "m", Member: asMember.Member, Role: RoleAdmin}, CodeForbidden},
		{"role self as owner", pub, asOwner, ActRole, Target{UserID: "o", Member: asOwner.Member, Role: RoleAdmin}, CodeForbidden},
		{"role of stranger", pub, asOwner, ActRole, Target{UserID: "s", Role: RoleAdmin}, CodeUserNotFound},
		{"role unknown", pub, asOwner, ActRole, Target{UserID: "m", Member: asMember.Member, Role: "king"}, CodeInvalidRequest},
		{"role in direct", dm, asMember, ActRole, Target{UserID: "mu", Member: asMuted.Member, Role: RoleAdmin}, CodeForbidden},

		// Leaving.
		{"leave member", pub, asMember, ActLeave, none, ""},
		{"leave muted", pub, asMuted, ActLeave, none, ""},
		{"leave invited", priv, asInvited, ActLeave, none, ""},
		{"leave owner with members", pub, asOwner, ActLeave, none, CodeOwnerMustTransfer},
		{"leave owner alone", alone, asOwner, ActLeave, none, ""},
		{"leave stranger", pub, asStranger, ActLeave, none, CodeInvalidRequest},
		{"leave private stranger", priv, asStranger, ActLeave, none, CodeRoomNotFound},
		{"leave direct", dm, asMember, ActLeave, none, ""},

		// Topic, deletion, banned members.
		{"topic admin", pub, asAdmin, ActTopic, none, ""},
		{"topic member", pub, asMember, ActTopic, none, CodeForbidden},
		{"topic server admin", gen, asSrvAdmin, ActTopic, none, ""},
		{"topic direct", dm, asMember, ActTopic, none, CodeForbidden},
		{"delete room owner", pub, asOwner, ActDeleteRoom, none, ""},
		{"delete room admin", pub, asAdmin, ActDeleteRoom, none, CodeForbidden},
		{"delete room server admin", priv, asSrvAdmin, ActDeleteRoom, none, ""},
		{"delete general server admin", gen, asSrvAdmin, ActDeleteRoom, none, CodeForbidden},
		{"delete direct member", dm, asMember, ActDeleteRoom, none, CodeForbidden},
		{"delete private stranger", priv, asStranger, ActDeleteRoom, none, CodeRoomNotFound},
		{"see banned admin", pub, asAdmin, ActSeeBanned, none, ""},
		{"see banned owner", priv, asOwner, ActSeeBanned, none, ""},
		{"see banned server admin", pub, asSrvAdmin, ActSeeBanned, none, ""},
		{"see banned member", pub, asMember, ActSeeBanned, none, CodeForbidden},
		{"unknown action", pub, asOwner, Action(999), none, CodeForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Authorize(tc.room, tc.actor, tc.action, tc.target, authNow)
			if got := ErrorCode(err); got != tc.want {
				t.Fatalf("Authorize(%s) = %v, want %q", tc.action, err, tc.want)
			}
		})
	}
}

func TestActionString(t *testing.T) {
	for name, a := range ModerationActions {
		if a.String() != name {
			t.Errorf("%v.String() = %q, want %q", a, a.String(), name)
		}
	}
	if got := Action(0).String(); got != "action(0)" {
		t.Errorf("Action(0) = %q", got)
	}
}
