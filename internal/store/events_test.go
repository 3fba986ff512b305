package store_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/chatsvc/chat/internal/store"
)

func edit(u chat.User, room string, target int64, text, ref string) chat.NewMessage {
	return chat.NewMessage{Room: room, UserID: u.ID, Username: u.Username, Kind: chat.StreamEdit, Target: target, Text: text, Ref: ref}
}

func del(u chat.User, room string, target int64, ref string) chat.NewMessage {
	return chat.NewMessage{Room: room, UserID: u.ID, Username: u.Username, Kind: chat.StreamDelete, Target: target, Ref: ref}
}

func member(by, who chat.User, room, change string) chat.NewMessage {
	return chat.NewMessage{Room: room, UserID: by.ID, Username: by.Username, Kind: chat.StreamMember,
		Member: who.ID, MemberName: who.Username, Change: change}
}

func mustEvent(t testing.TB, db *store.DB, m chat.NewMessage) chat.Message {
	t.Helper()
	msg, _, err := db.Append(testCtx(t), m)
	if err != nil {
		t.Fatalf("Append(%s %s): %v", m.Kind, m.Change, err)
	}
	return msg
}

func mustCreate(t testing.TB, db *store.DB, name, kind string, owner chat.User) chat.Room {
	t.Helper()
	r, err := db.CreateRoom(testCtx(t), name, kind, "", owner)
	if err != nil {
		t.Fatalf("CreateRoom(%s): %v", name, err)
	}
	return r
}

func TestEditAndDelete(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		alice, bob := mustUser(t, db, "alice"), mustUser(t, db, "bob")
		m1 := mustAppend(t, db, send(alice, "general", "one"))
		m2 := mustAppend(t, db, send(bob, "general", "two"))

		e := mustEvent(t, db, edit(alice, "general", 1, "one!", "e1"))
		if e.Seq != 3 || e.Kind != chat.StreamEdit || e.Target != 1 || e.Text != "one!" || e.ID != m1.ID {
			t.Fatalf("edit = %+v", e)
		}
		again, dup, err := db.Append(ctx, edit(alice, "general", 1, "one!", "e1"))
		if err != nil || !dup || again.Seq != 3 {
			t.Fatalf("edit again = %+v, %v, %v; want the first, dup", again, dup, err)
		}
		if _, _, err := db.Append(ctx, edit(alice, "general", 1, "other", "e1")); !errors.Is(err, chat.ErrRefConflict) {
			t.Fatalf("edit with reused ref: %v, want ref_conflict", err)
		}
		refused := []struct {
			name string
			m    chat.NewMessage
			want error
		}{
			{"another's message", edit(alice, "general", 2, "x", ""), chat.ErrForbidden},
			{"not a message", edit(alice, "general", 3, "x", ""), chat.ErrMessageNotFound},
			{"no such seq", edit(alice, "general", 99, "x", ""), chat.ErrMessageNotFound},
			{"delete no such seq", del(alice, "general", 99, ""), chat.ErrMessageNotFound},
			{"a member deletes another's", del(bob, "general", 1, ""), chat.ErrForbidden},
		}
		for _, tc := range refused {
			if _, _, err := db.Append(ctx, tc.m); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		// A server admin outranks the author.
		byAdmin := del(bob, "general", 1, "d1")
		byAdmin.ServerAdmin = func(name string) bool { return name == "bob" }
		d := mustEvent(t, db, byAdmin)
		if d.Seq != 4 || d.Kind != chat.StreamDelete || d.Target != 1 || d.FromID != bob.ID {
			t.Fatalf("delete = %+v", d)
		}
		if _, _, err := db.Append(ctx, edit(alice, "general", 1, "back", "")); !errors.Is(err, chat.ErrMessageNotFound) {
			t.Fatalf("edit of a deleted message: %v", err)
		}
		if _, _, err := db.Append(ctx, del(alice, "general", 1, "")); !errors.Is(err, chat.ErrMessageNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		m3 := mustAppend(t, db, send(alice, "general", "three"))
		if m3.Seq != 5 {
			t.Fatalf("message after events has seq %d, want 5", m3.Seq)
		}

		hist, _, err := db.History(ctx, "general", 0, 50)
		if err != nil {
			t.Fatal(err)
		}
		if got := seqs(hist); !slices.Equal(got, []int64{1, 2, 5}) {
			t.Fatalf("history seqs %v, want messages only", got)
		}
		if h := hist[0]; !h.Deleted || h.Text != "" || h.ID != m1.ID || !h.TS.Equal(m1.TS) || h.FromID != alice.ID || h.EditedAt.IsZero() {
			t.Fatalf("deleted message reads %+v", h)
		}
		if hist[1] != m2 {
			t.Fatalf("untouched message %+v, want %+v", hist[1], m2)
		}
		all, _, err := db.After(ctx, "general", 0, 0, 50)
		if err != nil {
			t.Fatal(err)
		}
		if got := seqs(all); !slices.Equal(got, seqRange(1, 5)) {
			t.Fatalf("replay seqs %v", got)
		}
		if all[2].Kind != chat.StreamEdit || all[2].Text != "" || all[2].Target != 1 {
			t.Fatalf("replayed edit of a deleted message %+v, want its text cleared", all[2])
		}
		if all[3].Kind != chat.StreamDelete || all[3].From != "bob" {
			t.Fatalf("replayed delete %+v", all[3])
		}
		r, _ := db.Room(ctx, "general")
		if r.LastSeq != 5 || r.MsgCount != 3 {
			t.Fatalf("room %+v, want last_seq 5, msg_count 3", r)
		}
	})
}

