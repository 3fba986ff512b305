package main

import (
	"log/slog"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/config"
	"github.com/chatsvc/chat/internal/store"
)

// newExternal returns the verifier of the OpenID Connect provider named by
// CHAT_OIDC_ISSUER, or nil when none is configured.
func newExternal(cfg config.Config, db *store.DB, log *slog.Logger) (*auth.OIDC, error) {
	if cfg.OIDCIssuer == "" {
		return nil, nil
	}
	ext, err := auth.NewOIDC(auth.OIDCOptions{
		Issuer:        cfg.OIDCIssuer,
		Audience:      cfg.OIDCAudience,
		UsernameClaim: cfg.OIDCUsernameClaim,
		Leeway:        cfg.JWTLeeway,
		Store:         db,
	})
	if err != nil {
		return nil, err
	}
	log.Info("accepting access tokens of an external provider", "issuer", cfg.OIDCIssuer, "audience", cfg.OIDCAudience)
	return ext, nil
}
