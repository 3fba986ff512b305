package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chatsvc/chat/client"
)

func TestCommandUsage(t *testing.T) {
	t.Parallel()
	api, err := client.New("http://127.0.0.1:1", client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := &app{api: api, sock: api.Socket(), dmNames: map[string]string{}}
	in := view{room: "general"}
	tests := []struct {
		line string
		v    view
		want string
	}{
		{"/join", in, "usage: /join ROOM"},
		{"/join Not A Room", in, "usage: /join ROOM"},
		{"/join a*b", in, "/join: "},
		{"/history 0", in, "N must be a number from 1 to"},
		{"/history x", in, "N must be a number"},
		{"/history", view{}, "not in a room"},
		{"/create", in, "usage: /create ROOM"},
		{"/dm", in, "usage: /dm USER"},
		{"/kick", in, "usage: /kick USER"},
		{"/mute bob", in, "usage: /mute USER DURATION"},
		{"/mute bob soon", in, `"soon" is not a duration`},
		{"/mute bob -5m", in, "is not a duration"},
		{"/role bob", in, "usage: /role USER"},
		{"/edit 3", in, "usage: /edit SEQ|last TEXT"},
		{"/edit x new text", in, `"x" is not a seq`},
		{"/edit last new text", in, "no message of yours"},
		{"/delete", in, "usage: /delete SEQ|last"},
		{"/delete 0", in, "is not a seq"},
		{"/search", in, "usage: /search WORDS"},
		{"/topic", view{}, "not in a room"},
		{"/rooms mine", in, "usage: /rooms [all]"},
		{"/frobnicate", in, "unknown command /frobnicate"},
		{"hello", view{}, "not in a room"},
		{"/help", in, "/dm USER"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			r := a.exec(context.Background(), tt.v, tt.line)
			got := strings.Join(r.notes, "\n")
			if !strings.Contains(got, tt.want) || r.pending != nil || r.join != "" || r.err != nil {
				t.Errorf("exec(%q) = %+v, want a note containing %q", tt.line, r, tt.want)
			}
		})
	}

	// Lines that do something.
	if r := a.exec(context.Background(), in, "//slash"); r.pending == nil || !strings.HasSuffix(r.what, ": /slash") {
		t.Errorf("//slash: %+v, want a send of /slash", r)
	}
	if r := a.exec(context.Background(), view{room: "general", lastOwn: 7}, "/edit last  better words"); r.pending == nil || r.what != "edit of #general 7" {
		t.Errorf("/edit last: %+v, want an edit of seq 7", r)
	}
	if r := a.exec(context.Background(), in, "/join #Random"); r.join != "random" {
		t.Errorf("/join #Random: %+v, want a join of random", r)
	}
	if r := a.exec(context.Background(), in, "/quit"); !r.quit {
		t.Errorf("/quit: %+v", r)
	}
}
