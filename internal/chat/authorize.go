package chat

import (
	"fmt"
	"time"
)

// Action is something a user may try in a room.
type Action int

// Actions checked by Authorize.
const (
	// ActView reads the room itself (GET /api/v1/rooms/{room}); an invited
	// user may.
	ActView Action = iota + 1
	// ActRead reads history, members or search results.
	ActRead
	ActJoin
	ActSend
	ActTyping
	// ActEdit edits a message; the target is its author.
	ActEdit
	// ActDeleteMessage deletes a message; the target is its author.
	ActDeleteMessage
	// ActMarkRead moves the read marker.
	ActMarkRead
	ActInvite
	ActKick
	ActBan
	ActUnban
	ActMute
	ActUnmute
	// ActRole sets the target's role to Target.Role.
	ActRole
	ActLeave
	ActTopic
	ActDeleteRoom
	// ActSeeBanned lists banned users among the members.
	ActSeeBanned
)

var actionNames = [...]string{
	ActView: "view", ActRead: "read", ActJoin: "join", ActSend: "send", ActTyping: "typing",
	ActEdit: "edit", ActDeleteMessage: "delete_message", ActMarkRead: "mark_read",
	ActInvite: "invite", ActKick: "kick", ActBan: "ban", ActUnban: "unban", ActMute: "mute",
	ActUnmute: "unmute", ActRole: "role", ActLeave: "leave", ActTopic: "topic",
	ActDeleteRoom: "delete_room", ActSeeBanned: "see_banned",
}

