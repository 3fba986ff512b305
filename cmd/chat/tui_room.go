package main

import "github.com/chatsvc/chat/client"

// Entry kinds of a room's pane.
const (
	entryMessage = iota
	entryEvent   // a stream event other than a message
	entryNote    // output of a command or a notice
)

// entry is one line of a room's pane.
type entry struct {
	kind    int
	seq     int64 // 0 for notes
	ts      string
	from    string
	text    string
	own     bool
	edited  bool
	deleted bool
}

// roomView is what the full-screen view keeps of one room.
type roomView struct {
	entries []entry
	bySeq   map[int64]int // seq → index in entries
	// joined is set once the socket joined it; historyAsked once its
	// recent history was asked for.
	joined       bool
	historyAsked bool
	// loadingOlder is set while older history is asked for; allLoaded
	// once the start of the room is shown.
	loadingOlder bool
	allLoaded    bool
	lastSeq      int64
	lastOwn      int64
	topic        string
}

func newRoomView() *roomView { return &roomView{bySeq: map[int64]int{}} }

// add appends an entry; a stream entry already shown is dropped.
func (r *roomView) add(e entry) {
	if e.seq > 0 {
		if _, ok := r.bySeq[e.seq]; ok {
			return
		}
		r.bySeq[e.seq] = len(r.entries)
		r.lastSeq = max(r.lastSeq, e.seq)
	}
	r.entries = append(r.entries, e)
}

// prepend puts history older than everything shown in front.
func (r *roomView) prepend(msgs []client.Message, me string) {
	first := r.firstSeq()
	var older []entry
	for i := range msgs {
		m := &msgs[i]
		if _, ok := r.bySeq[m.Seq]; ok || (first > 0 && m.Seq > first) {
			continue
		}
		older = append(older, messageEntry(m, me))
	}
	r.entries = append(older, r.entries...)
	clear(r.bySeq)
	for i, e := range r.entries {
		if e.seq > 0 {
			r.bySeq[e.seq] = i
			r.lastSeq = max(r.lastSeq, e.seq)
			if e.own && e.kind == entryMessage {
				r.lastOwn = max(r.lastOwn, e.seq)
			}
		}
	}
}

// firstSeq returns the oldest seq shown, 0 for none.
func (r *roomView) firstSeq() int64 {
	for _, e := range r.entries {
		if e.seq > 0 {
			return e.seq
		}
	}
	return 0
}

// messageEntry is the entry of a message.
func messageEntry(m *client.Message, me string) entry {
	return entry{kind: entryMessage, seq: m.Seq, ts: m.TS, from: m.From, text: m.Text,
		own: m.From == me, edited: m.EditedAt != nil, deleted: m.Deleted}
}

// target returns the entry of the message at seq, nil when not shown.
func (r *roomView) target(seq int64) *entry {
	if i, ok := r.bySeq[seq]; ok && r.entries[i].kind == entryMessage {
		return &r.entries[i]
	}
	return nil
}

// ownText returns the text of the user's newest message.
func (r *roomView) ownText() string {
	if e := r.target(r.lastOwn); e != nil && !e.deleted {
		return e.text
	}
	return ""
}
