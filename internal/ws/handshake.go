package ws

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/gorilla/websocket"
)

// handshakeTimeout bounds the token check before an upgrade.
const handshakeTimeout = 5 * time.Second

// retryAfterSeconds is the Retry-After of a handshake refused because the
// token could not be checked.
const retryAfterSeconds = "2"

// serveWS checks the token, the origin and the per-user cap, then upgrades.
// Every refusal is a plain HTTP JSON error and no upgrade.
func (h *handler) serveWS(w http.ResponseWriter, r *http.Request) {
	fails := h.m.WSUpgradeFailures
	if h.hub.Draining() {
		fails.WithLabelValues("shutdown").Inc()
		writeError(w, http.StatusServiceUnavailable, chat.CodeUnavailable, "the server is shutting down")
		return
	}
	token, _, err := auth.TokenFromRequest(r)
	if err != nil {
		if chat.ErrorCode(err) == chat.CodeInvalidRequest {
			fails.WithLabelValues("bad_request").Inc()
			writeError(w, http.StatusBadRequest, chat.CodeInvalidRequest, chat.ErrorMessage(err))
			return
		}
		fails.WithLabelValues("unauthorized").Inc()
		writeUnauthorized(w, chat.CodeInvalidToken, "an access token is required")
		return
	}
	if !h.originAllowed(r) {
		fails.WithLabelValues("origin").Inc()
		writeError(w, http.StatusForbidden, chat.CodeOriginNotAllowed, "this origin may not open a socket")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), handshakeTimeout)
	defer cancel()
	claims, err := h.hub.Authenticate(ctx, token)
	if err != nil && !auth.IsRefused(err) {
		// The token could not be checked: it may well be good.
		fails.WithLabelValues("unavailable").Inc()
		h.log.Warn("websocket token check failed", "err", err)
		w.Header().Set("Retry-After", retryAfterSeconds)
		writeError(w, http.StatusServiceUnavailable, chat.CodeUnavailable, "the token could not be checked; try again shortly")
		return
	}
	if err != nil {
		fails.WithLabelValues("unauthorized").Inc()
		writeUnauthorized(w, chat.ErrorCode(err), chat.ErrorMessage(err))
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		fails.WithLabelValues("handshake").Inc()
		writeError(w, http.StatusBadRequest, chat.CodeInvalidRequest, "a WebSocket upgrade is required")
		return
	}
	shared, ok := h.hub.AcquireUser(ctx, claims.UserID)
	if !ok {
		fails.WithLabelValues("too_many_connections").Inc()
		writeError(w, http.StatusTooManyRequests, chat.CodeTooManyConnections, "too many open sockets for this user")
		return
	}
	// The token never travels back in the answer: only chat.v1 is selected.
	// The answer names chat.v1 from our own constant: a string taken from
	// the request would keep its headers alive for the socket's lifetime.
	var answer http.Header
	if slices.Contains(websocket.Subprotocols(r), chat.Subprotocol) {
		answer = http.Header{"Sec-Websocket-Protocol": []string{chat.Subprotocol}}
	}
	ow := &ownReader{ResponseWriter: w}
	wsc, err := h.upgrader.Upgrade(ow, r, answer)
	if err != nil {
		h.hub.ReleaseUser(claims.UserID, shared)
		fails.WithLabelValues("handshake").Inc()
		return
	}
	h.start(wsc, ow.br, claims, shared)
}

// start attaches an upgraded socket, whose read buffer is br (nil when the
// library has its own), to the hub and starts its read side. The request
// and its context are not kept.
func (h *handler) start(wsc *websocket.Conn, br *bufio.Reader, claims auth.Claims, sharedSlot bool) {
	c := &conn{h: h, ws: wsc, br: br}
	c.cond = sync.NewCond(&c.mu)
	if cc, ok := wsc.NetConn().(*countingConn); ok {
		c.cc = cc
		cc.counters.Store(&byteCounters{recv: h.m.WSWireBytesReceived, sent: h.m.WSWireBytesSent})
	}
	c.cl = h.hub.NewClient(c, claims, sharedSlot)
	if tc := tcpConn(wsc.NetConn()); tc != nil {
		// What the peer has not read is bounded by this and the outgoing
		// queue: a write that cannot finish within WriteTimeout ends the
		// socket as a slow consumer.
		_ = tc.SetWriteBuffer(sendBuffer)
	}
	wsc.SetCloseHandler(func(int, string) error { return nil }) // answered by readFailed through the writer
	// Pings and pongs the library reads run on the read side.
	wsc.SetPingHandler(func(data string) error {
		c.onPing([]byte(data))
		return nil
	})
	wsc.SetPongHandler(func(string) error {
		c.onPong()
		return nil
	})
	// The registration is made before the socket is attached, from when
	// anything may close it; it is armed after.
	h.reads.prepare(c)
	if !h.hub.Attach(c.cl) {
		h.reads.forget(c)
		_ = wsc.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(chat.CloseGoingAway.Code, chat.CloseGoingAway.Reason), time.Now().Add(time.Second))
		_ = wsc.Close()
		h.hub.ReleaseUser(claims.UserID, sharedSlot)
		return
	}
	h.reads.start(c)
}

// originAllowed applies the origin rules: no Origin (not a browser) is
// allowed, "null" never is, and otherwise the origin must be listed or, with
// no list, have the request's host.
func (h *handler) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if origin == "null" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if len(h.opt.AllowedOrigins) == 0 {
		return strings.EqualFold(u.Host, r.Host)
	}
	norm := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, o := range h.opt.AllowedOrigins {
		if strings.ToLower(strings.TrimRight(o, "/")) == norm {
			return true
		}
	}
	return false
}

// upgradeError renders a failed upgrade in the contract's JSON shape.
func upgradeError(w http.ResponseWriter, _ *http.Request, status int, reason error) {
	writeError(w, status, chat.CodeInvalidRequest, "WebSocket handshake failed: "+reason.Error())
}

func writeUnauthorized(w http.ResponseWriter, code, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`"`)
	writeError(w, http.StatusUnauthorized, code, msg)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(chat.ErrorBody{Error: chat.ErrorDetail{Code: code, Message: msg}})
}
