package chat

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
		{in: "5/1m", want: Rate{N: 5, Per: time.Minute}},
		{in: "20/1h", want: Rate{N: 20, Per: time.Hour}},
		{in: "60/1m", want: Rate{N: 60, Per: time.Minute}},
		{in: "1/500ms", want: Rate{N: 1, Per: 500 * time.Millisecond}},
		{in: "3/1h30m", want: Rate{N: 3, Per: 90 * time.Minute}},
		{in: "007/10s", want: Rate{N: 7, Per: 10 * time.Second}},
		{in: "0", want: Rate{}},
		{in: "", wantErr: true},
		{in: "5", wantErr: true},
		{in: "5/", wantErr: true},
		{in: "/1m", wantErr: true},
		{in: "0/1m", wantErr: true},
		{in: "-5/1m", wantErr: true},
		{in: "+5/1m", wantErr: true},
		{in: "5/0s", wantErr: true},
		{in: "5/-1m", wantErr: true},
		{in: "5/m", wantErr: true},
		{in: "5/60", wantErr: true},
		{in: "5/1m/2", wantErr: true},
		{in: "5 /1m", wantErr: true},
		{in: " 5/1m ", wantErr: true},
		{in: "5.5/1m", wantErr: true},
		{in: "99999999999999999999/1m", wantErr: true},
		{in: "off", wantErr: true},
		{in: "00", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.in), func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseRate(%q) = %+v, want an error", tt.in, got)
				}
				if !strings.Contains(err.Error(), "N/DURATION") {
					t.Fatalf("error %q does not say what is accepted", err)
				}
				if got != (Rate{}) {
					t.Fatalf("ParseRate(%q) failed but returned %+v", tt.in, got)
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
		{Rate{N: 5, Per: time.Minute}, false, "5/1m0s"},
		{Rate{N: 20, Per: time.Hour}, false, "20/1h0m0s"},
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

// FuzzParseRate checks ParseRate never panics and that what it accepts is
// either the zero Rate or a positive rate that survives a round trip
// through String.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"5/1m", "60/1m", "20/1h", "0", "", "/", "5/", "0/1m", "0/1s", "1/1ns", "-1/1m", "5/1m/", "1/1m1m", "9223372036854775807/1h", "1/2562047h", "1/2562047h47m16.854775807s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			if r != (Rate{}) {
				t.Fatalf("ParseRate(%q) returned %+v with error %v", s, r, err)
			}
			return
		}
		if r.Off() {
			if r != (Rate{}) {
				t.Fatalf("ParseRate(%q) = %+v: off but not the zero Rate", s, r)
			}
			return
		}
		if r.N <= 0 || r.Per <= 0 {
			t.Fatalf("ParseRate(%q) = %+v", s, r)
		}
		back, err := ParseRate(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRate(%q) = %+v, but ParseRate(%q) = %+v, %v", s, r, r.String(), back, err)
		}
	})
}