func TestEditKeepsTS(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		alice := mustUser(t, db, "alice")
		m := mustAppend(t, db, send(alice, "general", "typo"))
		time.Sleep(5 * time.Millisecond) // the edit's wall clock must differ
		e := mustEvent(t, db, edit(alice, "general", m.Seq, "fixed", ""))
		got, err := db.MessageBySeq(testCtx(t), "general", m.Seq)
		if err != nil || got.Text != "fixed" || !got.TS.Equal(m.TS) || !got.EditedAt.Equal(e.TS) {
			t.Fatalf("edited message %+v, %v; want text fixed, ts %v, edited_at %v", got, err, m.TS, e.TS)
		}
	})
}

func TestMemberEvents(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		owner, bob, carol := mustUser(t, db, "owner"), mustUser(t, db, "bob"), mustUser(t, db, "carol")
		mustCreate(t, db, "ops", chat.KindPrivate, owner)
		mustAppend(t, db, send(owner, "ops", "hello"))

		steps := []struct {
			m       chat.NewMessage
			seq     int64 // 0: nothing stored
			err     error
			state   string
			members int64
		}{
			{member(owner, bob, "ops", chat.ChangeInvited), 2, nil, chat.StateInvited, 1},
			{member(owner, bob, "ops", chat.ChangeInvited), 0, nil, chat.StateInvited, 1},
			{member(bob, bob, "ops", chat.ChangeJoined), 3, nil, chat.StateMember, 2},
			{member(owner, bob, "ops", chat.ChangeInvited), 0, nil, chat.StateMember, 2},
			{func() chat.NewMessage {
				m := member(owner, bob, "ops", chat.ChangeMuted)
				m.Until = time.Now().Add(time.Hour).Truncate(time.Millisecond)
				m.Reason = "calm down"
				return m
			}(), 4, nil, chat.StateMember, 2},
			{member(owner, bob, "ops", chat.ChangeUnmuted), 5, nil, chat.StateMember, 2},
			{member(owner, bob, "ops", chat.ChangeUnmuted), 0, nil, chat.StateMember, 2},
			{member(owner, bob, "ops", chat.ChangeBanned), 6, nil, chat.StateBanned, 1},
			{member(owner, bob, "ops", chat.ChangeInvited), 0, chat.ErrForbidden, chat.StateBanned, 1},
			{member(owner, bob, "ops", chat.ChangeMuted), 0, chat.ErrNotMember, chat.StateBanned, 1},
			{member(owner, bob, "ops", chat.ChangeUnbanned), 7, nil, "", 1},
			{member(owner, carol, "ops", chat.ChangeKicked), 0, chat.ErrNotMember, "", 1},
			{member(owner, carol, "ops", chat.ChangeInvited), 8, nil, chat.StateInvited, 1},
			{member(carol, carol, "ops", chat.ChangeJoined), 9, nil, chat.StateMember, 2},
			{member(owner, carol, "ops", chat.ChangeKicked), 10, nil, "", 1},
		}
		for i, st := range steps {
			got, _, err := db.Append(ctx, st.m)
			if !errors.Is(err, st.err) || got.Seq != st.seq {
				t.Fatalf("step %d (%s): seq %d, err %v; want seq %d, err %v", i, st.m.Change, got.Seq, err, st.seq, st.err)
			}
			mb, err := db.Membership(ctx, "ops", st.m.Member)
			if err != nil || mb.State != st.state {
				t.Fatalf("step %d (%s): state %q, %v; want %q", i, st.m.Change, mb.State, err, st.state)
			}
			if r, _ := db.Room(ctx, "ops"); r.MemberCount != st.members || st.seq > 0 && r.LastSeq != st.seq {
				t.Fatalf("step %d (%s): room %+v, want member_count %d", i, st.m.Change, r, st.members)
			}
		}
		evs, _, err := db.After(ctx, "ops", 3, 4, 10)
		if err != nil || len(evs) != 1 {
			t.Fatalf("After = %v, %v", evs, err)
		}
		if ev := evs[0]; ev.Kind != chat.StreamMember || ev.Change != chat.ChangeMuted || ev.User != "bob" || ev.UserID != bob.ID ||
			ev.From != "owner" || ev.Reason != "calm down" || ev.Until.IsZero() {
			t.Fatalf("stored mute %+v", ev)
		}
		// An unban ends the membership altogether.
		if mb, _ := db.Membership(ctx, "ops", bob.ID); mb.State != "" {
			t.Fatalf("bob %+v", mb)
		}
		hist, _, _ := db.History(ctx, "ops", 0, 10)
		if len(hist) != 1 {
			t.Fatalf("history holds %d items, want the one message", len(hist))
		}
	})
}

