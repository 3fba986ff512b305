package chat

import (
	"strings"
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