// String returns the action's snake_case name.
func (a Action) String() string {
	if a > 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// ModerationActions maps the {action} of POST /api/v1/rooms/{room}/{action}
// to its Action.
var ModerationActions = map[string]Action{
	"invite": ActInvite, "kick": ActKick, "ban": ActBan, "unban": ActUnban,
	"mute": ActMute, "unmute": ActUnmute, "role": ActRole, "leave": ActLeave,
}

// Actor is the user who asks: their id, whether they are a server admin
// (CHAT_ADMINS), and their membership of the room (the zero Member when
// they have none).
type Actor struct {
	UserID      string
	ServerAdmin bool
	Member      Member
}

// Target is the user an action applies to: for moderation the user acted
// on, for ActEdit and ActDeleteMessage the message's author. Member is their
// membership (zero when none); Role is the role ActRole asks for.
type Target struct {
	UserID      string
	ServerAdmin bool
	Member      Member
	Role        string
}

// rank is the actor's rank in the room: a server admin above everyone, a
// member by role, anyone else 0.
func (a Actor) rank() int {
	if a.ServerAdmin {
		return serverAdminRank
	}
	if a.Member.Joined() {
		return Rank(a.Member.Role)
	}
	return 0
}

// rank is the target's rank: a server admin above everyone, a member by
// role, and anyone else (a former member, an invited or banned user, a
// stranger) as a member.
func (t Target) rank() int {
	if t.ServerAdmin {
		return serverAdminRank
	}
	if t.Member.Joined() {
		return Rank(t.Member.Role)
	}
	return Rank(RoleMember)
}

// Visible reports whether the room exists for the actor at all: a live
// public room for everyone; a private one for its members, invited users
// and server admins; a direct one for its two members only.
func Visible(r Room, a Actor) bool {
	if !r.DeletedAt.IsZero() {
		return false
	}
	switch r.Kind {
	case KindPrivate:
		return a.ServerAdmin || a.Member.State == StateMember || a.Member.State == StateInvited
	case KindDirect:
		return a.Member.State == StateMember
	}
	return true
}

// Authorize reports whether actor may take action in room r (on target,
// for the actions that have one) at now. It returns nil, or the error the
// contract gives: ErrRoomNotFound for a room the actor may not see (never
// ErrForbidden, so private rooms do not leak), ErrForbidden, ErrMuted,
// ErrNotMember for moderation of a user who is not a member, or
// ErrOwnerMustTransfer. It checks rights only; whether the target user and
// message exist is the caller's business.
func Authorize(r Room, actor Actor, action Action, target Target, now time.Time) error {
	if !Visible(r, actor) {
		return ErrRoomNotFound
	}
	banned := actor.Member.State == StateBanned && !actor.ServerAdmin
	joined := actor.Member.Joined()
	switch action {
	case ActView, ActJoin:
		if banned {
			return ErrForbidden
		}
		return nil
	case ActRead:
		if banned || r.Kind != KindPublic && !joined && !actor.ServerAdmin {
			return ErrForbidden
		}
		return nil
	case ActSend, ActTyping, ActEdit:
		if !joined {
			return ErrForbidden
		}
		if action == ActEdit && target.UserID != actor.UserID {
			return ErrForbidden
		}
		if actor.Member.Muted(now) {
			return ErrMuted
		}
		return nil
	case ActMarkRead:
		if !joined {
			return ErrForbidden
		}
		return nil
	case ActDeleteMessage:
		if joined && target.UserID == actor.UserID {
			return nil
		}
		return moderate(r, actor, target)
	case ActLeave:
		return leave(r, actor)
	case ActInvite:
		if r.Kind != KindPrivate || actor.rank() < Rank(RoleAdmin) || target.Member.State == StateBanned {
			return ErrForbidden
		}
		return nil
	case ActKick, ActMute, ActUnmute:
		if err := moderate(r, actor, target); err != nil {
			return err
		}
		if !target.Member.Joined() && !(action == ActKick && target.Member.State == StateInvited) {
			return ErrNotMember
		}
		return nil
	case ActBan, ActUnban:
		return moderate(r, actor, target)
	case ActRole:
		return role(r, actor, target)
	case ActTopic, ActSeeBanned:
		if r.Kind == KindDirect || actor.rank() < Rank(RoleAdmin) {
			return ErrForbidden
		}
		return nil
	case ActDeleteRoom:
		if r.Name == DefaultRoom || r.Kind == KindDirect {
			return ErrForbidden
		}
		if actor.ServerAdmin || joined && actor.Member.Role == RoleOwner {
			return nil
		}
		return ErrForbidden
	}
	return ErrForbidden
}

// moderate checks an action that needs admin or over and a rank over the
// target's, which is never possible in a direct room nor on oneself.
func moderate(r Room, actor Actor, target Target) error {
	if r.Kind == KindDirect || target.UserID == actor.UserID {
		return ErrForbidden
	}
	if actor.rank() < Rank(RoleAdmin) || actor.rank() <= target.rank() {
		return ErrForbidden
	}
	return nil
}

// leave checks a REST leave: any member or invited user; an owner only when
// no other member is left.
func leave(r Room, actor Actor) error {
	switch actor.Member.State {
	case StateMember:
		if actor.Member.Role == RoleOwner && r.MemberCount > 1 {
			return ErrOwnerMustTransfer
		}
		return nil
	case StateInvited:
		return nil
	}
	return Errorf(CodeInvalidRequest, "you are not a member of this room")
}

// role checks a role change: the owner or a server admin, on a member other
// than themselves, to admin, member or owner. The owner's own role changes
// only by handing the room over.
func role(r Room, actor Actor, target Target) error {
	if r.Kind == KindDirect || target.UserID == actor.UserID {
		return ErrForbidden
	}
	if !actor.ServerAdmin && !(actor.Member.Joined() && actor.Member.Role == RoleOwner) {
		return ErrForbidden
	}
	if actor.rank() <= target.rank() {
		return ErrForbidden
	}
	if !target.Member.Joined() {
		return ErrNotMember
	}
	if target.Member.Role == RoleOwner {
		return ErrForbidden
	}
	switch target.Role {
	case RoleOwner, RoleAdmin, RoleMember:
		return nil
	}
	return Errorf(CodeInvalidRequest, "role must be owner, admin or member")
}
