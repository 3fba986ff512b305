package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
)

func TestRegister(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{})
		tests := []struct {
			name     string
			username string
			password string
			status   int
			code     string
			wantName string
		}{
			{name: "created, lower-cased", username: "Alice", password: testPassword, status: http.StatusCreated, wantName: "alice"},
			{name: "all allowed characters", username: "b0b_.-x", password: "12345678", status: http.StatusCreated, wantName: "b0b_.-x"},
			{name: "taken", username: "alice", password: testPassword, status: http.StatusConflict, code: chat.CodeUsernameTaken},
			{name: "taken in another case", username: "ALICE", password: "another password", status: http.StatusConflict, code: chat.CodeUsernameTaken},
			{name: "username too short", username: "al", password: testPassword, status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{name: "username too long", username: strings.Repeat("a", 33), password: testPassword, status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{name: "username with space", username: "al ice", password: testPassword, status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{name: "username not ascii", username: "älice", password: testPassword, status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{name: "password too short", username: "carol", password: "1234567", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{name: "password too long", username: "carol", password: strings.Repeat("p", 129), status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rec := e.post("/api/v1/auth/register", map[string]string{"username": tt.username, "password": tt.password})
				if tt.code != "" {
					wantError(t, rec, tt.status, tt.code)
					return
				}
				if rec.Code != tt.status {
					t.Fatalf("status %d, want %d (%s)", rec.Code, tt.status, rec.Body)
				}
				var out struct {
					User chat.UserJSON `json:"user"`
				}
				decode(t, rec, &out)
				if out.User.Username != tt.wantName || out.User.ID == "" {
					t.Fatalf("user %+v, want username %q and an id", out.User, tt.wantName)
				}
				wantTime(t, "created_at", out.User.CreatedAt)
			})
		}

		t.Run("registered name logs in", func(t *testing.T) {
			p := e.login("ALICE")
			rec := e.get("/api/v1/me", p.AccessToken)
			var out struct {
				User chat.UserJSON `json:"user"`
			}
			decode(t, rec, &out)
			if out.User.Username != "alice" {
				t.Fatalf("me = %+v, want alice", out.User)
			}
		})
	})
}

func TestRegisterClosed(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{registrationClosed: true})
	rec := e.post("/api/v1/auth/register", map[string]string{"username": "alice", "password": testPassword})
	wantError(t, rec, http.StatusForbidden, chat.CodeRegistrationClosed)
}

