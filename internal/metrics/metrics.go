// Package metrics defines every Prometheus collector of the chat service on
// a registry of its own. Nothing here is global: New registers a fresh set on
// the given registerer, and the service passes the *Metrics down.
//
// Label values with a fixed set (close codes, scopes, results) are resolved
// once, so the hot path only does an atomic add.
package metrics

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chatsvc/chat/internal/chat"
)

// Upgrade failure reasons counted by chat_ws_upgrade_failures_total.
var upgradeReasons = []string{"unauthorized", "origin", "bad_request", "too_many_connections", "handshake", "shutdown", "unavailable"}

// Reasons counted by chat_broker_rejected_total: why an event received
// from Redis was dropped unread (see internal/broker).
var brokerRejectReasons = []string{"size", "mac", "stale", "decode", "kind", "channel", "field"}

// Metrics holds every collector of the service.
type Metrics struct {
	reg *prometheus.Registry

	WSConnections             prometheus.Gauge
	WSAccepted                prometheus.Counter
	WSUpgradeFailures         *prometheus.CounterVec
	WSDisconnects             *prometheus.CounterVec
	WSHeartbeatTimeouts       prometheus.Counter
	WSFramesReceived          prometheus.Counter
	WSFramesSent              prometheus.Counter
	WSFramesDropped           *prometheus.CounterVec
	WSWireBytesReceived       prometheus.Counter
	WSWireBytesSent           prometheus.Counter
	WSPayloadBytesSent        prometheus.Counter
	WSSlowConsumerDisconnects prometheus.Counter

	MessagesStored    prometheus.Counter
	MessagesDelivered prometheus.Counter
	DeliverySeconds   prometheus.Histogram
	StoreBatchSize    prometheus.Histogram
	BackfilledTotal   prometheus.Counter
	HintedTotal       prometheus.Counter

	RateLimited *prometheus.CounterVec
	// RoomEventsStored counts stored stream events other than messages, by
	// kind; ModerationActions counts moderation by action.
	RoomEventsStored  *prometheus.CounterVec
	ModerationActions *prometheus.CounterVec
	AuthLogins        *prometheus.CounterVec
	AuthRefreshes     *prometheus.CounterVec

	BrokerPublished prometheus.Counter
	BrokerErrors    prometheus.Counter
	BrokerDropped   prometheus.Counter
	// BrokerRejected counts received events dropped because they failed
	// their authentication or validation, by reason.
	BrokerRejected *prometheus.CounterVec

	HTTPRequests *prometheus.CounterVec
	HTTPDuration *prometheus.HistogramVec

	SearchDuration prometheus.Histogram

	disconnects map[int]prometheus.Counter
	otherClose  prometheus.Counter
	// RateLimitedWS, RateLimitedLogin and RateLimitedRegister are the
	// resolved children of RateLimited.
	RateLimitedWS, RateLimitedLogin, RateLimitedRegister prometheus.Counter
	// RateLimitedRoomCreate is the child of RateLimited for room creation.
	RateLimitedRoomCreate prometheus.Counter
	// WSFramesDroppedVolatile is the resolved child of WSFramesDropped for
	// presence and typing frames.
	WSFramesDroppedVolatile prometheus.Counter
}

