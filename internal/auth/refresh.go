package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// refreshTokenBytes is the entropy of a refresh token: 256 bits.
const refreshTokenBytes = 32

// maxRefreshTokenLen bounds the refresh tokens the service looks up; every
// token it issues is 43 characters.
const maxRefreshTokenLen = 256

// NewRefreshToken returns a fresh opaque refresh token (32 random bytes,
// unpadded base64url) and the hash under which it is stored.
func NewRefreshToken() (token string, hash []byte, err error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("auth: new refresh token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashRefreshToken(token), nil
}

// HashRefreshToken returns the SHA-256 of token, the only form of a refresh
// token the store keeps. A plain hash suffices because the token carries 256
// bits of randomness.
func HashRefreshToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