func TestRegisterThrottle(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{registerRate: chat.Rate{N: 2, Per: time.Minute}})
	from := func(ip, name string) *httptest.ResponseRecorder {
		b, _ := json.Marshal(map[string]string{"username": name, "password": testPassword})
		return e.do(request{method: http.MethodPost, path: "/api/v1/auth/register", body: string(b), remoteAddr: ip + ":4000"})
	}
	for i, name := range []string{"user1", "user2"} {
		if rec := from("198.51.100.7", name); rec.Code != http.StatusCreated {
			t.Fatalf("registration %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := from("198.51.100.7", "user3")
	wantError(t, rec, http.StatusTooManyRequests, chat.CodeTooManyAttempts)
	wantRetryAfter(t, rec, time.Minute)
	if rec := from("198.51.100.8", "user3"); rec.Code != http.StatusCreated {
		t.Fatalf("registration from another IP: %d %s", rec.Code, rec.Body)
	}
}

// wantRetryAfter checks a Retry-After header of whole seconds in (0, max].
func wantRetryAfter(t testing.TB, rec *httptest.ResponseRecorder, max time.Duration) {
	t.Helper()
	v := rec.Header().Get("Retry-After")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || time.Duration(n)*time.Second > max {
		t.Fatalf("Retry-After %q, want whole seconds from 1 to %v", v, max)
	}
}

func TestLogin(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{})
		u := e.register("alice")

		t.Run("token pair", func(t *testing.T) {
			rec := e.post("/api/v1/auth/login", map[string]string{"username": "Alice", "password": testPassword})
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Fatalf("Cache-Control %q, want no-store", cc)
			}
			raw := wantTokenPair(t, rec)
			claims, err := e.tokens.Parse(raw.AccessToken)
			if err != nil {
				t.Fatalf("access token: %v", err)
			}
			if claims.UserID != u.ID || claims.Username != "alice" || claims.SessionID == "" {
				t.Fatalf("claims %+v, want user %s alice with a session", claims, u.ID)
			}
		})

		t.Run("unknown user and wrong password answer alike", func(t *testing.T) {
			unknown := e.post("/api/v1/auth/login", map[string]string{"username": "nobody", "password": testPassword})
			wrong := e.post("/api/v1/auth/login", map[string]string{"username": "alice", "password": "wrong password"})
			wantError(t, unknown, http.StatusUnauthorized, chat.CodeInvalidCredentials)
			wantError(t, wrong, http.StatusUnauthorized, chat.CodeInvalidCredentials)
			if unknown.Body.String() != wrong.Body.String() {
				t.Fatalf("bodies differ:\nunknown user:   %s\nwrong password: %s", unknown.Body, wrong.Body)
			}
			for _, h := range []string{"Content-Type", "WWW-Authenticate", "Retry-After", "Cache-Control"} {
				if a, b := unknown.Header().Get(h), wrong.Header().Get(h); a != b {
					t.Fatalf("header %s differs: %q vs %q", h, a, b)
				}
			}
		})

		t.Run("invalid shapes", func(t *testing.T) {
			for _, body := range []map[string]string{
				{"username": "alice"},
				{"password": testPassword},
				{"username": "a", "password": testPassword},
				{"username": "alice", "password": "short"},
				{"username": "alice", "password": strings.Repeat("x", 129)},
			} {
				wantError(t, e.post("/api/v1/auth/login", body), http.StatusBadRequest, chat.CodeInvalidRequest)
			}
		})
	})
}

// refresh exchanges the refresh token tok and fails unless it gets 200 with
// a token pair.
func (e *env) refresh(t testing.TB, tok string) chat.TokenPair {
	t.Helper()
	rec := e.post("/api/v1/auth/refresh", map[string]string{"refresh_token": tok})
	if rec.Code != http.StatusOK {
		t.Fatalf("refresh: %d %s", rec.Code, rec.Body)
	}
	return wantTokenPair(t, rec)
}

// wantTokenPair checks the TokenPair shape (integers for the lifetimes) and
// returns it.
func wantTokenPair(t testing.TB, rec *httptest.ResponseRecorder) chat.TokenPair {
	t.Helper()
	var raw map[string]any
	d := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	d.UseNumber()
	if err := d.Decode(&raw); err != nil {
		t.Fatalf("decode %q: %v", rec.Body, err)
	}
	want := []string{"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"}
	if len(raw) != len(want) {
		t.Fatalf("token pair %s has fields %v, want %v", rec.Body, keys(raw), want)
	}
	for _, k := range []string{"expires_in", "refresh_expires_in"} {
		n, ok := raw[k].(json.Number)
		if !ok {
			t.Fatalf("%s = %#v, want a JSON integer", k, raw[k])
		}
		if _, err := n.Int64(); err != nil || strings.ContainsAny(n.String(), ".eE") {
			t.Fatalf("%s = %s, want a JSON integer", k, n)
		}
	}
	var p chat.TokenPair
	decode(t, rec, &p)
	if p.TokenType != "Bearer" || p.AccessToken == "" || p.RefreshToken == "" {
		t.Fatalf("token pair %+v", p)
	}
	if p.ExpiresIn != int64(auth.DefaultAccessTTL/time.Second) {
		t.Fatalf("expires_in %d, want %d", p.ExpiresIn, int64(auth.DefaultAccessTTL/time.Second))
	}
	if want := int64(auth.DefaultRefreshTTL / time.Second); p.RefreshExpiresIn < want-5 || p.RefreshExpiresIn > want {
		t.Fatalf("refresh_expires_in %d, want about %d", p.RefreshExpiresIn, want)
	}
	if strings.Count(p.RefreshToken, ".") == 2 {
		t.Fatalf("refresh token %q looks like a JWT; it must be opaque", p.RefreshToken)
	}
	return p
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestLoginThrottle(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{loginRate: chat.Rate{N: 3, Per: time.Minute}})
	e.register("alice")
	e.register("bob")
	login := func(ip, name, password string) *httptest.ResponseRecorder {
		b, _ := json.Marshal(map[string]string{"username": name, "password": password})
		return e.do(request{method: http.MethodPost, path: "/api/v1/auth/login", body: string(b), remoteAddr: ip + ":5000"})
	}
	const ip = "203.0.113.9"
	for range 3 {
		wantError(t, login(ip, "alice", "wrong password"), http.StatusUnauthorized, chat.CodeInvalidCredentials)
	}
	tests := []struct {
		name     string
		ip, user string
		password string
		status   int
	}{
		{name: "wrong password is throttled", ip: ip, user: "alice", password: "wrong password", status: http.StatusTooManyRequests},
		{name: "right password is throttled too", ip: ip, user: "alice", password: testPassword, status: http.StatusTooManyRequests},
		{name: "case does not escape the throttle", ip: ip, user: "ALICE", password: testPassword, status: http.StatusTooManyRequests},
		{name: "other username from the same IP", ip: ip, user: "bob", password: testPassword, status: http.StatusOK},
		{name: "same username from another IP", ip: "203.0.113.10", user: "alice", password: testPassword, status: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := login(tt.ip, tt.user, tt.password)
			if tt.status == http.StatusTooManyRequests {
				wantError(t, rec, tt.status, chat.CodeTooManyAttempts)
				wantRetryAfter(t, rec, time.Minute)
				return
			}
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tt.status, rec.Body)
			}
		})
	}
}

