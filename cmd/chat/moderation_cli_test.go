package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chatsvc/chat/client"
	"github.com/chatsvc/chat/internal/servertest"
)

// seqOf returns the seq /history printed for the line "[room] #SEQ rest".
func seqOf(t testing.TB, printed, room, rest string) int64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^\[` + regexp.QuoteMeta(room) + `\] #(\d+) ` + regexp.QuoteMeta(rest) + `$`)
	m := re.FindStringSubmatch(printed)
	if m == nil {
		t.Fatalf("no line [%s] #SEQ %s in:\n%s", room, rest, printed)
	}
	seq, _ := strconv.ParseInt(m[1], 10, 64)
	return seq
}

// stored returns the message of room at seq over REST.
func stored(t testing.TB, api *client.Client, room string, seq int64) client.Message {
	t.Helper()
	page, err := api.Messages(context.Background(), room, 0, client.MaxMessagesPage)
	if err != nil {
		t.Fatalf("history of #%s: %v", room, err)
	}
	for _, m := range page.Messages {
		if m.Seq == seq {
			return m
		}
	}
	t.Fatalf("#%s has no message at seq %d", room, seq)
	return client.Message{}
}

// texts returns the texts of room's stored messages over REST.
func texts(t testing.TB, api *client.Client, room string) []string {
	t.Helper()
	page, err := api.Messages(context.Background(), room, 0, client.MaxMessagesPage)
	if err != nil {
		t.Fatalf("history of #%s: %v", room, err)
	}
	var out []string
	for _, m := range page.Messages {
		out = append(out, m.Text)
	}
	return out
}

