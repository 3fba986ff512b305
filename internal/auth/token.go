package auth

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/chatsvc/chat/internal/chat"
)

// Token settings fixed by the contract.
const (
	// MinSecretLen is the shortest HS256 key accepted, in bytes.
	MinSecretLen = 32
	// MaxLeeway is the largest clock leeway accepted for exp and iat.
	MaxLeeway = 30 * time.Second
	// DefaultAccessTTL is the access-token lifetime when none is given.
	DefaultAccessTTL = 15 * time.Minute
	// DefaultIssuer is the iss claim when none is given.
	DefaultIssuer = "chat"
	// Audience is the aud claim of every access token.
	Audience = "chat"
	// TokenType is the typ header of every access token (RFC 9068).
	TokenType = "at+jwt"
	// maxTokenLen bounds the size of a token Parse looks at.
	maxTokenLen = 4096
)

// TokenOptions configures Tokens.
type TokenOptions struct {
	// Secret is the HS256 key, at least MinSecretLen bytes. Empty means a
	// random key for this process only: see Tokens.Ephemeral.
	Secret []byte
	// PreviousSecret, when set, is still accepted for verification so keys
	// can rotate without logging anyone out. At least MinSecretLen bytes.
	PreviousSecret []byte
	// PreviousUntil ends the acceptance of PreviousSecret. When zero it is
	// the moment the longest access token the previous key could have
	// signed has expired: NewTokens's time plus AccessTTL plus Leeway (the
	// previous key signed nothing after this process started).
	PreviousUntil time.Time
	// Issuer is the iss claim issued and required; DefaultIssuer when empty.
	Issuer string
	// Leeway is the clock skew tolerated on exp and iat, 0 to MaxLeeway.
	Leeway time.Duration
	// AccessTTL is the lifetime of an access token; DefaultAccessTTL when 0.
	AccessTTL time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Claims are the verified contents of an access token.
type Claims struct {
	UserID    string
	Username  string
	SessionID string
	ID        string // jti
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// jwtClaims is the JSON payload of an access token.
type jwtClaims struct {
	jwt.RegisteredClaims
	Name      string `json:"name,omitempty"`
	SessionID string `json:"sid,omitempty"`
}

// Validate requires the claims the service relies on; the jwt parser calls
// it after the registered-claim checks.
func (c jwtClaims) Validate() error {
	if c.Subject == "" || c.SessionID == "" || c.Name == "" {
		return fmt.Errorf("%w: sub, sid and name are required", jwt.ErrTokenRequiredClaimMissing)
	}
	return nil
}

// key is one HS256 key and its kid.
type key struct {
	secret []byte
	kid    string
}

// Tokens issues and verifies access tokens. It is safe for concurrent use.
type Tokens struct {
	current   key
	previous  *key
	prevUntil time.Time
	issuer    string
	leeway    time.Duration
	ttl       time.Duration
	now       func() time.Time
	ephemeral bool
	parser    *jwt.Parser
}

// NewTokens checks o and returns Tokens built on it.
func NewTokens(o TokenOptions) (*Tokens, error) {
	t := &Tokens{issuer: o.Issuer, leeway: o.Leeway, ttl: o.AccessTTL, now: o.Now}
	switch {
	case len(o.Secret) == 0:
		secret := make([]byte, MinSecretLen)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("auth: generate token key: %w", err)
		}
		t.current = newKey(secret)
		t.ephemeral = true
	case len(o.Secret) < MinSecretLen:
		return nil, fmt.Errorf("auth: token secret is %d bytes, want at least %d", len(o.Secret), MinSecretLen)
	default:
		t.current = newKey(o.Secret)
	}
	if len(o.PreviousSecret) > 0 {
		if len(o.PreviousSecret) < MinSecretLen {
			return nil, fmt.Errorf("auth: previous token secret is %d bytes, want at least %d", len(o.PreviousSecret), MinSecretLen)
		}
		k := newKey(o.PreviousSecret)
		t.previous = &k
	}
	if t.leeway < 0 || t.leeway > MaxLeeway {
		return nil, fmt.Errorf("auth: token leeway %v out of range 0s to %v", t.leeway, MaxLeeway)
	}
	if t.ttl < 0 {
		return nil, fmt.Errorf("auth: access token lifetime %v is negative", t.ttl)
	}
	if t.ttl == 0 {
		t.ttl = DefaultAccessTTL
	}
	if t.issuer == "" {
		t.issuer = DefaultIssuer
	}
	if t.now == nil {
		t.now = time.Now
	}
	t.prevUntil = o.PreviousUntil
	if t.prevUntil.IsZero() {
		t.prevUntil = t.now().Add(t.ttl + t.leeway)
	}
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(t.leeway),
		jwt.WithTimeFunc(t.now),
		jwt.WithStrictDecoding(),
	)
	return t, nil
}

func newKey(secret []byte) key {
	return key{secret: append([]byte(nil), secret...), kid: KeyID(secret)}
}

// KeyID returns the kid of secret: the first 16 hex characters of its
// SHA-256, the same on every node.
func KeyID(secret []byte) string {
	sum := sha256.Sum256(secret)
	return hex.EncodeToString(sum[:8])
}