func TestLoginIPThrottle(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{loginIPRate: chat.Rate{N: 2, Per: time.Minute}})
	login := func(ip, name string) *httptest.ResponseRecorder {
		b, _ := json.Marshal(map[string]string{"username": name, "password": testPassword})
		return e.do(request{method: http.MethodPost, path: "/api/v1/auth/login", body: string(b), remoteAddr: ip + ":5000"})
	}
	wantError(t, login("203.0.113.1", "user1"), http.StatusUnauthorized, chat.CodeInvalidCredentials)
	wantError(t, login("203.0.113.1", "user2"), http.StatusUnauthorized, chat.CodeInvalidCredentials)
	rec := login("203.0.113.1", "user3")
	wantError(t, rec, http.StatusTooManyRequests, chat.CodeTooManyAttempts)
	wantRetryAfter(t, rec, time.Minute)
	wantError(t, login("203.0.113.2", "user3"), http.StatusUnauthorized, chat.CodeInvalidCredentials)
}

func TestRefresh(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{})
		e.register("alice")
		refresh := func(tok string) *httptest.ResponseRecorder {
			return e.post("/api/v1/auth/refresh", map[string]string{"refresh_token": tok})
		}

		first := e.login("alice")
		second := e.refresh(t, first.RefreshToken)
		if second.RefreshToken == first.RefreshToken {
			t.Fatal("refresh returned the same refresh token")
		}
		c1, err1 := e.tokens.Parse(first.AccessToken)
		c2, err2 := e.tokens.Parse(second.AccessToken)
		if err1 != nil || err2 != nil || c1.SessionID != c2.SessionID {
			t.Fatalf("sessions %q (%v) and %q (%v), want the same", c1.SessionID, err1, c2.SessionID, err2)
		}
		if rec := e.get("/api/v1/me", second.AccessToken); rec.Code != http.StatusOK {
			t.Fatalf("me with the new access token: %d %s", rec.Code, rec.Body)
		}

		// The spent token is refused, and presenting it revokes the session.
		wantError(t, refresh(first.RefreshToken), http.StatusUnauthorized, chat.CodeInvalidToken)
		wantError(t, refresh(second.RefreshToken), http.StatusUnauthorized, chat.CodeInvalidToken)
		for name, tok := range map[string]string{"first": first.AccessToken, "second": second.AccessToken} {
			rec := e.get("/api/v1/me", tok)
			wantError(t, rec, http.StatusUnauthorized, chat.CodeInvalidToken)
			if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%s access token: WWW-Authenticate %q", name, rec.Header().Get("WWW-Authenticate"))
			}
		}

		// Another session of the same user is not affected.
		other := e.login("alice")
		e.refresh(t, other.RefreshToken)

		for name, body := range map[string]string{
			"unknown":    `{"refresh_token":"bm90LWEtcmVhbC10b2tlbg"}`,
			"overlong":   `{"refresh_token":"` + strings.Repeat("x", 5000) + `"}`,
			"access jwt": `{"refresh_token":"` + other.AccessToken + `"}`,
		} {
			t.Run(name, func(t *testing.T) {
				rec := e.do(request{method: http.MethodPost, path: "/api/v1/auth/refresh", body: body})
				wantError(t, rec, http.StatusUnauthorized, chat.CodeInvalidToken)
			})
		}
		t.Run("missing", func(t *testing.T) {
			rec := e.do(request{method: http.MethodPost, path: "/api/v1/auth/refresh", body: `{}`})
			wantError(t, rec, http.StatusBadRequest, chat.CodeInvalidRequest)
		})
	})
}

