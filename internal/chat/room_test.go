package chat

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestNormalizeNewRoom(t *testing.T) {
	tests := []struct{ in, want, code string }{
		{"Ops", "ops", ""},
		{"dm-x", "", CodeInvalidRoom},
		{"DM-x", "", CodeInvalidRoom},
		{"dmx", "dmx", ""},
		{"a b", "", CodeInvalidRoom},
	}
	for _, tc := range tests {
		got, err := NormalizeNewRoom(tc.in)
		if got != tc.want || ErrorCode(err) != tc.code {
			t.Errorf("NormalizeNewRoom(%q) = %q, %v; want %q, %q", tc.in, got, err, tc.want, tc.code)
		}
	}
}

func TestValidateTopicAndReason(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"", true},
		{"release train\tweekly", true},
		{strings.Repeat("é", 500), true},
		{strings.Repeat("é", 501), false},
		{"two\nlines", false},
		{"del\x7f", false},
		{"\xff", false},
	}
	for _, tc := range tests {
		for name, f := range map[string]func(string) error{"topic": ValidateTopic, "reason": ValidateReason} {
			err := f(tc.in)
			if (err == nil) != tc.ok || err != nil && ErrorCode(err) != CodeInvalidRequest {
				t.Errorf("%s %q: %v, want ok %v", name, tc.in, err, tc.ok)
			}
		}
	}
}

