package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Bounds of what the service takes from an identity provider.
const (
	// maxProviderDocBytes bounds the discovery document and the JWKS.
	maxProviderDocBytes = 256 << 10
	// maxJWKSKeys is the most keys kept from one JWKS; the rest are ignored.
	maxJWKSKeys = 50
	// minRSABits is the smallest RSA modulus accepted.
	minRSABits = 2048
	// jwksRefreshAfter is the age after which the keys are fetched again
	// at the next use, so a rotation at the provider is picked up.
	jwksRefreshAfter = 15 * time.Minute
	// jwksMaxAge is how long keys stay usable after the last successful
	// fetch when the provider cannot be reached; then its tokens are
	// refused until it answers again.
	jwksMaxAge = 24 * time.Hour
	// jwksMinRefetch is the shortest time between two fetches, however many
	// tokens with unknown kids arrive: a flood of forged tokens costs the
	// provider one request per interval.
	jwksMinRefetch = 30 * time.Second
	// providerFetchTimeout bounds one discovery or JWKS request.
	providerFetchTimeout = 5 * time.Second
)

// jwk is one key of a JWKS (RFC 7517) with the fields this service reads.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// publicKey is a verified key of the provider and the algorithm it serves.
type publicKey struct {
	alg string // RS256, ES256 or EdDSA
	key crypto.PublicKey
}

// keySet fetches and caches an issuer's signing keys: discovery once, then
// the JWKS, refreshed by age and on an unknown kid, never more often than
// jwksMinRefetch. It is safe for concurrent use.
type keySet struct {
	issuer string
	client *http.Client
	now    func() time.Time

	fetchMu sync.Mutex // one fetch at a time

	mu        sync.RWMutex
	jwksURI   string
	keys      map[string]publicKey // by kid
	fetchedAt time.Time            // of the last successful fetch
	triedAt   time.Time            // of the last attempt
}

// key returns the key with the given kid, fetching the JWKS first when it
// is old or (at most once per jwksMinRefetch) when the kid is unknown.
func (ks *keySet) key(ctx context.Context, kid string) (publicKey, error) {
	ks.mu.RLock()
	k, ok := ks.keys[kid]
	fresh := ks.now().Sub(ks.fetchedAt) < jwksRefreshAfter
	ks.mu.RUnlock()
	if ok && fresh {
		return k, nil
	}
	fetchErr := ks.refresh(ctx)
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	k, ok = ks.keys[kid]
	if ok && ks.now().Sub(ks.fetchedAt) < jwksMaxAge {
		return k, nil
	}
	if fetchErr != nil {
		return publicKey{}, fmt.Errorf("unknown key id %q; the provider's keys could not be fetched: %w", kid, fetchErr)
	}
	return publicKey{}, fmt.Errorf("unknown key id %q", kid)
}

// refresh fetches the keys unless a fetch was tried within jwksMinRefetch.
func (ks *keySet) refresh(ctx context.Context) error {
	ks.fetchMu.Lock()
	defer ks.fetchMu.Unlock()
	ks.mu.RLock()
	recent := !ks.triedAt.IsZero() && ks.now().Sub(ks.triedAt) < jwksMinRefetch
	jwksURI := ks.jwksURI
	ks.mu.RUnlock()
	if recent {
		return nil
	}
	ks.mu.Lock()
	ks.triedAt = ks.now()
	ks.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, providerFetchTimeout)
	defer cancel()
	if jwksURI == "" {
		u, err := ks.discover(ctx)
		if err != nil {
			return err
		}
		jwksURI = u
	}
	keys, err := ks.fetchKeys(ctx, jwksURI)
	if err != nil {
		return err
	}
	ks.mu.Lock()
	ks.jwksURI, ks.keys, ks.fetchedAt = jwksURI, keys, ks.now()
	ks.mu.Unlock()
	return nil
}

