package apitest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chatsvc/chat/openapi/apitest"
)

func TestDocumentsLoad(t *testing.T) {
	if _, err := apitest.LoadOpenAPI(); err != nil {
		t.Fatal(err)
	}
	if _, err := apitest.LoadFrames(); err != nil {
		t.Fatal(err)
	}
}

const (
	ts   = `"2026-11-25T07:53:37.123Z"`
	user = `{"id":"01J","username":"alice","created_at":` + ts + `}`
	room = `{"name":"general","created_at":` + ts + `,"last_seq":3,"kind":"public","topic":"","owner":null,"member_count":2}`
)

func TestValidate(t *testing.T) {
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	unauthorized := http.Header{"Content-Type": {"application/json"}, "Www-Authenticate": {"Bearer"}}
	tests := []struct {
		name    string
		method  string
		path    string
		token   string
		body    string
		status  int
		header  http.Header
		resp    string
		wantErr string // "" when valid
	}{
		{"me", "GET", "/api/v1/me", "t", "", 200, jsonHeader, `{"user":` + user + `}`, ""},
		{"me: extra field", "GET", "/api/v1/me", "t", "", 200, jsonHeader, `{"user":` + user + `,"x":1}`, "doesn't match"},
		{"me: time without millis", "GET", "/api/v1/me", "t", "", 200, jsonHeader, `{"user":{"id":"1","username":"alice","created_at":"2026-11-25T07:53:37Z"}}`, "doesn't match"},
		{"me: upper-case username", "GET", "/api/v1/me", "t", "", 200, jsonHeader, `{"user":{"id":"1","username":"Alice","created_at":` + ts + `}}`, "doesn't match"},
		{"me: undocumented status", "GET", "/api/v1/me", "t", "", 418, jsonHeader, `{}`, "status is not supported"},
		{"me: 401", "GET", "/api/v1/me", "", "", 401, unauthorized, `{"error":{"code":"invalid_token","message":"m"}}`, ""},
		{"me: 401 without WWW-Authenticate", "GET", "/api/v1/me", "", "", 401, jsonHeader, `{"error":{"code":"invalid_token","message":"m"}}`, "WWW-Authenticate"},
		{"me: 401 with another code", "GET", "/api/v1/me", "", "", 401, unauthorized, `{"error":{"code":"forbidden","message":"m"}}`, "doesn't match"},
		{"me: no token but 200", "GET", "/api/v1/me", "", "", 200, jsonHeader, `{"user":` + user + `}`, "not a 4xx"},
		{"rooms page", "GET", "/api/v1/rooms?limit=1", "t", "", 200, jsonHeader, `{"rooms":[` + room + `],"next":"general"}`, ""},
		{"rooms: limit 0 answered 200", "GET", "/api/v1/rooms?limit=0", "t", "", 200, jsonHeader, `{"rooms":[],"next":null}`, "not a 4xx"},
		{"rooms: limit 0 refused", "GET", "/api/v1/rooms?limit=0", "t", "", 400, jsonHeader, `{"error":{"code":"invalid_request","message":"m"}}`, ""},
		{"rooms: owner of the wrong type", "GET", "/api/v1/rooms", "t", "", 200, jsonHeader, `{"rooms":[` + strings.Replace(room, `"owner":null`, `"owner":5`, 1) + `],"next":null}`, "doesn't match"},
		{"rooms: unknown kind", "GET", "/api/v1/rooms", "t", "", 200, jsonHeader, `{"rooms":[` + strings.Replace(room, `"public"`, `"secret"`, 1) + `],"next":null}`, "doesn't match"},
		{"login: token_type not Bearer", "POST", "/api/v1/auth/login", "", `{"username":"a","password":"b"}`, 200, jsonHeader, `{"access_token":"a","token_type":"bearer","expires_in":900,"refresh_token":"r","refresh_expires_in":9}`, "doesn't match"},
		{"login: expires_in as a string", "POST", "/api/v1/auth/login", "", `{"username":"a","password":"b"}`, 200, jsonHeader, `{"access_token":"a","token_type":"Bearer","expires_in":"900","refresh_token":"r","refresh_expires_in":9}`, "doesn't match"},
		{"rooms: next missing", "GET", "/api/v1/rooms", "t", "", 200, jsonHeader, `{"rooms":[]}`, "doesn't match"},
		{"login", "POST", "/api/v1/auth/login", "", `{"username":"a","password":"b"}`, 429, http.Header{"Content-Type": {"application/json"}, "Retry-After": {"3"}}, `{"error":{"code":"too_many_attempts","message":"m"}}`, ""},
		{"login: 429 without Retry-After", "POST", "/api/v1/auth/login", "", `{"username":"a","password":"b"}`, 429, jsonHeader, `{"error":{"code":"too_many_attempts","message":"m"}}`, "Retry-After"},
		{"login: error without message", "POST", "/api/v1/auth/login", "", `{}`, 400, jsonHeader, `{"error":{"code":"invalid_request"}}`, "doesn't match"},
		{"logout", "POST", "/api/v1/auth/logout", "", `{"refresh_token":"x"}`, 204, http.Header{}, ``, ""},
		{"unknown path", "GET", "/api/v1/nope", "", "", 404, jsonHeader, `{"error":{"code":"not_found","message":"Not Found"}}`, ""},
		{"unknown path answered 200", "GET", "/api/v1/nope", "", "", 200, jsonHeader, `{}`, "not 404"},
		{"wrong method", "DELETE", "/api/v1/me", "", "", 405, jsonHeader, `{"error":{"code":"method_not_allowed","message":"Method Not Allowed"}}`, ""},
		{"wrong method with another code", "DELETE", "/api/v1/me", "", "", 405, jsonHeader, `{"error":{"code":"not_found","message":"m"}}`, "want method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			err := apitest.Validate(apitest.Exchange{Request: req, RequestBody: []byte(tt.body), Status: tt.status, Header: tt.header, Body: []byte(tt.resp)})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("valid exchange refused: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("invalid exchange accepted, want an error about %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %v, want one about %q", err, tt.wantErr)
			}
		})
	}
}

