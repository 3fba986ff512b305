package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/broker"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/config"
	"github.com/chatsvc/chat/internal/hub"
	"github.com/chatsvc/chat/internal/metrics"
)

// The Redis types serve the interfaces the hub and the auth service declare.
var (
	_ hub.Broker         = (*broker.Redis)(nil)
	_ hub.RoomSubscriber = (*broker.Redis)(nil)
	_ hub.PresenceSource = (*broker.Redis)(nil)
	_ hub.ConnLimiter    = (*broker.RedisConns)(nil)
	_ auth.Throttle      = (*broker.RedisThrottle)(nil)
)

// nodeBroker is what joins this node to the others: the in-process broker
// for one node, or Redis with the shared socket count and throttles.
type nodeBroker struct {
	kind   string
	broker hub.Broker
	conns  hub.ConnLimiter // nil: counted per node
	redis  *broker.Redis
	mem    *broker.Memory
	detach func()
	log    *slog.Logger
	once   sync.Once
}

func newNodeBroker(ctx context.Context, cfg config.Config, node string, log *slog.Logger, m *metrics.Metrics) (*nodeBroker, error) {
	if cfg.RedisURL == "" {
		mem := broker.NewMemory()
		return &nodeBroker{kind: "memory", broker: mem, mem: mem, log: log}, nil
	}
	// Events between nodes are authenticated with a key of their own:
	// from CHAT_BROKER_SECRET when set, else from CHAT_JWT_SECRET (which
	// config requires beside Redis), with a label that keeps it apart
	// from the token key.
	secret := cfg.BrokerSecret
	if secret == "" {
		secret = cfg.JWTSecret
	}
	key, err := broker.EventKey([]byte(secret))
	if err != nil {
		return nil, err
	}
	r, err := broker.NewRedis(ctx, broker.RedisOptions{
		URL:          cfg.RedisURL,
		Prefix:       cfg.RedisPrefix,
		Node:         node,
		Key:          key,
		MaxTextChars: cfg.MaxTextChars,
		Logger:       log,
		Metrics:      m,
	})
	if err != nil {
		return nil, err
	}
	conns := broker.NewRedisConns(r.Client(), r.Prefix(), node)
	conns.OnError = func(err error) { log.Debug("release a shared socket count", "err", err) }
	return &nodeBroker{
		kind:   "redis",
		broker: r,
		conns:  conns,
		redis:  r,
		log:    log,
	}, nil
}

// throttle returns the throttle called name: shared through Redis, with a
// per-node one standing in while Redis is away.
func (b *nodeBroker) throttle(name string, rate chat.Rate) auth.Throttle {
	local := auth.NewMemThrottle(rate, nil)
	if b.redis == nil {
		return local
	}
	shared := broker.NewRedisThrottle(b.redis.Client(), b.redis.Prefix()+"throttle:"+name+":", rate)
	// The broker reports a Redis outage once; each fallback is only a
	// debug line.
	return auth.NewFallbackThrottle(shared, local, func(err error) {
		b.log.Debug("shared throttle unreachable; using this node's", "throttle", name, "err", err)
	})
}

func (b *nodeBroker) start(h broker.Handler) {
	if b.redis != nil {
		b.redis.Start(h)
		return
	}
	b.detach = b.mem.Attach(h)
}

func (b *nodeBroker) ping(ctx context.Context) error {
	if b.redis != nil {
		return b.redis.Ping(ctx)
	}
	return b.mem.Ping(ctx)
}

func (b *nodeBroker) close() {
	b.once.Do(func() {
		if b.redis != nil {
			if err := b.redis.Close(); err != nil {
				b.log.Warn("close redis", "err", err)
			}
			return
		}
		if b.detach != nil {
			b.detach()
		}
	})
}
