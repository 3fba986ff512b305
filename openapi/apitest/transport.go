package apitest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// Transport returns a RoundTripper that sends each request through base
// (http.DefaultTransport when nil) and checks the exchange with Check, so
// every request a test's http.Client makes is held to the OpenAPI document.
// Bodies are read in full: do not use it for streaming responses.
func Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{t: t, base: base}
}

type transport struct {
	t    testing.TB
	base http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("apitest: read the request body: %w", err)
		}
		reqBody = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := tr.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("apitest: read the response body: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	Check(tr.t, Exchange{Request: req, RequestBody: reqBody, Status: resp.StatusCode, Header: resp.Header, Body: body})
	return resp, nil
}