func TestRoleAndLeave(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		owner, bob := mustUser(t, db, "owner"), mustUser(t, db, "bob")
		mustCreate(t, db, "pub", chat.KindPublic, owner)
		if _, err := db.JoinRoom(ctx, "pub", bob, false, nil); err != nil {
			t.Fatal(err)
		}
		m := member(owner, bob, "pub", chat.ChangeRole)
		m.Role = chat.RoleOwner
		mustEvent(t, db, m)
		r, _ := db.Room(ctx, "pub")
		ob, _ := db.Membership(ctx, "pub", owner.ID)
		bb, _ := db.Membership(ctx, "pub", bob.ID)
		if r.OwnerID != bob.ID || r.Owner != "bob" || ob.Role != chat.RoleAdmin || bb.Role != chat.RoleOwner {
			t.Fatalf("after hand-over: room owner %q, old owner %s, new owner %s", r.Owner, ob.Role, bb.Role)
		}
		mustEvent(t, db, member(owner, owner, "pub", chat.ChangeLeft))
		mustEvent(t, db, member(bob, bob, "pub", chat.ChangeLeft))
		r, _ = db.Room(ctx, "pub")
		if r.OwnerID != "" || r.MemberCount != 0 {
			t.Fatalf("after the owner left: %+v, want no owner and no members", r)
		}
	})
}

func TestTopicEvent(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		alice := mustUser(t, db, "alice")
		ev := mustEvent(t, db, chat.NewMessage{Room: "general", UserID: alice.ID, Username: alice.Username, Kind: chat.StreamRoom, Topic: "news"})
		r, _ := db.Room(ctx, "general")
		if ev.Seq != 1 || ev.Topic != "news" || r.Topic != "news" || r.MsgCount != 0 || !r.LastEventAt.Equal(ev.TS) {
			t.Fatalf("topic event %+v, room %+v", ev, r)
		}
		got, _, _ := db.After(ctx, "general", 0, 0, 10)
		if len(got) != 1 || got[0].Kind != chat.StreamRoom || got[0].Topic != "news" {
			t.Fatalf("replayed %+v", got)
		}
	})
}

func TestRoomEventMetrics(t *testing.T) {
	eachDialectURL(t, func(t *testing.T, url string) {
		m := metrics.New()
		db := mustOpen(t, url, store.Options{Metrics: m})
		defer db.Close()
		alice, bob := mustUser(t, db, "alice"), mustUser(t, db, "bob")
		msg := mustAppend(t, db, send(alice, "general", "x"))
		mustEvent(t, db, edit(alice, "general", msg.Seq, "y", ""))
		mustEvent(t, db, member(alice, bob, "general", chat.ChangeBanned))
		mustEvent(t, db, member(alice, bob, "general", chat.ChangeBanned)) // no change, not counted
		mustEvent(t, db, del(alice, "general", msg.Seq, ""))
		want := map[string]float64{"edit": 1, "delete": 1, "member": 1, "room": 0}
		for kind, n := range want {
			if got := testutil.ToFloat64(m.RoomEventsStored.WithLabelValues(kind)); got != n {
				t.Errorf("chat_room_events_stored_total{kind=%q} = %v, want %v", kind, got, n)
			}
		}
		if got := testutil.ToFloat64(m.MessagesStored); got != 1 {
			t.Errorf("chat_messages_stored_total = %v, want 1", got)
		}
	})
}
