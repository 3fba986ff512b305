package chat

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of the names, passwords and refs the contract accepts.
const (
	MinUsernameLen = 3
	MaxUsernameLen = 32
	MinPasswordLen = 8
	MaxPasswordLen = 128
	MaxRoomLen     = 64
	MaxRefLen      = 64
	// DefaultMaxTextChars is the default limit of a message text in code points.
	DefaultMaxTextChars = 4000
)

// NormalizeUsername lower-cases s and checks it is 3 to 32 characters of
// a-z 0-9 _ . -.
func NormalizeUsername(s string) (string, error) {
	if len(s) > 4*MaxUsernameLen || !utf8.ValidString(s) {
		return "", Errorf(CodeInvalidRequest, "username must be 3 to 32 characters of a-z 0-9 _ . -")
	}
	u := strings.ToLower(s)
	if len(u) < MinUsernameLen || len(u) > MaxUsernameLen {
		return "", Errorf(CodeInvalidRequest, "username must be 3 to 32 characters of a-z 0-9 _ . -")
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return "", Errorf(CodeInvalidRequest, "username must be 3 to 32 characters of a-z 0-9 _ . -")
		}
	}
	return u, nil
}

// ValidatePassword checks a password is 8 to 128 bytes. Any bytes are allowed.
func ValidatePassword(p string) error {
	if len(p) < MinPasswordLen || len(p) > MaxPasswordLen {
		return Errorf(CodeInvalidRequest, "password must be 8 to 128 bytes")
	}
	return nil
}

// NormalizeRoom lower-cases s and checks it is 1 to 64 characters of
// a-z 0-9 _ -. A bad name is CodeInvalidRoom.
func NormalizeRoom(s string) (string, error) {
	if len(s) == 0 || len(s) > MaxRoomLen {
		return "", Errorf(CodeInvalidRoom, "room must be 1 to 64 characters of a-z 0-9 _ -")
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-':
		case c >= 'A' && c <= 'Z':
			if b == nil {
				b = []byte(s)
			}
			b[i] = c + ('a' - 'A')
		default:
			return "", Errorf(CodeInvalidRoom, "room must be 1 to 64 characters of a-z 0-9 _ -")
		}
	}
	if b != nil {
		return string(b), nil
	}
	return s, nil
}

// ValidateText checks a message text: valid UTF-8, 1 to maxChars code
// points, not only white space, no C0 control characters other than tab,
// line feed and carriage return.
func ValidateText(text string, maxChars int) error {
	if !utf8.ValidString(text) {
		return Errorf(CodeBadRequest, "text is not valid UTF-8")
	}
	n := 0
	blank := true
	for _, r := range text {
		n++
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
			return Errorf(CodeBadRequest, "text contains a forbidden control character")
		}
		if blank && !unicode.IsSpace(r) {
			blank = false
		}
	}
	if n > maxChars {
		return Errorf(CodeTextTooLong, "text is longer than %d characters", maxChars)
	}
	if blank {
		return Errorf(CodeTextEmpty, "text is empty")
	}
	return nil
}

// ValidRef reports whether ref is 1 to 64 characters of printable ASCII.
func ValidRef(ref string) bool {
	if len(ref) == 0 || len(ref) > MaxRefLen {
		return false
	}
	for i := 0; i < len(ref); i++ {
		if ref[i] < 0x20 || ref[i] > 0x7e {
			return false
		}
	}
	return true
}

// Limits of rooms v2.
const (
	// DMPrefix starts the names reserved for direct rooms.
	DMPrefix = "dm-"
	// MaxTopicChars is the longest topic, in code points.
	MaxTopicChars = 500
	// MaxReasonChars is the longest moderation reason, in code points.
	MaxReasonChars = 500
	// MaxMute is the longest mute.
	MaxMute = 720 * time.Hour
)

// NormalizeNewRoom normalises the name of a room about to be created by a
// user: NormalizeRoom, and names starting with "dm-" are refused, since they
// are reserved for direct rooms. Errors are CodeInvalidRoom.
func NormalizeNewRoom(s string) (string, error) {
	name, err := NormalizeRoom(s)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(name, DMPrefix) {
		return "", Errorf(CodeInvalidRoom, "room names starting with dm- are reserved for direct rooms")
	}
	return name, nil
}

// ValidateTopic checks a room topic: valid UTF-8, 0 to 500 code points, no
// control characters other than tab. Errors are CodeInvalidRequest.
func ValidateTopic(topic string) error {
	return validateLine("topic", topic, MaxTopicChars)
}

// ValidateReason checks a moderation reason like a topic.
func ValidateReason(reason string) error {
	return validateLine("reason", reason, MaxReasonChars)
}

func validateLine(what, s string, maxChars int) error {
	if !utf8.ValidString(s) {
		return Errorf(CodeInvalidRequest, "%s is not valid UTF-8", what)
	}
	n := 0
	for _, r := range s {
		n++
		if r < 0x20 && r != '\t' || r == 0x7f {
			return Errorf(CodeInvalidRequest, "%s contains a control character", what)
		}
	}
	if n > maxChars {
		return Errorf(CodeInvalidRequest, "%s is longer than %d characters", what, maxChars)
	}
	return nil
}

// ParseMute parses a mute duration in Go syntax: positive and at most
// 720h. Errors are CodeInvalidRequest.
func ParseMute(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > MaxMute {
		return 0, Errorf(CodeInvalidRequest, "duration must be a Go duration above 0 and at most 720h, such as 10m or 24h")
	}
	return d, nil
}

// ValidateRole checks a role name a client sent.
func ValidateRole(role string) error {
	if Rank(role) == 0 {
		return Errorf(CodeInvalidRequest, "role must be owner, admin or member")
	}
	return nil
}
