package httpapi

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/chatsvc/chat/internal/auth"
)

// claimsKey is where requireAuth stores the Claims in the echo.Context.
const claimsKey = "auth.claims"

// authenticator checks an access token: signature, claims and session.
type authenticator interface {
	Authenticate(ctx context.Context, accessToken string) (auth.Claims, error)
}

// requireAuth authenticates every request by its `Authorization: Bearer`
// header and stores the Claims for claimsFrom. A request without a good
// token gets the WWW-Authenticate challenge on its response and the
// *chat.Error (invalid_token or token_expired) as its error, which the error
// handler renders as a 401; a store failure stays an internal error.
func requireAuth(a authenticator) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			tok, err := auth.BearerToken(r.Header)
			var claims auth.Claims
			if err == nil {
				claims, err = a.Authenticate(r.Context(), tok)
			}
			if err != nil {
				if ch := auth.Challenge(err); ch != "" {
					c.Response().Header().Set("WWW-Authenticate", ch)
				}
				return err
			}
			c.Set(claimsKey, claims)
			return next(c)
		}
	}
}

// claimsFrom returns the Claims requireAuth stored in c.
func claimsFrom(c echo.Context) (auth.Claims, bool) {
	claims, ok := c.Get(claimsKey).(auth.Claims)
	return claims, ok
}