// deriveKey returns a key for purpose, derived from the current secret
// with HKDF-SHA256 and purpose as its label, so it never equals the token
// key or a key for another purpose.
func (t *Tokens) deriveKey(purpose string) []byte {
	k, err := hkdf.Key(sha256.New, t.current.secret, nil, purpose, sha256.Size)
	if err != nil {
		panic("auth: hkdf: " + err.Error()) // only for a length over 255 × 32
	}
	return k
}

// Ephemeral reports whether the signing key was generated at random because
// no secret was configured: tokens then die with the process and no other
// node accepts them.
func (t *Tokens) Ephemeral() bool { return t.ephemeral }

// TokenTTL returns the lifetime of the access tokens Issue signs.
func (t *Tokens) TokenTTL() time.Duration { return t.ttl }

// Issue signs an access token for u in session sessionID with the current
// key and returns it with its expiry.
func (t *Tokens) Issue(u chat.User, sessionID string) (string, time.Time, error) {
	jti, err := uuid.NewV7()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: issue token: %w", err)
	}
	return t.IssueAt(u, sessionID, t.now(), jti.String())
}

// IssueAt signs an access token for u in session sessionID as issued at
// at (truncated to the second) with the given jti. The same arguments give
// the same token, which is how a retried refresh gets its pair again.
func (t *Tokens) IssueAt(u chat.User, sessionID string, at time.Time, jti string) (string, time.Time, error) {
	if u.ID == "" || u.Username == "" || sessionID == "" || jti == "" {
		return "", time.Time{}, errors.New("auth: issue token: user id, username, session id and jti are required")
	}
	now := at.Truncate(time.Second)
	exp := now.Add(t.ttl)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwtClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   u.ID,
			Audience:  jwt.ClaimStrings{Audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        jti,
		},
		Name:      u.Username,
		SessionID: sessionID,
	})
	tok.Header["typ"] = TokenType
	tok.Header["kid"] = t.current.kid
	s, err := tok.SignedString(t.current.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: issue token: %w", err)
	}
	return s, exp, nil
}

// Parse verifies an access token and returns its claims. It accepts only
// HS256 tokens of type at+jwt in canonical base64url, signed with the
// current or the previous key (chosen by kid; jku, x5u and jwk headers are
// ignored), with this issuer, audience "chat", an exp and sub, sid and name
// claims, within the leeway of exp and iat. An expired but
// otherwise valid token gives an error whose chat.ErrorCode is
// token_expired; every other failure gives invalid_token. The cause is
// wrapped for logging.
func (t *Tokens) Parse(token string) (Claims, error) {
	if token == "" || len(token) > maxTokenLen {
		return Claims{}, fmt.Errorf("auth: parse token: %w: empty or longer than %d bytes", chat.ErrInvalidToken, maxTokenLen)
	}
	var c jwtClaims
	_, err := t.parser.ParseWithClaims(token, &c, t.keyFor)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) && t.onlyExpired(&c) {
			return Claims{}, fmt.Errorf("auth: parse token: %w: %w", chat.ErrTokenExpired, err)
		}
		return Claims{}, fmt.Errorf("auth: parse token: %w: %w", chat.ErrInvalidToken, err)
	}
	// No token this service issues lives longer than its lifetime: a
	// longer one was not made here, or with another configuration.
	if c.IssuedAt == nil || c.ExpiresAt.Sub(c.IssuedAt.Time) > t.ttl+t.leeway {
		return Claims{}, fmt.Errorf("auth: parse token: %w: no iat, or exp - iat above the access token lifetime", chat.ErrInvalidToken)
	}
	return Claims{
		UserID:    c.Subject,
		Username:  c.Name,
		SessionID: c.SessionID,
		ID:        c.ID,
		IssuedAt:  c.IssuedAt.Time,
		ExpiresAt: c.ExpiresAt.Time,
	}, nil
}

// keyFor is the jwt.Keyfunc: it checks the header and picks the key named by
// kid. It is called after the algorithm check, before the signature check.
func (t *Tokens) keyFor(tok *jwt.Token) (any, error) {
	if tok.Method != jwt.SigningMethodHS256 {
		return nil, fmt.Errorf("unexpected signing method %v", tok.Header["alg"])
	}
	if typ, _ := tok.Header["typ"].(string); !strings.EqualFold(typ, TokenType) && !strings.EqualFold(typ, "application/"+TokenType) {
		return nil, fmt.Errorf("token type %q, want %q", tok.Header["typ"], TokenType)
	}
	kid, _ := tok.Header["kid"].(string)
	switch {
	case kid == t.current.kid:
		return t.current.secret, nil
	case t.previous != nil && kid == t.previous.kid:
		if !t.now().Before(t.prevUntil) {
			return nil, fmt.Errorf("key id %q: the previous key is no longer accepted", kid)
		}
		return t.previous.secret, nil
	}
	return nil, fmt.Errorf("unknown key id %q", kid)
}

// onlyExpired reports whether expiry is the only thing wrong with claims c,
// whose signature the parser has already verified (the parser reports
// ErrTokenExpired only after a good signature). It re-runs the claim checks
// at a moment just before exp.
func (t *Tokens) onlyExpired(c *jwtClaims) bool {
	if c.ExpiresAt == nil {
		return false
	}
	at := c.ExpiresAt.Add(-time.Nanosecond)
	v := jwt.NewValidator(
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(t.leeway),
		jwt.WithTimeFunc(func() time.Time { return at }),
	)
	return v.Validate(c) == nil
}
