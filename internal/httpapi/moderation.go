package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/chatsvc/chat/internal/chat"
)

// moderationChange is the member event each moderation action stores.
var moderationChange = map[chat.Action]string{
	chat.ActInvite: chat.ChangeInvited, chat.ActKick: chat.ChangeKicked, chat.ActBan: chat.ChangeBanned,
	chat.ActUnban: chat.ChangeUnbanned, chat.ActMute: chat.ChangeMuted, chat.ActUnmute: chat.ChangeUnmuted,
	chat.ActRole: chat.ChangeRole, chat.ActLeave: chat.ChangeLeft,
}

// moderationRequest is the body of POST /api/v1/rooms/{room}/{action}.
type moderationRequest struct {
	Username string `json:"username"`
	Reason   string `json:"reason"`
	Duration string `json:"duration"`
	Role     string `json:"role"`
}

// check validates the fields the action needs, before anything is read.
func (r moderationRequest) check(action chat.Action) error {
	if err := chat.ValidateReason(r.Reason); err != nil {
		return err
	}
	if action != chat.ActLeave && r.Username == "" {
		return chat.Errorf(chat.CodeInvalidRequest, "username is required")
	}
	switch action {
	case chat.ActMute:
		_, err := chat.ParseMute(r.Duration)
		return err
	case chat.ActRole:
		return chat.ValidateRole(r.Role)
	}
	return nil
}

// handleModerate serves POST /api/v1/rooms/{room}/{action} for one action.
func (s *server) handleModerate(action chat.Action) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req moderationRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if err := req.check(action); err != nil {
			return err
		}
		who := s.callerOf(c)
		ra, err := s.loadRoom(c, who)
		if err != nil {
			return err
		}
		if !chat.Visible(ra.room, ra.actor) {
			return chat.ErrRoomNotFound
		}
		if action == chat.ActLeave {
			return s.leave(c, ra, who, req)
		}
		return s.moderate(c, ra, who, action, req)
	}
}

// moderate carries out an action on another user.
func (s *server) moderate(c echo.Context, ra roomAccess, who caller, action chat.Action, req moderationRequest) error {
	ctx := c.Request().Context()
	target, err := s.userByName(ctx, req.Username)
	if err != nil {
		return err
	}
	tm, err := s.opt.Store.Membership(ctx, ra.room.Name, target.ID)
	if err != nil {
		return err
	}
	t := chat.Target{UserID: target.ID, ServerAdmin: s.admins[target.Username], Member: tm, Role: req.Role}
	if err := s.authorize(ra, action, t); err != nil {
		return err
	}
	ev := chat.NewMessage{Room: ra.room.Name, UserID: who.user.ID, Username: who.user.Username, Kind: chat.StreamMember,
		Member: target.ID, MemberName: target.Username, Change: moderationChange[action], Reason: req.Reason}
	switch action {
	case chat.ActMute:
		d, _ := chat.ParseMute(req.Duration)
		ev.Until = s.now().Add(d)
	case chat.ActRole:
		ev.Role = req.Role
	}
	stored, _, err := s.append(ctx, ev)
	if err != nil {
		return err
	}
	s.count(action.String())
	if stored.Seq > 0 {
		s.notify.Event(ctx, stored)
		if action == chat.ActInvite {
			s.notify.Invited(ctx, ra.room.Name, target.ID, who.user.Username)
		}
	}
	return c.NoContent(http.StatusNoContent)
}

// leave ends the caller's membership. In a direct room it only hides the
// room from the caller's list: no event, no left frame.
func (s *server) leave(c echo.Context, ra roomAccess, who caller, req moderationRequest) error {
	if err := s.authorize(ra, chat.ActLeave, chat.Target{}); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if ra.room.Kind == chat.KindDirect {
		if err := s.opt.Store.HideDirect(ctx, ra.room.Name, who.user.ID); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
	stored, _, err := s.append(ctx, chat.NewMessage{Room: ra.room.Name, UserID: who.user.ID,
		Username: who.user.Username, Kind: chat.StreamMember, Member: who.user.ID, MemberName: who.user.Username,
		Change: chat.ChangeLeft, Reason: req.Reason})
	if err != nil {
		return err
	}
	if stored.Seq > 0 {
		s.notify.Event(ctx, stored)
	}
	return c.NoContent(http.StatusNoContent)
}
