package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/chatsvc/chat/internal/chat"
)

// Config is the whole configuration of the service, one field per CHAT_
// variable. The struct tags are the single list of variables: env names the
// variable, envDefault holds the default of the contract, accepts says in
// words what a valid value looks like (every error quotes it), and secret
// keeps a value out of error messages and logs ("true": the value is never
// shown; "url": the URL is shown without its password).
type Config struct {
	// Server.
	Addr        string `env:"CHAT_ADDR" envDefault:":8080" accepts:"a listen address host:port such as :8080 or 127.0.0.1:8080"`
	MetricsAddr string `env:"CHAT_METRICS_ADDR" accepts:"empty or a listen address host:port such as 127.0.0.1:9090, different from CHAT_ADDR"`

	// Storage and cross-node broker.
	DBURL       string `env:"CHAT_DB_URL" envDefault:"sqlite:chat.db" secret:"url" accepts:"sqlite:PATH or a postgres:// or postgresql:// URL"`
	RedisURL    string `env:"CHAT_REDIS_URL" secret:"url" accepts:"empty or a redis:// or rediss:// URL"`
	RedisPrefix string `env:"CHAT_REDIS_PREFIX" envDefault:"chat:" accepts:"a key prefix such as chat:"`
	// BrokerSecret keys the authentication of events between nodes; empty
	// derives that key from CHAT_JWT_SECRET.
	BrokerSecret string `env:"CHAT_BROKER_SECRET" secret:"true" accepts:"empty or a secret of at least 32 bytes, the same on every node"`

	// Tokens.
	JWTSecret         string `env:"CHAT_JWT_SECRET" secret:"true" accepts:"empty or a secret of at least 32 bytes"`
	JWTPreviousSecret string `env:"CHAT_JWT_PREVIOUS_SECRET" secret:"true" accepts:"empty or a secret of at least 32 bytes, set only together with CHAT_JWT_SECRET"`
	// JWTPreviousUntil ends the acceptance of the previous key; zero means
	// the process start plus CHAT_ACCESS_TTL plus CHAT_JWT_LEEWAY.
	JWTPreviousUntil time.Time     `env:"CHAT_JWT_PREVIOUS_SECRET_UNTIL" accepts:"empty or an RFC 3339 time such as 2026-12-01T12:00:00Z"`
	JWTIssuer        string        `env:"CHAT_JWT_ISSUER" envDefault:"chat" accepts:"a non-empty issuer name such as chat"`
	JWTLeeway        time.Duration `env:"CHAT_JWT_LEEWAY" envDefault:"5s" accepts:"a duration from 0s to 30s such as 5s"`
	AccessTTL        time.Duration `env:"CHAT_ACCESS_TTL" envDefault:"15m" accepts:"a positive duration such as 15m"`
	RefreshTTL       time.Duration `env:"CHAT_REFRESH_TTL" envDefault:"720h" accepts:"a positive duration such as 720h"`
	RefreshGrace     time.Duration `env:"CHAT_REFRESH_GRACE" envDefault:"10s" accepts:"a duration from 0s to 1m such as 10s"`

	// External identity: access tokens of an OpenID Connect provider.
	OIDCIssuer        string `env:"CHAT_OIDC_ISSUER" accepts:"empty or the provider's issuer URL with https:// (http:// only on a loopback host) and no query, such as https://id.example.com/realms/chat"`
	OIDCAudience      string `env:"CHAT_OIDC_AUDIENCE" accepts:"the aud value of the provider's access tokens for this service, required with CHAT_OIDC_ISSUER"`
	OIDCUsernameClaim string `env:"CHAT_OIDC_USERNAME_CLAIM" envDefault:"preferred_username" accepts:"a claim name such as preferred_username"`

	// Registration, throttles and the clients allowed in.
	AllowRegistration bool           `env:"CHAT_ALLOW_REGISTRATION" envDefault:"true" accepts:"true, false, 1 or 0 (any form of Go's strconv.ParseBool, such as TRUE or False)"`
	LoginRate         chat.Rate      `env:"CHAT_LOGIN_RATE" envDefault:"5/1m" accepts:"N/DURATION with N at least 1, such as 5/1m, or 0 to turn the throttle off"`
	LoginIPRate       chat.Rate      `env:"CHAT_LOGIN_IP_RATE" envDefault:"60/1m" accepts:"N/DURATION with N at least 1, such as 60/1m, or 0 to turn the throttle off"`
	RegisterRate      chat.Rate      `env:"CHAT_REGISTER_RATE" envDefault:"20/1m" accepts:"N/DURATION with N at least 1, such as 20/1m, or 0 to turn the throttle off"`
	LoginUserRate     chat.Rate      `env:"CHAT_LOGIN_USER_RATE" envDefault:"10/1m" accepts:"N/DURATION with N at least 1, such as 10/1m, or 0 to turn the throttle off"`
	RefreshRate       chat.Rate      `env:"CHAT_REFRESH_RATE" envDefault:"60/1m" accepts:"N/DURATION with N at least 1, such as 60/1m, or 0 to turn the throttle off"`
	RefreshSessRate   chat.Rate      `env:"CHAT_REFRESH_SESSION_RATE" envDefault:"10/1m" accepts:"N/DURATION with N at least 1, such as 10/1m, or 0 to turn the throttle off"`
	TrustedProxies    []netip.Prefix `env:"CHAT_TRUSTED_PROXIES" accepts:"empty or a comma-separated list of CIDRs or IP addresses such as 10.0.0.0/8,192.0.2.7"`
	AllowedOrigins    []string       `env:"CHAT_ALLOWED_ORIGINS" accepts:"empty or a comma-separated list of origins scheme://host[:port] with scheme http or https and no path, such as https://chat.example.com"`

	// WebSocket.
	WSCompression bool `env:"CHAT_WS_COMPRESSION" envDefault:"true" accepts:"true, false, 1 or 0 (any form of Go's strconv.ParseBool, such as TRUE or False)"`
	// WSReadMode is how sockets are read: epoll (no goroutine per idle
	// socket; Linux only, elsewhere the same as goroutine) or goroutine
	// (one reader goroutine per socket).
	WSReadMode         string        `env:"CHAT_WS_READ_MODE" envDefault:"epoll" accepts:"epoll or goroutine"`
	WSPingInterval     time.Duration `env:"CHAT_WS_PING_INTERVAL" envDefault:"25s" accepts:"a positive duration such as 25s"`
	WSPongTimeout      time.Duration `env:"CHAT_WS_PONG_TIMEOUT" envDefault:"10s" accepts:"a positive duration such as 10s"`
	WSWriteDelay       time.Duration `env:"CHAT_WS_WRITE_DELAY" envDefault:"0s" accepts:"a duration from 0s to 100ms such as 10ms"`
	WSMaxFrameBytes    int           `env:"CHAT_WS_MAX_FRAME_BYTES" envDefault:"65536" accepts:"an integer of at least 12 × CHAT_MAX_TEXT_CHARS + 1024, such as 65536"`
	WSSendQueue        int           `env:"CHAT_WS_SEND_QUEUE" envDefault:"256" accepts:"a positive number of frames such as 256"`
	WSReplayLimit      int           `env:"CHAT_WS_REPLAY_LIMIT" envDefault:"500" accepts:"a positive number of messages such as 500"`
	WSMaxConnsPerUser  int           `env:"CHAT_WS_MAX_CONNS_PER_USER" envDefault:"16" accepts:"a positive number of sockets such as 16"`
	WSMaxRoomsPerConn  int           `env:"CHAT_WS_MAX_ROOMS_PER_CONN" envDefault:"100" accepts:"a positive number of rooms such as 100"`
	PresenceMaxMembers int           `env:"CHAT_PRESENCE_MAX_MEMBERS" envDefault:"500" accepts:"a positive number of members such as 500"`
	MaxTextChars       int           `env:"CHAT_MAX_TEXT_CHARS" envDefault:"4000" accepts:"a positive number of code points such as 4000"`
	RateMsgs           float64       `env:"CHAT_RATE_MSGS" envDefault:"10" accepts:"a positive number of frames a second such as 10 or 0.5"`
	RateBurst          int           `env:"CHAT_RATE_BURST" envDefault:"20" accepts:"an integer of at least 1 such as 20"`

	// Rooms.
	Admins             []string  `env:"CHAT_ADMINS" accepts:"empty or a comma-separated list of usernames such as alice,bob"`
	RoomCreateRate     chat.Rate `env:"CHAT_ROOM_CREATE_RATE" envDefault:"10/1h" accepts:"N/DURATION with N at least 1, such as 10/1h, or 0 to turn the limit off"`
	ReceiptsMaxMembers int       `env:"CHAT_RECEIPTS_MAX_MEMBERS" envDefault:"50" accepts:"a positive number of members such as 50"`

	// Shutdown.
	ShutdownDrain   time.Duration `env:"CHAT_SHUTDOWN_DRAIN" envDefault:"0s" accepts:"a duration of 0s or more such as 5s"`
	ShutdownTimeout time.Duration `env:"CHAT_SHUTDOWN_TIMEOUT" envDefault:"15s" accepts:"a positive duration such as 15s"`

	// Logging. The level is a name here; LogLevel returns it as a slog.Level.
	LogLevelName string `env:"CHAT_LOG_LEVEL" envDefault:"info" accepts:"one of debug, info, warn or error"`
	LogFormat    string `env:"CHAT_LOG_FORMAT" envDefault:"json" accepts:"json or text"`
}

