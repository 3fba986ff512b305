package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

func TestHasherRoundTrip(t *testing.T) {
	ctx := t.Context()
	h := NewHasher(0)
	tests := []struct {
		name     string
		password string
	}{
		{"ascii", "correct horse battery"},
		{"unicode bytes unnormalised", "pässwörd-ﬁ-\u0065\u0301"},
		{"max length", strings.Repeat("x", 128)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phcString, err := h.Hash(ctx, tt.password)
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			if !strings.HasPrefix(phcString, "$argon2id$v=19$m=19456,t=2,p=1$") {
				t.Fatalf("Hash = %q, want the argon2id PHC prefix with m=19456,t=2,p=1", phcString)
			}
			p, err := parsePHC(phcString)
			if err != nil {
				t.Fatalf("parsePHC(own hash): %v", err)
			}
			if len(p.salt) != 16 || len(p.key) != 32 {
				t.Fatalf("salt %d bytes, key %d bytes; want 16 and 32", len(p.salt), len(p.key))
			}
			ok, err := h.Verify(ctx, tt.password, phcString)
			if err != nil || !ok {
				t.Fatalf("Verify(right password) = %v, %v; want true, nil", ok, err)
			}
			ok, err = h.Verify(ctx, tt.password+"x", phcString)
			if err != nil || ok {
				t.Fatalf("Verify(wrong password) = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

func TestHashSaltsDiffer(t *testing.T) {
	h := NewHasher(1)
	a, err := h.Hash(t.Context(), "same password")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(t.Context(), "same password")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two hashes of one password are equal: %q", a)
	}
}

// TestVerifyReadsParams checks Verify uses the parameters written in the
// string, not the ones new hashes get.
func TestVerifyReadsParams(t *testing.T) {
	salt := []byte("0123456789abcdef")
	tests := []struct {
		name              string
		memory, time      uint32
		threads           uint8
		keyLen            uint32
		wantInStringParam string
	}{
		{"small", 64, 1, 1, 32, "m=64,t=1,p=1"},
		{"two lanes", 256, 3, 2, 16, "m=256,t=3,p=2"},
		{"long key", 128, 1, 4, 64, "m=128,t=1,p=4"},
	}
	h := NewHasher(2)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := argon2.IDKey([]byte("hunter22"), salt, tt.time, tt.memory, tt.threads, tt.keyLen)
			s := encodePHC(phc{memory: tt.memory, time: tt.time, threads: tt.threads, salt: salt, key: key})
			if !strings.Contains(s, tt.wantInStringParam) {
				t.Fatalf("encoded %q lacks %q", s, tt.wantInStringParam)
			}
			ok, err := h.Verify(t.Context(), "hunter22", s)
			if err != nil || !ok {
				t.Fatalf("Verify = %v, %v; want true, nil", ok, err)
			}
			ok, err = h.Verify(t.Context(), "hunter23", s)
			if err != nil || ok {
				t.Fatalf("Verify(wrong) = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	const salt = "MDEyMzQ1Njc4OWFiY2RlZg"                     // 16 bytes
	const key = "AkxiZaBXj0tmnUeFQupz3UN2iOxe17BAGf9Ze7w9i6E" // 32 bytes
	tests := []struct {
		name string
		phc  string
	}{
		{"empty", ""},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"no leading dollar", "argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"old version", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"missing version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"missing param", "$argon2id$v=19$m=64,t=1$" + salt + "$" + key},
		{"params out of order", "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key},
		{"zero memory", "$argon2id$v=19$m=0,t=1,p=1$" + salt + "$" + key},
		{"zero time", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key},
		{"zero lanes", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key},
		{"lanes over 255", "$argon2id$v=19$m=4096,t=1,p=256$" + salt + "$" + key},
		{"memory below 8 per lane", "$argon2id$v=19$m=8,t=1,p=2$" + salt + "$" + key},
		{"memory too large", "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + key},
		{"time too large", "$argon2id$v=19$m=64,t=1000,p=1$" + salt + "$" + key},
		{"negative", "$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + key},
		{"leading zero", "$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key},
		{"salt not base64", "$argon2id$v=19$m=64,t=1,p=1$!!!!$" + key},
		{"salt padded", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key},
		{"salt too short", "$argon2id$v=19$m=64,t=1,p=1$YWJj$" + key},
		{"key too short", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$YWJj"},
		{"key missing", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"extra field", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$x"},
	}
	h := NewHasher(1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(t.Context(), "password", tt.phc)
			if ok || !errors.Is(err, errMalformedHash) {
				t.Fatalf("Verify(%q) = %v, %v; want false, errMalformedHash", tt.phc, ok, err)
			}
		})
	}
}

func TestVerifyDummy(t *testing.T) {
	p, err := parsePHC(dummyHash)
	if err != nil {
		t.Fatalf("dummyHash does not parse: %v", err)
	}
	if p.memory != argonMemoryKiB || p.time != argonTime || p.threads != argonThreads || len(p.key) != argonKeyLen {
		t.Fatalf("dummyHash params m=%d t=%d p=%d key=%d differ from those of new hashes", p.memory, p.time, p.threads, len(p.key))
	}
	if err := NewHasher(1).VerifyDummy(t.Context(), "any password"); err != nil {
		t.Fatalf("VerifyDummy: %v", err)
	}
}

// TestHasherBoundsConcurrency checks a caller waits for a slot and gives up
// with its context.
func TestHasherBoundsConcurrency(t *testing.T) {
	h := NewHasher(1)
	h.slots <- struct{}{} // a hash in progress holds the only slot
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := h.Hash(ctx, "password1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash with no free slot = %v, want DeadlineExceeded", err)
	}
	if _, err := h.Verify(ctx, "password1", dummyHash); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify with no free slot = %v, want DeadlineExceeded", err)
	}
	if err := h.VerifyDummy(ctx, "password1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("VerifyDummy with no free slot = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("waiting took %v", d)
	}
	<-h.slots
	if _, err := h.Hash(t.Context(), "password1"); err != nil {
		t.Fatalf("Hash after the slot freed: %v", err)
	}
	if len(h.slots) != 0 {
		t.Fatalf("slot not released: %d held", len(h.slots))
	}
}

func TestNewHasherDefault(t *testing.T) {
	if got := cap(NewHasher(0).slots); got < 1 {
		t.Fatalf("NewHasher(0) has %d slots", got)
	}
	if got := cap(NewHasher(3).slots); got != 3 {
		t.Fatalf("NewHasher(3) has %d slots", got)
	}
}