func TestParseMute(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"10m", 10 * time.Minute},
		{"720h", 720 * time.Hour},
		{"720h1s", 0},
		{"0s", 0},
		{"-1m", 0},
		{"forever", 0},
		{"", 0},
	}
	for _, tc := range tests {
		got, err := ParseMute(tc.in)
		if got != tc.want || (err == nil) != (tc.want > 0) {
			t.Errorf("ParseMute(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestValidateRole(t *testing.T) {
	for role, ok := range map[string]bool{"owner": true, "admin": true, "member": true, "": false, "Owner": false, "king": false} {
		if err := ValidateRole(role); (err == nil) != ok {
			t.Errorf("ValidateRole(%q) = %v", role, err)
		}
	}
}

func TestDMKey(t *testing.T) {
	if DMKey("b", "a") != "a b" || DMKey("a", "b") != "a b" {
		t.Fatalf("DMKey is not symmetric: %q %q", DMKey("b", "a"), DMKey("a", "b"))
	}
}

func TestRoomJSON(t *testing.T) {
	ts := time.Date(2026, 11, 25, 7, 53, 37, 123e6, time.UTC)
	got, _ := json.Marshal(Room{Name: "general", CreatedAt: ts, LastSeq: 4}.JSON())
	want := `{"name":"general","created_at":"2026-11-25T07:53:37.123Z","last_seq":4,"kind":"public","topic":"","owner":null,"member_count":0}`
	if string(got) != want {
		t.Errorf("Room JSON %s, want %s", got, want)
	}
	got, _ = json.Marshal(Room{Name: "ops", CreatedAt: ts, Kind: KindPrivate, Topic: "t", Owner: "alice", MemberCount: 2}.JSON())
	want = `{"name":"ops","created_at":"2026-11-25T07:53:37.123Z","last_seq":0,"kind":"private","topic":"t","owner":"alice","member_count":2}`
	if string(got) != want {
		t.Errorf("Room JSON %s, want %s", got, want)
	}
}

func TestMessageAndMemberJSON(t *testing.T) {
	ts := time.Date(2026, 11, 25, 7, 53, 37, 123e6, time.UTC)
	m := Message{Room: "r", Seq: 3, ID: "id", From: "al", FromID: "u1", Text: "hi", TS: ts}
	got, _ := json.Marshal(m.JSON())
	want := `{"room":"r","seq":3,"id":"id","from":"al","from_id":"u1","text":"hi","ts":"2026-11-25T07:53:37.123Z","edited_at":null,"deleted":false}`
	if string(got) != want {
		t.Errorf("Message JSON %s, want %s", got, want)
	}
	m.EditedAt, m.Deleted, m.Text = ts.Add(time.Second), true, ""
	got, _ = json.Marshal(m.JSON())
	want = `{"room":"r","seq":3,"id":"id","from":"al","from_id":"u1","text":"","ts":"2026-11-25T07:53:37.123Z","edited_at":"2026-11-25T07:53:38.123Z","deleted":true}`
	if string(got) != want {
		t.Errorf("Message JSON %s, want %s", got, want)
	}
	mem := Member{UserID: "u1", Username: "al", Role: RoleAdmin, State: StateMember, Since: ts, MutedUntil: ts}
	got, _ = json.Marshal(mem.JSON())
	want = `{"user":{"id":"u1","username":"al"},"role":"admin","state":"member","muted_until":"2026-11-25T07:53:37.123Z","since":"2026-11-25T07:53:37.123Z"}`
	if string(got) != want {
		t.Errorf("Member JSON %s, want %s", got, want)
	}
}

// TestMessageBrokerJSON checks a v1 message keeps its JSON shape between
// nodes and every v2 field survives the round trip.
func TestMessageBrokerJSON(t *testing.T) {
	ts := time.Date(2026, 11, 25, 7, 53, 37, 123e6, time.UTC)
	v1 := Message{Room: "r", Seq: 1, ID: "id", FromID: "u", From: "al", Text: "hi", TS: ts}
	got, _ := json.Marshal(v1)
	if want := `{"Room":"r","Seq":1,"ID":"id","FromID":"u","From":"al","Text":"hi","TS":"2026-11-25T07:53:37.123Z"}`; string(got) != want {
		t.Errorf("v1 message JSON %s, want %s", got, want)
	}
	ev := Message{Room: "r", Seq: 2, ID: "id2", FromID: "u", From: "al", TS: ts, Kind: StreamMember,
		User: "bo", UserID: "u2", Change: ChangeMuted, Until: ts.Add(time.Hour), Reason: "spam", Role: RoleMember,
		Target: 1, EditedAt: ts, Deleted: true, Topic: "t"}
	b, _ := json.Marshal(ev)
	var back Message
	if err := json.Unmarshal(b, &back); err != nil || back != ev {
		t.Errorf("round trip %+v, %v; want %+v", back, err, ev)
	}
}

func TestStreamFrame(t *testing.T) {
	ts := time.Date(2026, 11, 25, 7, 53, 37, 123e6, time.UTC)
	tests := []struct {
		m    Message
		want string
	}{
		{Message{Room: "r", Seq: 1, ID: "i", From: "al", FromID: "u", Text: "hi", TS: ts},
			`{"type":"message","room":"r","seq":1,"id":"i","from":"al","from_id":"u","text":"hi","ts":"2026-11-25T07:53:37.123Z"}`},
		{Message{Room: "r", Seq: 1, ID: "i", From: "al", FromID: "u", Text: "hey", TS: ts, EditedAt: ts.Add(time.Second)},
			`{"type":"message","room":"r","seq":1,"id":"i","from":"al","from_id":"u","text":"hey","ts":"2026-11-25T07:53:37.123Z","edited_at":"2026-11-25T07:53:38.123Z"}`},
		{Message{Room: "r", Seq: 1, ID: "i", From: "al", FromID: "u", TS: ts, EditedAt: ts.Add(time.Second), Deleted: true},
			`{"type":"message","room":"r","seq":1,"id":"i","from":"al","from_id":"u","text":"","ts":"2026-11-25T07:53:37.123Z","edited_at":"2026-11-25T07:53:38.123Z","deleted":true}`},
		{Message{Room: "r", Seq: 2, Kind: StreamEdit, Target: 1, From: "al", FromID: "u", Text: "hey", TS: ts},
			`{"type":"edit","room":"r","seq":2,"target":1,"text":"hey","from":"al","from_id":"u","ts":"2026-11-25T07:53:37.123Z"}`},
		{Message{Room: "r", Seq: 3, Kind: StreamDelete, Target: 1, From: "bo", FromID: "v", TS: ts},
			`{"type":"delete","room":"r","seq":3,"target":1,"by":"bo","by_id":"v","ts":"2026-11-25T07:53:37.123Z"}`},
		{Message{Room: "r", Seq: 4, Kind: StreamMember, User: "cy", UserID: "w", Change: ChangeMuted, Until: ts, From: "bo", FromID: "v", Reason: "spam", TS: ts},
			`{"type":"member","room":"r","seq":4,"user":"cy","user_id":"w","change":"muted","role":null,"until":"2026-11-25T07:53:37.123Z","by":"bo","reason":"spam","ts":"2026-11-25T07:53:37.123Z"}`},
		{Message{Room: "r", Seq: 5, Kind: StreamRoom, Topic: "", From: "bo", FromID: "v", TS: ts},
			`{"type":"room","room":"r","seq":5,"topic":"","by":"bo","ts":"2026-11-25T07:53:37.123Z"}`},
	}
	for _, tc := range tests {
		got, _ := json.Marshal(StreamFrame(tc.m))
		if string(got) != tc.want {
			t.Errorf("StreamFrame(%s) = %s, want %s", tc.m.EventKind(), got, tc.want)
		}
	}
}

// FuzzNormalizeRoom checks that what NormalizeRoom accepts is already
// normalised, short, of the allowed bytes, and that NormalizeNewRoom agrees
// except for the reserved dm- names.
func FuzzNormalizeRoom(f *testing.F) {
	for _, s := range []string{"general", "General", "dm-x", "DM-", "a b", "", strings.Repeat("r", 65), "é", "K\u212a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, err := NormalizeRoom(s)
		newName, newErr := NormalizeNewRoom(s)
		if err != nil {
			if ErrorCode(err) != CodeInvalidRoom || name != "" || newErr == nil {
				t.Fatalf("NormalizeRoom(%q) = %q, %v; NormalizeNewRoom err %v", s, name, err, newErr)
			}
			return
		}
		if again, err := NormalizeRoom(name); err != nil || again != name {
			t.Fatalf("NormalizeRoom(%q) = %q, not a fixed point (%q, %v)", s, name, again, err)
		}
		if len(name) < 1 || len(name) > MaxRoomLen || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
			t.Fatalf("NormalizeRoom(%q) = %q", s, name)
		}
		if !strings.EqualFold(name, s) {
			t.Fatalf("NormalizeRoom(%q) = %q changed more than case", s, name)
		}
		if strings.HasPrefix(name, DMPrefix) != (newErr != nil) || newErr == nil && newName != name {
			t.Fatalf("NormalizeNewRoom(%q) = %q, %v", s, newName, newErr)
		}
	})
}

// FuzzNormalizeUsername checks that what NormalizeUsername accepts is
// lower-case, 3 to 32 bytes of the allowed set and a fixed point.
func FuzzNormalizeUsername(f *testing.F) {
	for _, s := range []string{"alice", "Alice", "ab", "a.b-c_d", strings.Repeat("a", 33), "ÅSA", "K\u212a\u212a", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := NormalizeUsername(s)
		if err != nil {
			if ErrorCode(err) != CodeInvalidRequest || u != "" {
				t.Fatalf("NormalizeUsername(%q) = %q, %v", s, u, err)
			}
			return
		}
		if len(u) < MinUsernameLen || len(u) > MaxUsernameLen || strings.Trim(u, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != "" {
			t.Fatalf("NormalizeUsername(%q) = %q", s, u)
		}
		if again, err := NormalizeUsername(u); err != nil || again != u {
			t.Fatalf("NormalizeUsername(%q) = %q, not a fixed point", s, u)
		}
	})
}