// sqlitePrefix starts a CHAT_DB_URL that names a SQLite file.
const sqlitePrefix = "sqlite:"

// VarError reports a bad value of one variable. Load returns every
// VarError it found, joined with errors.Join.
type VarError struct {
	Var    string // the variable, such as CHAT_ADDR
	Reason string // what is wrong and what the variable accepts
}

func (e *VarError) Error() string { return e.Var + ": " + e.Reason }

// Load reads every CHAT_ variable through getenv (usually os.Getenv; nil
// reads an empty environment), applies the defaults and validates the
// result. An empty value counts as unset. On failure the error joins one
// *VarError per bad variable, in the order of the Config fields.
func Load(getenv func(string) string) (Config, error) {
	vars := variables()
	environ := make(map[string]string, len(vars))
	if getenv != nil {
		for _, v := range vars {
			if s := getenv(v.name); s != "" {
				environ[v.name] = s
			}
		}
	}
	l := &loader{vars: vars, environ: environ, failed: make(map[string]bool)}

	var c Config
	err := env.ParseWithOptions(&c, env.Options{Environment: environ, FuncMap: parsers()})
	if err != nil {
		if err := l.parseErrors(err); err != nil {
			return Config{}, err
		}
	}
	l.validate(&c)
	if len(l.errs) > 0 {
		slices.SortStableFunc(l.errs, func(a, b *VarError) int { return l.index(a.Var) - l.index(b.Var) })
		errs := make([]error, len(l.errs))
		for i, e := range l.errs {
			errs[i] = e
		}
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

// SQLite reports whether CHAT_DB_URL names a SQLite file.
func (c Config) SQLite() bool { return strings.HasPrefix(c.DBURL, sqlitePrefix) }

// SQLitePath returns the file path of a sqlite:PATH CHAT_DB_URL, or "" for
// PostgreSQL.
func (c Config) SQLitePath() string {
	if !c.SQLite() {
		return ""
	}
	return strings.TrimPrefix(c.DBURL, sqlitePrefix)
}

// LogLevel returns CHAT_LOG_LEVEL as a slog.Level; anything unknown is
// slog.LevelInfo.
func (c Config) LogLevel() slog.Level {
	switch c.LogLevelName {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// LogValue implements slog.LogValuer: every variable by name, with the JWT
// secrets shown only as set or unset and passwords removed from URLs, so
// the service can log its configuration at start.
func (c Config) LogValue() slog.Value {
	rv := reflect.ValueOf(c)
	vars := variables()
	attrs := make([]slog.Attr, 0, len(vars))
	for _, v := range vars {
		f := rv.Field(v.index).Interface()
		switch v.secret {
		case secretValue:
			f = "unset"
			if rv.Field(v.index).String() != "" {
				f = "set"
			}
		case secretURL:
			f = redactURL(rv.Field(v.index).String())
		}
		switch x := f.(type) {
		case chat.Rate:
			f = x.String()
		case time.Duration:
			f = x.String()
		case []netip.Prefix:
			s := make([]string, len(x))
			for i, p := range x {
				s[i] = p.String()
			}
			f = strings.Join(s, ",")
		case []string:
			f = strings.Join(x, ",")
		}
		attrs = append(attrs, slog.Any(v.name, f))
	}
	return slog.GroupValue(attrs...)
}

// variable describes one CHAT_ variable, read from the Config tags.
type variable struct {
	index   int    // field index in Config
	field   string // Go field name
	name    string // CHAT_ name
	def     string // default, "" when none
	accepts string // what a valid value looks like
	secret  string // "", secretValue or secretURL
}

// Values of the secret tag.
const (
	secretValue = "true" // never shown
	secretURL   = "url"  // shown without the URL's password
)

// variables lists every variable in field order.
func variables() []variable {
	t := reflect.TypeFor[Config]()
	vars := make([]variable, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, ok := f.Tag.Lookup("env")
		if !ok {
			continue
		}
		vars = append(vars, variable{
			index:   i,
			field:   f.Name,
			name:    name,
			def:     f.Tag.Get("envDefault"),
			accepts: f.Tag.Get("accepts"),
			secret:  f.Tag.Get("secret"),
		})
	}
	return vars
}

// loader collects the errors of one Load.
type loader struct {
	vars    []variable
	environ map[string]string
	failed  map[string]bool // variables that already have an error
	errs    []*VarError
}

func (l *loader) variable(name string) variable {
	for _, v := range l.vars {
		if v.name == name {
			return v
		}
	}
	panic("config: unknown variable " + name)
}

func (l *loader) index(name string) int { return l.variable(name).index }

// raw returns the value of name as given, or its default when unset.
func (l *loader) raw(name string) string {
	if s, ok := l.environ[name]; ok {
		return s
	}
	return l.variable(name).def
}

// fail records that name is bad for reason, once per variable.
func (l *loader) fail(name, reason string) {
	if l.failed[name] {
		return
	}
	l.failed[name] = true
	l.errs = append(l.errs, &VarError{Var: name, Reason: reason})
}

// invalid records that name does not hold what it accepts, quoting the
// value (or only its length, for a secret) and detail when not empty.
func (l *loader) invalid(name, detail string) {
	v := l.variable(name)
	raw := l.raw(name)
	var got string
	switch v.secret {
	case secretValue:
		got = fmt.Sprintf("a value of %d bytes", len(raw))
	case secretURL:
		got = strconv.Quote(redactURL(raw))
	default:
		got = strconv.Quote(raw)
	}
	reason := "must be " + v.accepts + ", got " + got
	if detail != "" {
		reason += " (" + detail + ")"
	}
	l.fail(name, reason)
}

// check records name as invalid unless ok.
func (l *loader) check(name string, ok bool) {
	if !ok {
		l.invalid(name, "")
	}
}

// parseErrors turns the parse errors of env into VarErrors. Anything else
// is a defect of the Config declaration and returned as is.
func (l *loader) parseErrors(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return fmt.Errorf("config: parse: %w", err)
	}
	for _, e := range agg.Errors {
		var pe env.ParseError
		if !errors.As(e, &pe) {
			return fmt.Errorf("config: parse: %w", e)
		}
		name := ""
		for _, v := range l.vars {
			if v.field == pe.Name {
				name = v.name
			}
		}
		if name == "" {
			return fmt.Errorf("config: parse: %w", e)
		}
		detail := ""
		var be badEntryError
		if errors.As(pe.Err, &be) {
			detail = be.Error()
		}
		l.invalid(name, detail)
	}
	return nil
}
