package config

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatsvc/chat/internal/chat"
)

// Limits checked by validate.
const (
	// minSecretBytes is the shortest JWT secret accepted: 256 bits, the
	// size of the HS256 output.
	minSecretBytes = 32
	// maxLeeway is the largest clock leeway accepted for token checks.
	maxLeeway = 30 * time.Second
	// frameBytesPerChar and frameOverheadBytes size the smallest
	// CHAT_WS_MAX_FRAME_BYTES: a code point escaped as \uXXXX\uXXXX takes
	// 12 bytes of JSON, plus room for the rest of a send frame.
	frameBytesPerChar  = 12
	frameOverheadBytes = 1024
)

// validate checks c, already parsed, and records every bad variable. A
// variable that failed to parse is not checked again, and a check across
// variables runs only when each of them is valid on its own.
func (l *loader) validate(c *Config) {
	// Server.
	l.check("CHAT_ADDR", validAddr(c.Addr))
	if c.MetricsAddr != "" {
		l.check("CHAT_METRICS_ADDR", validAddr(c.MetricsAddr))
		if c.MetricsAddr == c.Addr && !strings.HasSuffix(c.Addr, ":0") {
			l.invalid("CHAT_METRICS_ADDR", "the same address as CHAT_ADDR")
		}
	}

	// Storage and broker.
	if detail := checkDBURL(c.DBURL); detail != "" {
		l.invalid("CHAT_DB_URL", detail)
	}
	if c.RedisURL != "" {
		if detail := checkRedisURL(c.RedisURL); detail != "" {
			l.invalid("CHAT_REDIS_URL", detail)
		}
	}

	l.check("CHAT_BROKER_SECRET", c.BrokerSecret == "" || len(c.BrokerSecret) >= minSecretBytes)

	// Tokens.
	l.check("CHAT_JWT_SECRET", c.JWTSecret == "" || len(c.JWTSecret) >= minSecretBytes)
	l.check("CHAT_JWT_PREVIOUS_SECRET", c.JWTPreviousSecret == "" || len(c.JWTPreviousSecret) >= minSecretBytes)
	if c.JWTPreviousSecret != "" && c.JWTSecret == "" {
		l.fail("CHAT_JWT_PREVIOUS_SECRET", "is set but CHAT_JWT_SECRET is empty: a previous key is only kept beside a current one")
	}
	l.check("CHAT_JWT_ISSUER", c.JWTIssuer != "")
	l.check("CHAT_JWT_LEEWAY", c.JWTLeeway >= 0 && c.JWTLeeway <= maxLeeway)
	l.check("CHAT_ACCESS_TTL", c.AccessTTL > 0)
	l.check("CHAT_REFRESH_TTL", c.RefreshTTL > 0)
	l.check("CHAT_REFRESH_GRACE", c.RefreshGrace >= 0 && c.RefreshGrace <= time.Minute)
	l.check("CHAT_WS_WRITE_DELAY", c.WSWriteDelay >= 0 && c.WSWriteDelay <= 100*time.Millisecond)
	if !c.JWTPreviousUntil.IsZero() && c.JWTPreviousSecret == "" {
		l.fail("CHAT_JWT_PREVIOUS_SECRET_UNTIL", "is set but CHAT_JWT_PREVIOUS_SECRET is empty")
	}

	l.validateOIDC(c)

	// Clients allowed in.
	if raw, ok := l.environ["CHAT_ALLOWED_ORIGINS"]; ok {
		origins, err := parseOrigins(raw)
		if err != nil {
			l.invalid("CHAT_ALLOWED_ORIGINS", err.Error())
		}
		c.AllowedOrigins = origins
	}

	// WebSocket.
	c.WSReadMode = strings.ToLower(c.WSReadMode)
	l.check("CHAT_WS_READ_MODE", c.WSReadMode == "epoll" || c.WSReadMode == "goroutine")
	l.check("CHAT_WS_PING_INTERVAL", c.WSPingInterval > 0)
	l.check("CHAT_WS_PONG_TIMEOUT", c.WSPongTimeout > 0)
	l.check("CHAT_WS_SEND_QUEUE", c.WSSendQueue > 0)
	l.check("CHAT_WS_REPLAY_LIMIT", c.WSReplayLimit > 0)
	l.check("CHAT_WS_MAX_CONNS_PER_USER", c.WSMaxConnsPerUser > 0)
	l.check("CHAT_WS_MAX_ROOMS_PER_CONN", c.WSMaxRoomsPerConn > 0)
	l.check("CHAT_PRESENCE_MAX_MEMBERS", c.PresenceMaxMembers > 0)
	l.check("CHAT_MAX_TEXT_CHARS", c.MaxTextChars > 0)
	l.check("CHAT_RATE_MSGS", c.RateMsgs > 0 && !math.IsInf(c.RateMsgs, 0) && !math.IsNaN(c.RateMsgs))
	l.check("CHAT_RATE_BURST", c.RateBurst >= 1)
	l.check("CHAT_WS_MAX_FRAME_BYTES", c.WSMaxFrameBytes > 0)
	if l.ok("CHAT_WS_MAX_FRAME_BYTES", "CHAT_MAX_TEXT_CHARS") {
		if need := int64(frameBytesPerChar)*int64(c.MaxTextChars) + frameOverheadBytes; int64(c.WSMaxFrameBytes) < need {
			l.invalid("CHAT_WS_MAX_FRAME_BYTES", fmt.Sprintf(
				"CHAT_MAX_TEXT_CHARS=%d needs at least %d, so that any valid text fits however it is escaped",
				c.MaxTextChars, need))
		}
	}

	// Rooms.
	for i, name := range c.Admins {
		u, err := chat.NormalizeUsername(strings.TrimSpace(name))
		if err != nil {
			l.invalid("CHAT_ADMINS", fmt.Sprintf("%q is not a username", name))
			break
		}
		c.Admins[i] = u
	}
	l.check("CHAT_RECEIPTS_MAX_MEMBERS", c.ReceiptsMaxMembers > 0)

	// Shutdown.
	l.check("CHAT_SHUTDOWN_DRAIN", c.ShutdownDrain >= 0)
	l.check("CHAT_SHUTDOWN_TIMEOUT", c.ShutdownTimeout > 0)

	// Logging.
	c.LogLevelName = strings.ToLower(c.LogLevelName)
	switch c.LogLevelName {
	case "debug", "info", "warn", "error":
	default:
		l.invalid("CHAT_LOG_LEVEL", "")
	}
	c.LogFormat = strings.ToLower(c.LogFormat)
	l.check("CHAT_LOG_FORMAT", c.LogFormat == "json" || c.LogFormat == "text")

	// Several nodes: they must share the database and the token key.
	redisOK := c.RedisURL != "" && l.ok("CHAT_REDIS_URL")
	if redisOK && l.ok("CHAT_DB_URL") && c.SQLite() {
		l.add("CHAT_REDIS_URL", "is set with CHAT_DB_URL="+sqlitePrefix+"…, but several nodes cannot share a SQLite file: "+
			"set CHAT_DB_URL to a postgres:// URL, or leave CHAT_REDIS_URL empty to run one node")
	}
	if redisOK && l.ok("CHAT_JWT_SECRET") && c.JWTSecret == "" {
		l.add("CHAT_REDIS_URL", "is set with an empty CHAT_JWT_SECRET, but several nodes cannot share a random per-process key: "+
			"set CHAT_JWT_SECRET to the same secret of at least 32 bytes on every node, or leave CHAT_REDIS_URL empty to run one node")
	}
}

