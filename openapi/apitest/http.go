package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Exchange is one HTTP request and the response it got, bodies read.
type Exchange struct {
	// Request is the request sent; its Body is not read (it may be spent).
	Request     *http.Request
	RequestBody []byte
	Status      int
	Header      http.Header
	Body        []byte
}

// Check fails the test (with Errorf, so it may be called from any
// goroutine) unless x matches the OpenAPI document; see Validate.
func Check(t testing.TB, x Exchange) {
	t.Helper()
	if err := Validate(x); err != nil {
		t.Errorf("%s %s: %d: not as openapi/openapi.json describes: %v\nresponse body: %.300s", x.Request.Method, x.Request.URL.Path, x.Status, err, x.Body)
	}
}

// CheckRecorded checks a request made with httptest against its recorded
// response.
func CheckRecorded(t testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	t.Helper()
	Check(t, Exchange{Request: req, RequestBody: reqBody, Status: status, Header: header, Body: body})
}

// Validate reports how x differs from the OpenAPI document:
//   - a request that matches an operation must get one of its documented
//     responses, status, headers and body;
//   - a request the document calls invalid (bad parameters or body, no
//     credentials) must be refused with a documented 4xx;
//   - a path or method the document does not have must get the contract's
//     404 not_found or 405 method_not_allowed error body.
func Validate(x Exchange) error {
	s, err := loadSpec()
	if err != nil {
		return err
	}
	req := x.Request.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(x.RequestBody))
	route, params, err := s.router.FindRoute(req)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		return wantEchoError(x, http.StatusNotFound, "not_found")
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return wantEchoError(x, http.StatusMethodNotAllowed, "method_not_allowed")
	case err != nil:
		return fmt.Errorf("find the operation: %w", err)
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options:    &openapi3filter.Options{AuthenticationFunc: authenticate, IncludeResponseStatus: true},
	}
	var reqErr error
	if d := jsonDepth(x.RequestBody); d > maxCheckedDepth {
		// Such a body is refused by the server; checking it against the
		// schema would take minutes.
		reqErr = fmt.Errorf("a request body nested %d deep", d)
	} else {
		reqErr = openapi3filter.ValidateRequest(context.Background(), in)
	}
	if reqErr != nil && (x.Status < 400 || x.Status >= 500) {
		return fmt.Errorf("the request is invalid (%v) but got %d, not a 4xx", reqErr, x.Status)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 x.Status,
		Header:                 x.Header,
		Options:                in.Options,
	}
	out.SetBodyBytes(x.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return err
	}
	return nil
}

// maxCheckedDepth is the deepest request body checked against the document;
// a deeper one counts as invalid (no body of the contract is nested more
// than a few levels).
const maxCheckedDepth = 32

// jsonDepth returns the deepest nesting of arrays and objects in b, reading
// it as JSON text (brackets inside strings do not count).
func jsonDepth(b []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}

// wantEchoError checks the answer to a request no operation matches.
func wantEchoError(x Exchange, status int, code string) error {
	if x.Status != status {
		return fmt.Errorf("no operation of the document matches, but the status is %d, not %d", x.Status, status)
	}
	s, err := loadSpec()
	if err != nil {
		return err
	}
	if ct := x.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("error body of Content-Type %q", ct)
	}
	v, err := decodeJSON(x.Body)
	if err != nil {
		return err
	}
	if err := s.doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("error body: %w", err)
	}
	if got := v.(map[string]any)["error"].(map[string]any)["code"]; got != code {
		return fmt.Errorf("error code %v, want %s", got, code)
	}
	return nil
}

// authenticate checks that a request carries the credentials a security
// scheme asks for; whether they are good is the server's business.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r := in.RequestValidationInput.Request
	switch in.SecuritySchemeName {
	case "bearer":
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tok != "" {
			return nil
		}
		return errors.New("no bearer token")
	case "accessTokenQuery":
		if r.URL.Query().Get("access_token") != "" {
			return nil
		}
		return errors.New("no access_token parameter")
	case "accessTokenProtocol":
		if strings.Contains(r.Header.Get("Sec-WebSocket-Protocol"), "access_token.") {
			return nil
		}
		return errors.New("no access_token subprotocol entry")
	}
	return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
}
