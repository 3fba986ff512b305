package auth

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    Rate
		wantErr bool
	}{
		{in: "5/1m", want: Rate{5, time.Minute}},
		{in: "60/1m", want: Rate{60, time.Minute}},
		{in: "20/1h", want: Rate{20, time.Hour}},
		{in: "1/500ms", want: Rate{1, 500 * time.Millisecond}},
		{in: "3/1h30m", want: Rate{3, 90 * time.Minute}},
		{in: " 5/1m ", want: Rate{5, time.Minute}},
		{in: "0", want: Rate{}},
		{in: "0/1m", want: Rate{}},
		{in: "", wantErr: true},
		{in: "5", wantErr: true},
		{in: "5/", wantErr: true},
		{in: "/1m", wantErr: true},
		{in: "5/m", wantErr: true},
		{in: "5/60", wantErr: true},
		{in: "5/0s", wantErr: true},
		{in: "5/-1m", wantErr: true},
		{in: "-5/1m", wantErr: true},
		{in: "+5/1m", wantErr: true},
		{in: "05/1m", wantErr: true},
		{in: "5.5/1m", wantErr: true},
		{in: "5/1m/2", wantErr: true},
		{in: "99999999999/1m", wantErr: true},
		{in: "off", wantErr: true},
		{in: "5 /1m", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.in), func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseRate(%q) = %v, want an error", tt.in, got)
				}
				if !strings.Contains(err.Error(), "N/DURATION") {
					t.Fatalf("error %q does not say what is accepted", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRate(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseRate(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestRateOffAndString(t *testing.T) {
	tests := []struct {
		r    Rate
		off  bool
		text string
	}{
		{Rate{}, true, "0"},
		{Rate{N: 5}, true, "0"},
		{Rate{Per: time.Minute}, true, "0"},
		{Rate{5, time.Minute}, false, "5/1m0s"},
		{Rate{20, time.Hour}, false, "20/1h0m0s"},
	}
	for _, tt := range tests {
		if got := tt.r.Off(); got != tt.off {
			t.Errorf("%+v.Off() = %v, want %v", tt.r, got, tt.off)
		}
		if got := tt.r.String(); got != tt.text {
			t.Errorf("%+v.String() = %q, want %q", tt.r, got, tt.text)
		}
		if back, err := ParseRate(tt.r.String()); err != nil || back.Off() != tt.off || (!tt.off && back != tt.r) {
			t.Errorf("ParseRate(%q) = %+v, %v; want %+v", tt.r.String(), back, err, tt.r)
		}
	}
}

func TestMemThrottleWindow(t *testing.T) {
	ctx := t.Context()
	clk := &clock{testT0}
	th := NewMemThrottle(Rate{N: 3, Per: time.Minute}, clk.Now)

	// step is one action at an offset from the window's first event, with
	// the retryAfter it must report (0: allowed).
	type step struct {
		at    time.Duration
		op    string // "hit", "blocked", "reset"
		key   string
		retry time.Duration
	}
	steps := []step{
		{0, "blocked", "a", 0},
		{0, "hit", "a", 0},
		{10 * time.Second, "hit", "a", 0},
		{20 * time.Second, "blocked", "a", 0},
		{20 * time.Second, "hit", "a", 0}, // third event: at the limit, not over
		{20 * time.Second, "blocked", "a", 40 * time.Second},
		{20 * time.Second, "blocked", "b", 0},            // other keys unaffected
		{30 * time.Second, "hit", "a", 30 * time.Second}, // fourth: over
		{59 * time.Second, "blocked", "a", time.Second},
		{60 * time.Second, "blocked", "a", 0}, // window passed
		{60 * time.Second, "hit", "a", 0},     // new window opens at 60s
		{61 * time.Second, "hit", "a", 0},
		{62 * time.Second, "hit", "a", 0},
		{63 * time.Second, "blocked", "a", 57 * time.Second},
		{63 * time.Second, "reset", "a", 0},
		{63 * time.Second, "blocked", "a", 0},
		{63 * time.Second, "hit", "a", 0},
	}
	for i, st := range steps {
		clk.t = testT0.Add(st.at)
		var (
			got time.Duration
			err error
		)
		switch st.op {
		case "hit":
			got, err = th.Hit(ctx, st.key)
		case "blocked":
			got, err = th.Blocked(ctx, st.key)
		case "reset":
			err = th.Reset(ctx, st.key)
		}
		if err != nil {
			t.Fatalf("step %d %s(%s): %v", i, st.op, st.key, err)
		}
		if got != st.retry {
			t.Fatalf("step %d at +%v %s(%s) = %v, want %v", i, st.at, st.op, st.key, got, st.retry)
		}
	}
}

func TestMemThrottleOff(t *testing.T) {
	th := NewMemThrottle(Rate{}, nil)
	for i := range 1000 {
		if d, err := th.Hit(t.Context(), "k"); d != 0 || err != nil {
			t.Fatalf("hit %d = %v, %v; want 0, nil", i, d, err)
		}
	}
	if d, _ := th.Blocked(t.Context(), "k"); d != 0 {
		t.Fatalf("Blocked = %v", d)
	}
	if th.Len() != 0 {
		t.Fatalf("an off throttle stores %d keys", th.Len())
	}
}

func TestMemThrottleSweeps(t *testing.T) {
	clk := &clock{testT0}
	th := NewMemThrottle(Rate{N: 1, Per: time.Minute}, clk.Now)
	for i := range 500 {
		if _, err := th.Hit(t.Context(), "ip-"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if th.Len() != 500 {
		t.Fatalf("Len = %d, want 500", th.Len())
	}
	clk.Advance(2 * time.Minute)
	if _, err := th.Hit(t.Context(), "fresh"); err != nil {
		t.Fatal(err)
	}
	if th.Len() != 1 {
		t.Fatalf("Len after the windows expired = %d, want 1", th.Len())
	}
}