// ok reports whether none of names has an error yet.
func (l *loader) ok(names ...string) bool {
	for _, n := range names {
		if l.failed[n] {
			return false
		}
	}
	return true
}

// add records an error for name even when it already has one.
func (l *loader) add(name, reason string) {
	l.failed[name] = true
	l.errs = append(l.errs, &VarError{Var: name, Reason: reason})
}

// validAddr reports whether s is host:port with a decimal port in 0-65535;
// the host may be empty (every interface).
func validAddr(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil || port == "" || strings.TrimLeft(port, "0123456789") != "" {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n <= 65535
}

// checkDBURL returns what is wrong with a CHAT_DB_URL, or "".
func checkDBURL(s string) string {
	if path, ok := strings.CutPrefix(s, sqlitePrefix); ok {
		if path == "" {
			return "the SQLite file path is empty"
		}
		return ""
	}
	u, err := parseURL(s)
	if err != nil {
		return "not a URL"
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "unknown scheme " + strconv.Quote(u.Scheme)
	}
	return ""
}

// checkRedisURL returns what is wrong with a non-empty CHAT_REDIS_URL, or
// "".
func checkRedisURL(s string) string {
	u, err := parseURL(s)
	if err != nil {
		return "not a URL"
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return "unknown scheme " + strconv.Quote(u.Scheme)
	}
	if _, err := redis.ParseURL(s); err != nil {
		return redisDetail(err)
	}
	return ""
}

// redisDetail shortens an error of redis.ParseURL to a description that
// cannot leak the URL's password.
func redisDetail(err error) string {
	msg := strings.TrimPrefix(err.Error(), "redis: ")
	if strings.Contains(msg, "://") || strings.Contains(msg, "@") {
		return "the Redis client rejects it"
	}
	return msg
}