func TestLogout(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{})
		e.register("alice")
		logout := func(tok string) *httptest.ResponseRecorder {
			return e.post("/api/v1/auth/logout", map[string]string{"refresh_token": tok})
		}
		want204 := func(t *testing.T, rec *httptest.ResponseRecorder) {
			t.Helper()
			if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
				t.Fatalf("logout: %d %q, want 204 without a body", rec.Code, rec.Body)
			}
		}

		p := e.login("alice")
		cur := e.refresh(t, p.RefreshToken)

		want204(t, logout(cur.RefreshToken))
		// The access token of the revoked session is refused at once.
		wantError(t, e.get("/api/v1/me", cur.AccessToken), http.StatusUnauthorized, chat.CodeInvalidToken)
		wantError(t, e.get("/api/v1/me", p.AccessToken), http.StatusUnauthorized, chat.CodeInvalidToken)
		// The session cannot be refreshed any more.
		wantError(t, e.post("/api/v1/auth/refresh", map[string]string{"refresh_token": cur.RefreshToken}),
			http.StatusUnauthorized, chat.CodeInvalidToken)

		t.Run("idempotent", func(t *testing.T) { want204(t, logout(cur.RefreshToken)) })
		t.Run("spent token of the session", func(t *testing.T) { want204(t, logout(p.RefreshToken)) })
		t.Run("spent token of a live session", func(t *testing.T) {
			q := e.login("alice")
			next := e.refresh(t, q.RefreshToken)
			want204(t, logout(q.RefreshToken))
			wantError(t, e.get("/api/v1/me", next.AccessToken), http.StatusUnauthorized, chat.CodeInvalidToken)
		})
		t.Run("unknown token", func(t *testing.T) {
			wantError(t, logout("bm90LWEtcmVhbC10b2tlbg"), http.StatusUnauthorized, chat.CodeInvalidToken)
		})
		t.Run("other sessions live on", func(t *testing.T) {
			q := e.login("alice")
			r := e.login("alice")
			want204(t, logout(q.RefreshToken))
			if rec := e.get("/api/v1/me", r.AccessToken); rec.Code != http.StatusOK {
				t.Fatalf("me in another session: %d %s", rec.Code, rec.Body)
			}
		})
	})
}