// New builds the collectors on a fresh registry together with the Go,
// process and build-info collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	f := factory{reg}
	m := &Metrics{
		reg:                       reg,
		WSConnections:             f.gauge("chat_ws_connections", "Open WebSocket connections."),
		WSAccepted:                f.counter("chat_ws_connections_accepted_total", "WebSocket upgrades accepted."),
		WSUpgradeFailures:         f.counterVec("chat_ws_upgrade_failures_total", "WebSocket handshakes refused, by reason.", "reason"),
		WSDisconnects:             f.counterVec("chat_ws_disconnects_total", "WebSocket connections ended, by close code (1006 when no close frame was exchanged).", "code"),
		WSHeartbeatTimeouts:       f.counter("chat_ws_heartbeat_timeouts_total", "WebSocket connections closed because nothing arrived within the heartbeat window."),
		WSFramesReceived:          f.counter("chat_ws_frames_received_total", "WebSocket data frames received from clients."),
		WSFramesSent:              f.counter("chat_ws_frames_sent_total", "WebSocket data frames written to clients."),
		WSFramesDropped:           f.counterVec("chat_ws_frames_dropped_total", "Outgoing WebSocket frames dropped, by reason.", "reason"),
		WSWireBytesReceived:       f.counter("chat_ws_wire_bytes_received_total", "Bytes read from WebSocket connections, as on the wire (after compression)."),
		WSWireBytesSent:           f.counter("chat_ws_wire_bytes_sent_total", "Bytes written to WebSocket connections, as on the wire (after compression)."),
		WSPayloadBytesSent:        f.counter("chat_ws_payload_bytes_sent_total", "Payload bytes of the WebSocket messages written, before compression."),
		WSSlowConsumerDisconnects: f.counter("chat_ws_slow_consumer_disconnects_total", "WebSocket connections closed with 4008 because their outgoing queue overflowed or a write to them stalled."),
		MessagesStored:            f.counter("chat_messages_stored_total", "Chat messages durably stored."),
		MessagesDelivered:         f.counter("chat_messages_delivered_total", "Chat messages written to a socket, one per message and socket."),
		DeliverySeconds: f.histogram("chat_message_delivery_seconds", "Time from a message's commit to its write on a socket.",
			[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}),
		StoreBatchSize: f.histogram("chat_store_batch_messages", "Messages committed per store transaction (group commit).",
			[]float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512}),
		BackfilledTotal:   f.counter("chat_messages_backfilled_total", "Messages read back from the store to fill a gap in a room's live stream."),
		HintedTotal:       f.counter("chat_messages_broker_read_total", "Messages another node stored, read from the store after the broker announced them."),
		RateLimited:       f.counterVec("chat_rate_limited_total", "Requests or frames refused by a rate limit, by scope.", "scope"),
		RoomEventsStored:  f.counterVec("chat_room_events_stored_total", "Stream events other than messages durably stored, by kind.", "kind"),
		ModerationActions: f.counterVec("chat_moderation_actions_total", "Moderation actions carried out, by action.", "action"),
		AuthLogins:        f.counterVec("chat_auth_logins_total", "Login attempts, by result.", "result"),
		AuthRefreshes:     f.counterVec("chat_auth_refreshes_total", "Refresh attempts, by result.", "result"),
		BrokerPublished:   f.counter("chat_broker_published_total", "Events published to the broker."),
		BrokerErrors:      f.counter("chat_broker_errors_total", "Broker publish or subscription errors."),
		BrokerDropped:     f.counter("chat_broker_dropped_total", "Broker events dropped (full receive buffer or undecodable)."),
		HTTPRequests:      f.counterVec("chat_http_requests_total", "HTTP requests, by method, route template and status code.", "method", "route", "code"),
		BrokerRejected:    f.counterVec("chat_broker_rejected_total", "Events received from the broker and dropped unread: not authenticated by this deployment's key, stale, malformed or out of range, by reason.", "reason"),
		HTTPDuration: f.histogramVec("chat_http_request_duration_seconds", "HTTP request latency, by method and route template.",
			[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}, "method", "route"),
		SearchDuration: f.histogram("chat_search_duration_seconds", "Time to answer a message search, from the parsed query to the page.",
			[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}),
	}
	m.disconnects = make(map[int]prometheus.Counter, len(chat.CloseCodes))
	for _, c := range chat.CloseCodes {
		m.disconnects[c.Code] = m.WSDisconnects.WithLabelValues(strconv.Itoa(c.Code))
	}
	m.otherClose = m.WSDisconnects.WithLabelValues("other")
	for _, r := range upgradeReasons {
		m.WSUpgradeFailures.WithLabelValues(r)
	}
	for _, r := range brokerRejectReasons {
		m.BrokerRejected.WithLabelValues(r)
	}
	m.RateLimitedWS = m.RateLimited.WithLabelValues("ws")
	m.RateLimitedLogin = m.RateLimited.WithLabelValues("login")
	m.RateLimitedRegister = m.RateLimited.WithLabelValues("register")
	m.RateLimitedRoomCreate = m.RateLimited.WithLabelValues("room_create")
	for _, k := range RoomEventKinds {
		m.RoomEventsStored.WithLabelValues(k)
	}
	for _, a := range ModerationActionNames {
		m.ModerationActions.WithLabelValues(a)
	}
	for _, r := range []string{"success", "failure", "throttled", "error"} {
		m.AuthLogins.WithLabelValues(r)
	}
	for _, r := range []string{"success", "invalid", "reused", "error"} {
		m.AuthRefreshes.WithLabelValues(r)
	}
	// The hub drops presence and typing frames alike, as "volatile".
	m.WSFramesDroppedVolatile = m.WSFramesDropped.WithLabelValues("volatile")
	return m
}

// RoomEventKinds are the kind labels of chat_room_events_stored_total.
var RoomEventKinds = []string{"edit", "delete", "member", "room"}

// ModerationActionNames are the action labels of
// chat_moderation_actions_total.
var ModerationActionNames = []string{"invite", "kick", "ban", "unban", "mute", "unmute", "role", "delete_message", "delete_room", "suspend", "unsuspend"}

// RoomEventStored counts one stored stream event of the kind; other kinds
// are not counted, so the label set stays fixed.
func (m *Metrics) RoomEventStored(kind string) {
	for _, k := range RoomEventKinds {
		if k == kind {
			m.RoomEventsStored.WithLabelValues(k).Inc()
			return
		}
	}
}

// Moderation counts one moderation action; unknown names are not counted.
func (m *Metrics) Moderation(action string) {
	for _, a := range ModerationActionNames {
		if a == action {
			m.ModerationActions.WithLabelValues(a).Inc()
			return
		}
	}
}

// Registry returns the registry the collectors live on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler returns the /metrics handler for the registry.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// Disconnect counts one connection ended with close code code.
func (m *Metrics) Disconnect(code int) {
	if c, ok := m.disconnects[code]; ok {
		c.Inc()
		return
	}
	m.otherClose.Inc()
}

type factory struct{ reg prometheus.Registerer }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}
