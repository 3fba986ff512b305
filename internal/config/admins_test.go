package config

import (
	"slices"
	"testing"
)

func TestAdmins(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  []string // nil with ok false: an error naming CHAT_ADMINS
		ok    bool
	}{
		{"", nil, true},
		{"alice", []string{"alice"}, true},
		{" Alice, BOB.x ,carol_1", []string{"alice", "bob.x", "carol_1"}, true},
		{"al ice", nil, false},
		{"alice,,bob", nil, false},
		{"ab", nil, false},
	} {
		c, err := Load(envOf(map[string]string{"CHAT_ADMINS": tc.value}))
		if !tc.ok {
			if errs := varErrors(t, err); !slices.Equal(varNames(errs), []string{"CHAT_ADMINS"}) {
				t.Errorf("CHAT_ADMINS=%q: errors %v, want one for CHAT_ADMINS", tc.value, errs)
			}
			continue
		}
		if err != nil || !slices.Equal(c.Admins, tc.want) {
			t.Errorf("CHAT_ADMINS=%q: Admins = %q, %v; want %q", tc.value, c.Admins, err, tc.want)
		}
	}
}
