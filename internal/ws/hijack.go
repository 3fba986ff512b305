package ws

import (
	"bufio"
	"errors"
	"net"
	"net/http"
)

// ownReader hands the WebSocket library a read buffer of ours when it
// takes the connection over, so that the socket's read side can ask how
// many bytes of the peer's next frames are already buffered: bytes the
// kernel no longer holds never make the socket readable again.
//
// The library reuses the hijacked reader as the connection's buffer when
// its Upgrader.ReadBufferSize is 0 and the reader holds more than 256
// bytes; Hijack gives it a fresh reader of readBufferSize bytes on the
// connection. The library refuses a connection whose peer sent bytes
// before the handshake's answer; such a connection keeps the server's own
// reader, so that the refusal stays the same.
type ownReader struct {
	http.ResponseWriter
	br *bufio.Reader // set by Hijack
}

var errNoHijack = errors.New("ws: the response cannot be taken over")

// Hijack takes the connection over from the HTTP server and replaces its
// buffered reader with one of readBufferSize bytes.
func (w *ownReader) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errNoHijack
	}
	nc, brw, err := hj.Hijack()
	if err != nil || brw.Reader.Buffered() > 0 {
		return nc, brw, err
	}
	w.br = bufio.NewReaderSize(nc, readBufferSize)
	return nc, bufio.NewReadWriter(w.br, brw.Writer), nil
}
