package config

import (
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
		{in: "5/1m/2", wantErr: true},
		{in: "5 /1m", wantErr: true},
		{in: "5.5/1m", wantErr: true},
		{in: "99999999999999999999/1m", wantErr: true},
		{in: "off", wantErr: true},
		{in: "00", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseRate(%q) = %+v, want an error", tt.in, got)
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

func TestRateStringAndEnabled(t *testing.T) {
	tests := []struct {
		r       Rate
		s       string
		enabled bool
	}{
		{Rate{}, "0", false},
		{Rate{N: 5, Per: time.Minute}, "5/1m0s", true},
		{Rate{N: 20, Per: time.Hour}, "20/1h0m0s", true},
		{Rate{N: 5}, "0", false},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			if got := tt.r.String(); got != tt.s {
				t.Errorf("String() = %q, want %q", got, tt.s)
			}
			if got := tt.r.Enabled(); got != tt.enabled {
				t.Errorf("Enabled() = %v, want %v", got, tt.enabled)
			}
		})
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"5/1m", "20/1h", "0", "", "0/1m", "1/1ns", "9223372036854775807/1h", "5/1m/", "-1/1s", "1/2562047h47m16.854775807s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			if r != (Rate{}) {
				t.Fatalf("ParseRate(%q) failed but returned %+v", s, r)
			}
			return
		}
		if r.N < 0 || (r.N == 0) != (r.Per == 0) || r.Per < 0 {
			t.Fatalf("ParseRate(%q) = %+v: inconsistent", s, r)
		}
		if r.Enabled() != (r.N > 0) {
			t.Fatalf("ParseRate(%q) = %+v: Enabled() = %v", s, r, r.Enabled())
		}
		// The canonical form parses back to the same rate.
		back, err := ParseRate(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRate(%q) = %+v, String %q parses to %+v, %v", s, r, r.String(), back, err)
		}
	})
}
