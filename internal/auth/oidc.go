package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chatsvc/chat/internal/chat"
)

// DefaultUsernameClaim is the claim an external token's username is taken
// from when OIDCOptions leaves it empty.
const DefaultUsernameClaim = "preferred_username"

// External-identity limits.
const (
	// maxSubjectLen bounds the sub claim stored as an identity.
	maxSubjectLen = 255
	// externalUserCacheTTL is how long the user of an (issuer, sub) is
	// remembered; the link never changes, so this only bounds memory use.
	externalUserCacheTTL = 5 * time.Minute
	// externalUserCacheMax bounds the number of identities remembered.
	externalUserCacheMax = 10_000
	// ExternalSessionPrefix starts the session id of every external token.
	ExternalSessionPrefix = "ext-"
)

// externalAlgs are the only signature algorithms accepted from a provider.
var externalAlgs = []string{"RS256", "ES256", "EdDSA"}

// ExternalStore is the storage OIDC needs. Usernames passed to it are
// already normalised.
type ExternalStore interface {
	// UserByExternalID returns the user linked to (issuer, subject);
	// chat.ErrNotFound when there is none.
	UserByExternalID(ctx context.Context, issuer, subject string) (chat.User, error)
	// CreateExternalUser makes a user linked to (issuer, subject), or
	// returns the one already linked; chat.ErrUsernameTaken when another
	// user holds the name.
	CreateExternalUser(ctx context.Context, issuer, subject, username, passwordHash string) (chat.User, error)
}

// OIDCOptions configures OIDC. Issuer, Audience and Store are required.
type OIDCOptions struct {
	// Issuer is the provider's issuer URL, exactly as its tokens' iss.
	Issuer string
	// Audience must be among each token's aud.
	Audience string
	// UsernameClaim names the claim a new user's username comes from;
	// DefaultUsernameClaim when empty.
	UsernameClaim string
	// Leeway is the clock skew tolerated on exp, nbf and iat.
	Leeway time.Duration
	Store  ExternalStore
	// Client fetches discovery and the JWKS; a client with a timeout when
	// nil.
	Client *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// OIDC verifies access tokens of an external OpenID Connect provider and
// maps each (issuer, sub) to a user of its own, made on first sight. It is
// safe for concurrent use.
type OIDC struct {
	issuer, audience, nameClaim string
	store                       ExternalStore
	keys                        *keySet
	parser                      *jwt.Parser
	now                         func() time.Time

	mu    sync.Mutex
	users map[string]cachedUser // by subject
}

type cachedUser struct {
	user  chat.User
	until time.Time
}

// NewOIDC checks o and returns an OIDC verifier. It makes no request: the
// provider is first asked for its keys when its first token arrives, so the
// service starts while the provider is away.
func NewOIDC(o OIDCOptions) (*OIDC, error) {
	if o.Issuer == "" || o.Audience == "" || o.Store == nil {
		return nil, errors.New("auth: oidc: issuer, audience and store are required")
	}
	if o.Leeway < 0 || o.Leeway > MaxLeeway {
		return nil, fmt.Errorf("auth: oidc: leeway %v out of range 0s to %v", o.Leeway, MaxLeeway)
	}
	if o.UsernameClaim == "" {
		o.UsernameClaim = DefaultUsernameClaim
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: providerFetchTimeout}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &OIDC{
		issuer:    o.Issuer,
		audience:  o.Audience,
		nameClaim: o.UsernameClaim,
		store:     o.Store,
		keys:      &keySet{issuer: o.Issuer, client: o.Client, now: o.Now},
		parser: jwt.NewParser(
			jwt.WithValidMethods(externalAlgs),
			jwt.WithIssuer(o.Issuer),
			jwt.WithAudience(o.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(o.Leeway),
			jwt.WithTimeFunc(o.Now),
		),
		now:   o.Now,
		users: make(map[string]cachedUser),
	}, nil
}

// Issuer returns the provider's issuer URL.
func (o *OIDC) Issuer() string { return o.issuer }

// Owns reports whether token claims to come from this provider (its iss,
// read without verification). Only such tokens go to Authenticate.
func (o *OIDC) Owns(token string) bool {
	if token == "" || len(token) > maxTokenLen {
		return false
	}
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		return false
	}
	return c.Issuer == o.issuer
}

// Authenticate verifies an access token of the provider and returns the
// claims of its user, making the user on first sight. Errors have code
// token_expired or invalid_token, username_taken when the username claim
// names another user, or internal when the store fails.
func (o *OIDC) Authenticate(ctx context.Context, token string) (Claims, error) {
	if token == "" || len(token) > maxTokenLen {
		return Claims{}, fmt.Errorf("auth: oidc: %w: empty or longer than %d bytes", chat.ErrInvalidToken, maxTokenLen)
	}
	claims := jwt.MapClaims{}
	_, err := o.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		return o.keyFor(ctx, t)
	})
	switch {
	case errors.Is(err, jwt.ErrTokenExpired) && !errors.Is(err, jwt.ErrTokenSignatureInvalid) && o.onlyExpired(claims):
		return Claims{}, fmt.Errorf("auth: oidc: %w: %w", chat.ErrTokenExpired, err)
	case err != nil:
		return Claims{}, fmt.Errorf("auth: oidc: %w: %w", chat.ErrInvalidToken, err)
	}
	sub, _ := claims["sub"].(string)
	if sub == "" || len(sub) > maxSubjectLen {
		return Claims{}, fmt.Errorf("auth: oidc: %w: sub must be 1 to %d bytes", chat.ErrInvalidToken, maxSubjectLen)
	}
	u, err := o.user(ctx, sub, claims)
	if err != nil {
		return Claims{}, err
	}
	return o.toClaims(u, sub, claims), nil
}