func TestFrames(t *testing.T) {
	tests := []struct {
		name   string
		server bool
		frame  string
		valid  bool
	}{
		{"welcome", true, `{"type":"welcome","user":{"id":"1","username":"alice"},"session_id":"s","heartbeat_ms":25000}`, true},
		{"welcome without session", true, `{"type":"welcome","user":{"id":"1","username":"alice"},"heartbeat_ms":25000}`, false},
		{"joined", true, `{"type":"joined","room":"general","last_seq":0,"replayed":0,"truncated":false,"members":["alice"],"ref":"r1"}`, true},
		{"joined with string seq", true, `{"type":"joined","room":"general","last_seq":"0","replayed":0,"truncated":false,"members":[]}`, false},
		{"message", true, `{"type":"message","room":"general","seq":1,"id":"m","from":"alice","from_id":"u","text":"hi","ts":` + ts + `}`, true},
		{"replayed edited message", true, `{"type":"message","room":"general","seq":1,"id":"m","from":"alice","from_id":"u","text":"hi","ts":` + ts + `,"edited_at":` + ts + `,"deleted":false}`, true},
		{"message with seq 0", true, `{"type":"message","room":"general","seq":0,"id":"m","from":"alice","from_id":"u","text":"hi","ts":` + ts + `}`, false},
		{"message with an extra field", true, `{"type":"message","room":"general","seq":1,"id":"m","from":"alice","from_id":"u","text":"hi","ts":` + ts + `,"x":1}`, false},
		{"error", true, `{"type":"error","code":"not_joined","message":"join first","ref":"r","room":"general"}`, true},
		{"error with an unknown code", true, `{"type":"error","code":"oops","message":"m"}`, false},
		{"left kicked", true, `{"type":"left","room":"general","reason":"kicked"}`, true},
		{"left with an unknown reason", true, `{"type":"left","room":"general","reason":"bored"}`, false},
		{"member", true, `{"type":"member","room":"r","seq":4,"user":"bob","user_id":"u","change":"muted","role":null,"until":` + ts + `,"by":"alice","reason":null,"ts":` + ts + `}`, true},
		{"member without the null fields", true, `{"type":"member","room":"r","seq":4,"user":"bob","user_id":"u","change":"kicked","ts":` + ts + `}`, false},
		{"unknown server type", true, `{"type":"hello"}`, false},
		{"client frame type from the server", true, `{"type":"send","room":"general","text":"hi","ref":"r"}`, false},
		{"not an object", true, `[1]`, false},
		{"join", false, `{"type":"join","room":"General","since":4}`, true},
		{"join with a negative since", false, `{"type":"join","room":"general","since":-1}`, false},
		{"send with an unknown field", false, `{"type":"send","room":"general","text":"hi","ref":"r","x":1}`, true},
		{"send without ref", false, `{"type":"send","room":"general","text":"hi"}`, false},
		{"edit", false, `{"type":"edit","room":"general","seq":3,"text":"hi","ref":"r"}`, true},
		{"ref too long", false, `{"type":"leave","room":"general","ref":"` + strings.Repeat("r", 65) + `"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			validate := apitest.ValidateClientFrame
			if tt.server {
				validate = apitest.ValidateServerFrame
			}
			err := validate([]byte(tt.frame))
			if tt.valid && err != nil {
				t.Fatalf("valid frame refused: %v", err)
			}
			if !tt.valid && err == nil {
				t.Fatal("invalid frame accepted")
			}
		})
	}
}

func TestDeepRequestBody(t *testing.T) {
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	for _, tt := range []struct {
		status int
		valid  bool
	}{{400, true}, {201, false}} {
		req := httptest.NewRequest("POST", "/api/v1/auth/register", nil)
		req.Header.Set("Content-Type", "application/json")
		resp := `{"error":{"code":"invalid_request","message":"m"}}`
		if tt.status == 201 {
			resp = `{"user":` + user + `}`
		}
		err := apitest.Validate(apitest.Exchange{Request: req, RequestBody: []byte(deep), Status: tt.status, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(resp)})
		if (err == nil) != tt.valid {
			t.Errorf("status %d: error %v, want valid %v", tt.status, err, tt.valid)
		}
	}
}