func TestMe(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{})
		u := e.register("alice")
		p := e.login("alice")
		claims, err := e.tokens.Parse(p.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		user := chat.User{ID: claims.UserID, Username: claims.Username}

		t.Run("ok", func(t *testing.T) {
			rec := e.get("/api/v1/me", p.AccessToken)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			var out struct {
				User chat.UserJSON `json:"user"`
			}
			decode(t, rec, &out)
			if out.User != u {
				t.Fatalf("me = %+v, want %+v", out.User, u)
			}
		})

		// A token issued an hour ago with the same key: valid but expired.
		past, err := auth.NewTokens(auth.TokenOptions{
			Secret: []byte(testSecret),
			Now:    func() time.Time { return time.Now().Add(-time.Hour) },
		})
		if err != nil {
			t.Fatal(err)
		}
		expired, _, err := past.Issue(user, claims.SessionID)
		if err != nil {
			t.Fatal(err)
		}
		// Same claims and kid, another key.
		otherKey, _, err := forge(t, []byte("another-secret-another-secret-another"), auth.KeyID([]byte(testSecret)), "HS256", claims)
		if err != nil {
			t.Fatal(err)
		}
		none, _, _ := forge(t, nil, auth.KeyID([]byte(testSecret)), "none", claims)
		parts := strings.Split(p.AccessToken, ".")
		tampered := parts[0] + "." + tamper(t, parts[1]) + "." + parts[2]

		q := e.login("alice")
		if rec := e.post("/api/v1/auth/logout", map[string]string{"refresh_token": q.RefreshToken}); rec.Code != http.StatusNoContent {
			t.Fatalf("logout: %d %s", rec.Code, rec.Body)
		}

		tests := []struct {
			name      string
			header    string
			code      string
			challenge string // exact WWW-Authenticate when set, else a Bearer prefix
		}{
			{name: "missing", code: chat.CodeInvalidToken, challenge: "Bearer"},
			{name: "expired", header: "Bearer " + expired, code: chat.CodeTokenExpired},
			{name: "malformed", header: "Bearer not-a-jwt", code: chat.CodeInvalidToken},
			{name: "empty bearer", header: "Bearer ", code: chat.CodeInvalidToken},
			{name: "basic scheme", header: "Basic YWxpY2U6cGFzc3dvcmQ=", code: chat.CodeInvalidToken},
			{name: "refresh token as bearer", header: "Bearer " + p.RefreshToken, code: chat.CodeInvalidToken},
			{name: "forged with another key", header: "Bearer " + otherKey, code: chat.CodeInvalidToken},
			{name: "alg none", header: "Bearer " + none, code: chat.CodeInvalidToken},
			{name: "tampered claims", header: "Bearer " + tampered, code: chat.CodeInvalidToken},
			{name: "revoked session", header: "Bearer " + q.AccessToken, code: chat.CodeInvalidToken},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var h http.Header
				if tt.header != "" {
					h = http.Header{"Authorization": {tt.header}}
				}
				rec := e.do(request{method: http.MethodGet, path: "/api/v1/me", header: h})
				wantError(t, rec, http.StatusUnauthorized, tt.code)
				ch := rec.Header().Get("WWW-Authenticate")
				if tt.challenge != "" && ch != tt.challenge || !strings.HasPrefix(ch, "Bearer") {
					t.Fatalf("WWW-Authenticate %q, want %q", ch, cmpOr(tt.challenge, "Bearer …"))
				}
			})
		}
		t.Run("still valid after the failures", func(t *testing.T) {
			if rec := e.get("/api/v1/me", p.AccessToken); rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		})
	})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// forge signs claims like the service's own tokens would carry them, with
// the given key, kid and alg ("none" for an unsigned token).
func forge(t testing.TB, secret []byte, kid, alg string, c auth.Claims) (string, time.Time, error) {
	t.Helper()
	now := time.Now()
	exp := now.Add(10 * time.Minute)
	mc := jwt.MapClaims{
		"iss": auth.DefaultIssuer, "aud": []string{auth.Audience}, "sub": c.UserID, "name": c.Username,
		"sid": c.SessionID, "jti": "forged", "iat": now.Unix(), "exp": exp.Unix(),
	}
	var tok *jwt.Token
	var key any = secret
	if alg == "none" {
		tok = jwt.NewWithClaims(jwt.SigningMethodNone, mc)
		key = jwt.UnsafeAllowNoneSignatureType
	} else {
		tok = jwt.NewWithClaims(jwt.SigningMethodHS256, mc)
	}
	tok.Header["typ"] = auth.TokenType
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	return s, exp, err
}

// tamper decodes a JWT payload, changes its name claim and encodes it again.
func tamper(t testing.TB, payload string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["name"] = "mallory"
	b, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
