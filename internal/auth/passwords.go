// Package auth owns the identity side of the chat service: argon2id password
// hashing, HS256 access tokens, opaque rotating refresh tokens, login and
// registration throttles, the Service that ties them to the store, and the
// thin Echo adapter that authenticates REST requests and WebSocket
// handshakes.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters of every new hash (OWASP's recommendation: 19 MiB,
// two passes, one lane). Verify reads the parameters from the stored string,
// so raising them later keeps old hashes valid.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonSaltLen   = 16
	argonKeyLen    = 32
)

// Bounds on the parameters Verify accepts from a stored hash, so a corrupt
// or hostile row cannot make one verification allocate gigabytes or spin
// for minutes.
const (
	maxArgonMemoryKiB = 1 << 20 // 1 GiB
	maxArgonTime      = 64
	minArgonSaltLen   = 8
	minArgonKeyLen    = 16
	maxArgonKeyLen    = 128
)

// dummyHash is a well-formed hash with the current parameters whose key is
// random bytes, so no password matches it. VerifyDummy checks against it so that a login for an unknown user
// costs as much as one for a known user.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$De0kVwxTh32NO6nGoaDpmw$AkxiZaBXj0tmnUeFQupz3UN2iOxe17BAGf9Ze7w9i6E"

// errMalformedHash reports a stored hash that is not an argon2id PHC string
// this package can verify.
var errMalformedHash = errors.New("auth: malformed argon2id hash")

// Hasher hashes and verifies passwords with argon2id. Each operation
// allocates about 19 MiB, so at most maxConcurrent of them run at a time;
// the others wait for a slot or give up when their context ends. A Hasher is
// safe for concurrent use.
type Hasher struct {
	slots chan struct{}
}

// NewHasher returns a Hasher running at most maxConcurrent hashes at once;
// 0 or less means runtime.NumCPU().
func NewHasher(maxConcurrent int) *Hasher {
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.NumCPU()
	}
	return &Hasher{slots: make(chan struct{}, maxConcurrent)}
}

// acquire takes a slot or returns ctx's error.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC string of password with a fresh random salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key> (unpadded standard base64).
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	h.release()
	return encodePHC(phc{memory: argonMemoryKiB, time: argonTime, threads: argonThreads, salt: salt, key: key}), nil
}

// Verify reports whether password matches the PHC string phc, using the
// parameters recorded in it. A string that is not a well-formed argon2id
// hash is an error, as is ctx ending while Verify waits for a slot.
func (h *Hasher) Verify(ctx context.Context, password, phcString string) (bool, error) {
	p, err := parsePHC(phcString)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, fmt.Errorf("auth: verify password: %w", err)
	}
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	h.release()
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

// VerifyDummy runs one verification of password against a hash no password
// matches, so that refusing an unknown user takes as long as refusing a
// wrong password. It returns ctx's error when ctx ends while it waits.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, err := h.Verify(ctx, password, dummyHash)
	return err
}

// phc is the decoded form of an argon2id PHC string.
type phc struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

var b64 = base64.RawStdEncoding.Strict()

func encodePHC(p phc) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads,
		b64.EncodeToString(p.salt), b64.EncodeToString(p.key))
}

// parsePHC decodes $argon2id$v=19$m=M,t=T,p=P$SALT$KEY and checks every
// field is in the range Verify accepts.
func parsePHC(s string) (phc, error) {
	var p phc
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, fmt.Errorf("%w: want $argon2id$v=19$m=M,t=T,p=P$SALT$KEY", errMalformedHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, fmt.Errorf("%w: unsupported version %q", errMalformedHash, parts[2])
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return p, fmt.Errorf("%w: want parameters m=M,t=T,p=P", errMalformedHash)
	}
	var err error
	if p.memory, err = phcParam(params[0], "m", 1, maxArgonMemoryKiB); err != nil {
		return p, err
	}
	if p.time, err = phcParam(params[1], "t", 1, maxArgonTime); err != nil {
		return p, err
	}
	threads, err := phcParam(params[2], "p", 1, 255)
	if err != nil {
		return p, err
	}
	p.threads = uint8(threads)
	if p.memory < 8*uint32(p.threads) {
		return p, fmt.Errorf("%w: m must be at least 8 KiB per lane", errMalformedHash)
	}
	if p.salt, err = b64.DecodeString(parts[4]); err != nil || len(p.salt) < minArgonSaltLen {
		return p, fmt.Errorf("%w: bad salt", errMalformedHash)
	}
	if p.key, err = b64.DecodeString(parts[5]); err != nil || len(p.key) < minArgonKeyLen || len(p.key) > maxArgonKeyLen {
		return p, fmt.Errorf("%w: bad key", errMalformedHash)
	}
	return p, nil
}

// phcParam parses "name=N" with lo <= N <= hi.
func phcParam(s, name string, lo, hi uint32) (uint32, error) {
	v, ok := strings.CutPrefix(s, name+"=")
	if !ok {
		return 0, fmt.Errorf("%w: want parameter %s", errMalformedHash, name)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || uint32(n) < lo || uint32(n) > hi || (len(v) > 1 && v[0] == '0') {
		return 0, fmt.Errorf("%w: parameter %s must be an integer from %d to %d", errMalformedHash, name, lo, hi)
	}
	return uint32(n), nil
}