// discover reads the issuer's discovery document and returns its jwks_uri.
// The document must name the configured issuer exactly (OpenID Connect
// Discovery 1.0, section 4.3).
func (ks *keySet) discover(ctx context.Context) (string, error) {
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := ks.getJSON(ctx, strings.TrimSuffix(ks.issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	if doc.Issuer != ks.issuer {
		return "", fmt.Errorf("discovery: the document names issuer %q, want %q", doc.Issuer, ks.issuer)
	}
	u, err := url.Parse(doc.JWKSURI)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && strings.HasPrefix(ks.issuer, "http://"))) {
		return "", fmt.Errorf("discovery: jwks_uri %q is not an https URL", doc.JWKSURI)
	}
	return doc.JWKSURI, nil
}

// fetchKeys reads the JWKS at uri and keeps the usable signing keys.
func (ks *keySet) fetchKeys(ctx context.Context, uri string) (map[string]publicKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := ks.getJSON(ctx, uri, &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	keys := make(map[string]publicKey)
	for _, raw := range set.Keys {
		if len(keys) == maxJWKSKeys {
			break
		}
		var j jwk
		if json.Unmarshal(raw, &j) != nil || j.Kid == "" || (j.Use != "" && j.Use != "sig") {
			continue
		}
		if k, err := j.publicKey(); err == nil {
			keys[j.Kid] = k
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("jwks: no usable signing key (RS256, ES256 or EdDSA with a kid)")
	}
	return keys, nil
}

// getJSON fetches uri and decodes its JSON body into v, reading at most
// maxProviderDocBytes.
func (ks *keySet) getJSON(ctx context.Context, uri string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := ks.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", uri, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProviderDocBytes+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", uri, err)
	}
	if len(body) > maxProviderDocBytes {
		return fmt.Errorf("GET %s: body over %d bytes", uri, maxProviderDocBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", uri, err)
	}
	return nil
}

// publicKey turns j into a key of one of the accepted algorithms.
func (j jwk) publicKey() (publicKey, error) {
	var (
		k   publicKey
		err error
	)
	switch {
	case j.Kty == "RSA":
		k.alg = "RS256"
		k.key, err = j.rsaKey()
	case j.Kty == "EC" && j.Crv == "P-256":
		k.alg = "ES256"
		k.key, err = j.ecKey()
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		k.alg = "EdDSA"
		k.key, err = j.edKey()
	default:
		return k, fmt.Errorf("unsupported key type %q %q", j.Kty, j.Crv)
	}
	if err != nil {
		return k, err
	}
	if j.Alg != "" && j.Alg != k.alg {
		return k, fmt.Errorf("key %q is for %q", j.Kid, j.Alg)
	}
	return k, nil
}

func (j jwk) rsaKey() (*rsa.PublicKey, error) {
	n, err := b64url(j.N)
	if err != nil {
		return nil, err
	}
	e, err := b64url(j.E)
	if err != nil || len(e) == 0 || len(e) > 4 {
		return nil, errors.New("bad RSA exponent")
	}
	k := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	if k.N.BitLen() < minRSABits || k.E < 3 || k.E%2 == 0 {
		return nil, errors.New("RSA key too small or with a bad exponent")
	}
	return k, nil
}

func (j jwk) ecKey() (*ecdsa.PublicKey, error) {
	x, err := b64url(j.X)
	if err != nil {
		return nil, err
	}
	y, err := b64url(j.Y)
	if err != nil {
		return nil, err
	}
	if len(x) != 32 || len(y) != 32 {
		return nil, errors.New("P-256 coordinates must be 32 bytes")
	}
	// The uncompressed point; ParseUncompressedPublicKey checks it lies on
	// the curve.
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, fmt.Errorf("bad P-256 key: %w", err)
	}
	return k, nil
}

func (j jwk) edKey() (ed25519.PublicKey, error) {
	x, err := b64url(j.X)
	if err != nil || len(x) != ed25519.PublicKeySize {
		return nil, errors.New("bad Ed25519 key")
	}
	return ed25519.PublicKey(x), nil
}

func b64url(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
