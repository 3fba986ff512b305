package config

import (
	"strings"
	"testing"
)

func TestLoadOIDC(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string // variables named, in order
		wantMsg string
	}{
		{"off", map[string]string{}, nil, ""},
		{"https", map[string]string{"CHAT_OIDC_ISSUER": "https://id.example.com/realms/chat", "CHAT_OIDC_AUDIENCE": "chat"}, nil, ""},
		{"http on loopback", map[string]string{"CHAT_OIDC_ISSUER": "http://127.0.0.1:5556", "CHAT_OIDC_AUDIENCE": "chat"}, nil, ""},
		{"http on localhost", map[string]string{"CHAT_OIDC_ISSUER": "http://localhost:5556/dex", "CHAT_OIDC_AUDIENCE": "chat"}, nil, ""},
		{"http elsewhere", map[string]string{"CHAT_OIDC_ISSUER": "http://id.example.com", "CHAT_OIDC_AUDIENCE": "chat"}, []string{"CHAT_OIDC_ISSUER"}, "loopback"},
		{"not a URL", map[string]string{"CHAT_OIDC_ISSUER": "id.example.com", "CHAT_OIDC_AUDIENCE": "chat"}, []string{"CHAT_OIDC_ISSUER"}, "not a URL"},
		{"other scheme", map[string]string{"CHAT_OIDC_ISSUER": "ftp://id.example.com", "CHAT_OIDC_AUDIENCE": "chat"}, []string{"CHAT_OIDC_ISSUER"}, "https"},
		{"query", map[string]string{"CHAT_OIDC_ISSUER": "https://id.example.com?x=1", "CHAT_OIDC_AUDIENCE": "chat"}, []string{"CHAT_OIDC_ISSUER"}, "query"},
		{"no audience", map[string]string{"CHAT_OIDC_ISSUER": "https://id.example.com"}, []string{"CHAT_OIDC_AUDIENCE"}, "CHAT_OIDC_ISSUER is set"},
		{"blank claim", map[string]string{"CHAT_OIDC_ISSUER": "https://id.example.com", "CHAT_OIDC_AUDIENCE": "chat", "CHAT_OIDC_USERNAME_CLAIM": " name"}, []string{"CHAT_OIDC_USERNAME_CLAIM"}, "claim name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadNaming(t, tt.env, tt.wantErr)
			if tt.wantErr == nil {
				if c.OIDCUsernameClaim != "preferred_username" {
					t.Fatalf("username claim %q, want the default preferred_username", c.OIDCUsernameClaim)
				}
				return
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("message %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}
