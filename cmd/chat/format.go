package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/chatsvc/chat/client"
)

// tag is the room part of a line, "[general]", or "[@bob]" for a direct
// room: label is the room's roomLabel.
func tag(label string) string { return "[" + strings.TrimPrefix(label, "#") + "]" }

// messageLine describes a message as "[room] user: text".
func messageLine(label string, m *client.Message) string {
	return fmt.Sprintf("%s %s: %s", tag(label), m.From, messageText(m))
}

// storedLine describes a message that /history or /search found as
// "[room] #seq user: text": the seq is what /edit and /delete take, and
// what edit and delete lines name.
func storedLine(label string, m *client.Message) string {
	return fmt.Sprintf("%s #%d %s: %s", tag(label), m.Seq, m.From, messageText(m))
}

// messageText is a message's text as shown, with its state.
func messageText(m *client.Message) string {
	text := printable(m.Text)
	switch {
	case m.Deleted:
		text = "(deleted)"
	case m.EditedAt != nil:
		text += " (edited)"
	}
	return text
}

// eventLine describes a stream event other than a message as
// "[room] …", "" for none.
func eventLine(label string, ev client.Event) string {
	if s := eventText(ev); s != "" {
		return tag(label) + " " + s
	}
	return ""
}

// eventText describes a stream event other than a message without its
// room, "" for none; a change of the room or its members starts with "* ".
func eventText(ev client.Event) string {
	switch e := ev.(type) {
	case *client.Edit:
		return fmt.Sprintf("%s edited #%d: %s", e.From, e.Target, printable(e.Text))
	case *client.Delete:
		return fmt.Sprintf("* message #%d deleted by %s", e.Target, e.By)
	case *client.MemberEvent:
		return "* " + memberChange(e)
	case *client.RoomEvent:
		if e.Topic == "" {
			return fmt.Sprintf("* %s cleared the topic", e.By)
		}
		return fmt.Sprintf("* %s set the topic: %s", e.By, printable(e.Topic))
	}
	return ""
}

// memberChange describes a membership change in words.
func memberChange(e *client.MemberEvent) string {
	by := ""
	if e.By != nil && *e.By != e.User {
		by = " by " + *e.By
	}
	var s string
	switch e.Change {
	case client.ChangeInvited:
		s = e.User + " was invited" + by
	case client.ChangeJoined:
		s = e.User + " joined"
	case client.ChangeLeft:
		s = e.User + " left"
	case client.ChangeKicked, client.ChangeBanned, client.ChangeUnbanned, client.ChangeUnmuted:
		s = e.User + " was " + e.Change + by
	case client.ChangeMuted:
		s = e.User + " was muted" + by
		if e.Until != nil {
			s += " until " + *e.Until
		}
	case client.ChangeRole:
		role := "?"
		if e.Role != nil {
			role = *e.Role
		}
		s = e.User + " is now " + role + by
	default:
		s = e.User + ": " + e.Change + by
	}
	if e.Reason != nil && *e.Reason != "" {
		s += " (" + printable(*e.Reason) + ")"
	}
	return s
}

// leftLine describes being taken out of a room; label is its roomLabel.
func leftLine(label string, e *client.Left) string {
	switch e.Reason {
	case "kicked", "banned":
		return fmt.Sprintf("you were %s from %s", e.Reason, label)
	case "room_deleted":
		return fmt.Sprintf("%s was deleted", label)
	case "left":
		return fmt.Sprintf("you left %s", label)
	}
	return ""
}

// errorText describes an error frame of the server, naming its room (when
// it has one) by its roomLabel.
func errorText(label string, e *client.FrameError) string {
	if e.Room == "" {
		return fmt.Sprintf("%s (%s)", e.Message, e.Code)
	}
	return fmt.Sprintf("%s: %s (%s)", label, e.Message, e.Code)
}

// resultNote describes a send, edit or delete that did not succeed: "not
// done" when it failed, "not confirmed" when the server may have stored it
// (client.ErrOutcomeUnknown). Its what names it, room included, so the
// error is told without its room.
func resultNote(d sendDone) string {
	err := d.res.Err
	var fe *client.FrameError
	why := err.Error()
	switch {
	case errors.As(err, &fe):
		why = fmt.Sprintf("%s (%s)", fe.Message, fe.Code)
	case errors.Is(err, client.ErrClosed):
		// It names no room.
	case errors.Is(err, client.ErrOutcomeUnknown):
		why = client.ErrOutcomeUnknown.Error()
	case errors.Is(err, client.ErrNotInRoom):
		why = client.ErrNotInRoom.Error()
	}
	if errors.Is(err, client.ErrOutcomeUnknown) {
		return fmt.Sprintf("not confirmed: %s: %s", d.what, why)
	}
	return fmt.Sprintf("not done: %s: %s", d.what, why)
}

// stateLine describes a change of the connection.
func stateLine(e *client.StateChange, serverURL string, everConnected bool) string {
	switch e.State {
	case client.Connected:
		if everConnected {
			return "reconnected"
		}
		return fmt.Sprintf("connected to %s as %s", serverURL, e.User)
	case client.Disconnected:
		if e.Err != nil {
			return fmt.Sprintf("%v; retrying in %s", e.Err, e.Retry.Round(1e6))
		}
		return fmt.Sprintf("disconnected: %s (%d); reconnecting in %s", e.Reason, e.Code, e.Retry.Round(1e6))
	}
	return ""
}

// explainAPI turns the REST errors a person meets most into plain advice.
func explainAPI(err error) error {
	ae, ok := asAPIError(err)
	if !ok {
		return err
	}
	switch ae.Code {
	case client.CodeInvalidCredentials:
		return fmt.Errorf("wrong user name or password")
	case client.CodeUsernameTaken:
		return fmt.Errorf("that user name is taken")
	case client.CodeRegistrationClosed:
		return fmt.Errorf("registration is closed on this server")
	case client.CodeTooManyAttempts:
		if ae.RetryAfter > 0 {
			return fmt.Errorf("too many attempts: try again in %s", ae.RetryAfter)
		}
		return fmt.Errorf("too many attempts: try again later")
	case client.CodeNotFound:
		return fmt.Errorf("this server does not offer that (it may predate rooms v2)")
	}
	if ae.Message != "" {
		return fmt.Errorf("%s (%s)", strings.TrimSuffix(ae.Message, "."), ae.Code)
	}
	return err
}
