package config

import (
	"log/slog"
	"slices"
	"testing"
)

func TestOrigins(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"https://chat.example.com", []string{"https://chat.example.com"}},
		{"HTTPS://Chat.Example.COM", []string{"https://chat.example.com"}},
		{"http://localhost:8080", []string{"http://localhost:8080"}},
		{"http://localhost:80,https://x.example:443", []string{"http://localhost", "https://x.example"}},
		{"https://x.example:80", []string{"https://x.example:80"}},
		{"http://[::1]:3000", []string{"http://[::1]:3000"}},
		{"http://127.0.0.1:08080", []string{"http://127.0.0.1:8080"}},
		{" https://a.example , https://b.example ", []string{"https://a.example", "https://b.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := Load(envOf(map[string]string{"CHAT_ALLOWED_ORIGINS": tt.in}))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !slices.Equal(c.AllowedOrigins, tt.want) {
				t.Fatalf("AllowedOrigins = %q, want %q", c.AllowedOrigins, tt.want)
			}
		})
	}
}

func TestTrustedProxies(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"10.0.0.0/8", []string{"10.0.0.0/8"}},
		{"10.1.2.3/8", []string{"10.0.0.0/8"}},
		{"192.0.2.7", []string{"192.0.2.7/32"}},
		{"2001:db8::1", []string{"2001:db8::1/128"}},
		{"fd00::/8, 127.0.0.1", []string{"fd00::/8", "127.0.0.1/32"}},
		{"0.0.0.0/0", []string{"0.0.0.0/0"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := Load(envOf(map[string]string{"CHAT_TRUSTED_PROXIES": tt.in}))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			var got []string
			for _, p := range c.TrustedProxies {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("TrustedProxies = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLogLevel(t *testing.T) {
	tests := []struct {
		in   string
		want slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"info", slog.LevelInfo},
		{"warn", slog.LevelWarn},
		{"error", slog.LevelError},
		{"Error", slog.LevelError},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := Load(envOf(map[string]string{"CHAT_LOG_LEVEL": tt.in}))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := c.LogLevel(); got != tt.want {
				t.Fatalf("LogLevel() = %v, want %v", got, tt.want)
			}
		})
	}
}
