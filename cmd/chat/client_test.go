package main

import (
	"testing"
)

func TestPrintable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello, wörld 👋", "hello, wörld 👋"},
		{"tab kept", "a\tb", "a\tb"},
		{"lines indented", "one\ntwo\r\nthree", "one\n    two\n    three"},
		{"lone carriage return", "a\rb", "a\uFFFDb"},
		{"escape", "a\x1b[2Jb", "a\uFFFD[2Jb"},
		{"C1 control", "a\u009b2Jb", "a\uFFFD2Jb"},
		{"delete", "a\x7fb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := printable(tt.in); got != tt.want {
				t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