// TestModerationCommands runs the moderation commands of the line-mode
// client against a real server: mute and unmute, deletions by the author
// and by the owner, a kick from a private room and a ban from a public
// one, each checked where the users see it and over REST.
func TestModerationCommands(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, srv *servertest.Server) {
		ctx := context.Background()
		alice, bob, carol := newAccount(t, srv.URL, "alice"), newAccount(t, srv.URL, "bob"), newAccount(t, srv.URL, "carol")
		aliceAPI, carolAPI := restAPI(t, srv.URL, alice), restAPI(t, srv.URL, carol)
		a, b, c := startChat(t, alice), startChat(t, bob), startChat(t, carol)
		for _, x := range []*cli{a, b, c} {
			x.waitErr(t, "joined #general", stepWait)
		}
		a.do(t, "/create ops private", "joined #ops")
		a.do(t, "/invite bob", "invite: done")
		a.do(t, "/invite carol", "invite: done")
		b.do(t, "/join ops", "joined #ops")
		c.do(t, "/join ops", "joined #ops")
		a.waitOut(t, "[ops] * carol joined\n", stepWait)

		// /mute USER DURATION REASON: the muted user's line is refused with
		// the reason said, and is not stored; /unmute lifts it.
		mb := b.mark()
		a.do(t, "/mute bob 10m flooding", "mute: done")
		b.waitOutSince(t, mb, "[ops] * bob was muted by alice until ")
		b.waitOutSince(t, mb, " (flooding)\n")
		if got := a.show(t, "/members"); !strings.Contains(got, "\n  bob member muted until ") {
			t.Errorf("alice's /members printed:\n%s\nwant bob muted", got)
		}
		b.do(t, "quiet please", "not done: #ops: quiet please: ")
		if s := b.errSince(mb); !strings.Contains(s, "you are muted") || !strings.Contains(s, "(muted)") {
			t.Errorf("bob's refused line: stderr\n%s\nwant it to say he is muted", s)
		}
		if slices.Contains(texts(t, aliceAPI, "ops"), "quiet please") {
			t.Error("a muted user's line was stored")
		}
		mb = b.mark()
		a.do(t, "/unmute bob", "unmute: done")
		b.waitOutSince(t, mb, "[ops] * bob was unmuted by alice\n")
		if got := a.show(t, "/members"); strings.Contains(got, "muted") {
			t.Errorf("alice's /members after /unmute printed:\n%s", got)
		}
		ma := a.mark()
		b.doOut(t, "thanks", "[ops] bob: thanks\n")
		a.waitOutSince(t, ma, "[ops] bob: thanks\n")

		// /delete last by the author.
		seq := seqOf(t, b.show(t, "/history 1"), "ops", "bob: thanks")
		ma = a.mark()
		b.doOut(t, "/delete last", fmt.Sprintf("[ops] * message #%d deleted by bob\n", seq))
		a.waitOutSince(t, ma, fmt.Sprintf("[ops] * message #%d deleted by bob\n", seq))
		if m := stored(t, aliceAPI, "ops", seq); !m.Deleted || m.Text != "" {
			t.Errorf("bob's deleted message over REST: %+v", m)
		}

		// A member may not delete the owner's message; the owner deletes a
		// member's, found by its seq in /history.
		a.doOut(t, "the plan stands", "[ops] alice: the plan stands\n")
		seq = seqOf(t, b.show(t, "/history 1"), "ops", "alice: the plan stands")
		b.do(t, fmt.Sprintf("/delete %d", seq), fmt.Sprintf("not done: deletion of #ops %d: ", seq))
		if s := b.errOut.String(); !strings.Contains(s, "(forbidden)") {
			t.Errorf("bob deleting alice's message: stderr\n%s\nwant forbidden", s)
		}
		if m := stored(t, aliceAPI, "ops", seq); m.Deleted {
			t.Error("a member deleted the owner's message")
		}
		b.doOut(t, "buy cheap pills", "[ops] bob: buy cheap pills\n")
		seq = seqOf(t, a.show(t, "/history 1"), "ops", "bob: buy cheap pills")
		mb = b.mark()
		a.doOut(t, fmt.Sprintf("/delete %d", seq), fmt.Sprintf("[ops] * message #%d deleted by alice\n", seq))
		b.waitOutSince(t, mb, fmt.Sprintf("[ops] * message #%d deleted by alice\n", seq))
		if m := stored(t, aliceAPI, "ops", seq); !m.Deleted {
			t.Errorf("the owner's deletion of bob's message over REST: %+v", m)
		}
		wantLines(t, "alice's /history 1 after the deletion", a.show(t, "/history 1"), fmt.Sprintf("[ops] #%d bob: (deleted)", seq))

		// /kick USER REASON: the kicked user's client says so, refuses what
		// he types next, and cannot join the private room again.
		mb = b.mark()
		a.do(t, "/kick bob off topic", "kick: done")
		b.waitOutSince(t, mb, "[ops] * bob was kicked by alice (off topic)\n")
		b.waitErrSince(t, mb, "you were kicked from #ops; lines are not sent until you /join a room")
		b.do(t, "am I still here?", "not sent: not in a room")
		b.do(t, "/join ops", "cannot join #ops: ")
		if s := b.errSince(mb); !strings.Contains(s, "(room_not_found)") {
			t.Errorf("bob joining #ops after the kick: stderr\n%s\nwant room_not_found", s)
		}
		if got, want := memberRoles(t, aliceAPI, "ops"), []string{"alice owner member", "carol member member"}; !slices.Equal(got, want) {
			t.Errorf("members after the kick: %q, want %q", got, want)
		}
		for _, room := range []string{"ops", "general"} {
			if slices.Contains(texts(t, aliceAPI, room), "am I still here?") {
				t.Errorf("the line bob typed after the kick was stored in #%s", room)
			}
		}

		// /ban and /unban in a public room.
		a.do(t, "/create lobby", "joined #lobby")
		c.do(t, "/join lobby", "joined #lobby")
		mc := c.mark()
		a.do(t, "/ban carol spam", "ban: done")
		c.waitOutSince(t, mc, "[lobby] * carol was banned by alice (spam)\n")
		c.waitErrSince(t, mc, "you were banned from #lobby; lines are not sent until you /join a room")
		wantLines(t, "alice's /members after the ban", a.show(t, "/members"), "  carol member (banned)")
		if _, err := carolAPI.Messages(ctx, "lobby", 0, 10); !errors.Is(err, client.CodeForbidden) {
			t.Errorf("carol reads #lobby while banned: %v, want forbidden", err)
		}
		c.do(t, "/join lobby", "cannot join #lobby: ")
		if s := c.errSince(mc); !strings.Contains(s, "(forbidden)") {
			t.Errorf("carol joining #lobby while banned: stderr\n%s\nwant forbidden", s)
		}
		ma = a.mark()
		a.do(t, "/unban carol", "unban: done")
		a.waitOutSince(t, ma, "[lobby] * carol was unbanned by alice\n")
		if got, want := memberRoles(t, aliceAPI, "lobby"), []string{"alice owner member"}; !slices.Equal(got, want) {
			t.Errorf("members after the unban: %q, want %q", got, want)
		}
		c.do(t, "/join lobby", "joined #lobby")
		ma = a.mark()
		c.doOut(t, "back again", "[lobby] carol: back again\n")
		a.waitOutSince(t, ma, "[lobby] carol: back again\n")
	})
}
