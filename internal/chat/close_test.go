package chat

import "testing"

func TestCloseReason(t *testing.T) {
	tests := []struct {
		code int
		want string
	}{
		{1000, "normal"}, {1001, "going_away"}, {1003, "binary_not_supported"},
		{1005, "no_status"}, {1006, "abnormal_closure"}, {1007, "invalid_utf8"},
		{1008, "policy_violation"}, {1009, "message_too_large"}, {1011, "internal"},
		{1013, "try_again_later"}, {4001, "token_expired"}, {4003, "session_revoked"},
		{4008, "too_slow"}, {4000, "other"}, {0, "other"},
	}
	for _, tt := range tests {
		if got := CloseReason(tt.code); got != tt.want {
			t.Errorf("CloseReason(%d) = %q, want %q", tt.code, got, tt.want)
		}
	}
}