// keyFor picks the provider's key named by kid for the token's algorithm.
func (o *OIDC) keyFor(ctx context.Context, t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errors.New("no kid in the header")
	}
	k, err := o.keys.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	if t.Method.Alg() != k.alg {
		return nil, fmt.Errorf("key %q is for %s, the token says %s", kid, k.alg, t.Method.Alg())
	}
	return k.key, nil
}

// onlyExpired reports whether expiry is the only thing wrong with the
// verified claims c.
func (o *OIDC) onlyExpired(c jwt.MapClaims) bool {
	exp, err := c.GetExpirationTime()
	if err != nil || exp == nil {
		return false
	}
	at := exp.Add(-time.Nanosecond)
	v := jwt.NewValidator(jwt.WithIssuer(o.issuer), jwt.WithAudience(o.audience),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return at }))
	return v.Validate(c) == nil
}

// user returns the user linked to sub, making it from the username claim
// on first sight.
func (o *OIDC) user(ctx context.Context, sub string, c jwt.MapClaims) (chat.User, error) {
	now := o.now()
	o.mu.Lock()
	cu, ok := o.users[sub]
	o.mu.Unlock()
	if ok && now.Before(cu.until) {
		return cu.user, nil
	}
	u, err := o.store.UserByExternalID(ctx, o.issuer, sub)
	if errors.Is(err, chat.ErrNotFound) {
		u, err = o.create(ctx, sub, c)
	}
	if err != nil {
		return chat.User{}, err
	}
	o.mu.Lock()
	if len(o.users) >= externalUserCacheMax {
		clear(o.users)
	}
	o.users[sub] = cachedUser{user: u, until: now.Add(externalUserCacheTTL)}
	o.mu.Unlock()
	return u, nil
}

// create makes the user of a new identity, named by the username claim.
func (o *OIDC) create(ctx context.Context, sub string, c jwt.MapClaims) (chat.User, error) {
	raw, _ := c[o.nameClaim].(string)
	name, err := chat.NormalizeUsername(raw)
	if err != nil {
		return chat.User{}, fmt.Errorf("auth: oidc: %w: claim %s must be a username of 3 to 32 characters of a-z 0-9 _ . -", chat.ErrInvalidToken, o.nameClaim)
	}
	u, err := o.store.CreateExternalUser(ctx, o.issuer, sub, name, unusableHash())
	if errors.Is(err, chat.ErrUsernameTaken) {
		// Refused like any token the service cannot accept: the client sees
		// 401 invalid_token with this reason, on REST and /ws alike.
		return chat.User{}, chat.Errorf(chat.CodeInvalidToken, "the username %q of this identity belongs to another account; ask an operator", name)
	}
	if err != nil {
		return chat.User{}, fmt.Errorf("auth: oidc: %w", err)
	}
	return u, nil
}

// toClaims builds the Claims of a verified external token. Its session id
// is derived from the issuer, the subject and the provider's sid claim
// (when present), so every token of one provider session, renewed ones
// included, has the same session id.
func (o *OIDC) toClaims(u chat.User, sub string, c jwt.MapClaims) Claims {
	sid, _ := c["sid"].(string)
	h := sha256.Sum256([]byte(o.issuer + "\x00" + sub + "\x00" + sid))
	out := Claims{UserID: u.ID, Username: u.Username, SessionID: ExternalSessionPrefix + hex.EncodeToString(h[:16])}
	out.ID, _ = c["jti"].(string)
	if iat, err := c.GetIssuedAt(); err == nil && iat != nil {
		out.IssuedAt = iat.Time
	}
	if exp, err := c.GetExpirationTime(); err == nil && exp != nil {
		out.ExpiresAt = exp.Time
	}
	return out
}

// unusableHash returns a well-formed argon2id hash of a random key that no
// password derives, for users who sign in through a provider: a password
// login for them fails like a wrong password.
func unusableHash() string {
	p := phc{memory: argonMemoryKiB, time: argonTime, threads: argonThreads, salt: make([]byte, 16), key: make([]byte, 32)}
	_, _ = rand.Read(p.salt) // crypto/rand.Read never fails
	_, _ = rand.Read(p.key)
	return encodePHC(p)
}
