package client_test

// The client keeps wire types of its own (frames.go, types.go): it is a
// public package and must not expose those of internal/chat. These tests
// keep the two from drifting apart: against the contract's documents
// (docs/frames.json, openapi/openapi.json) and against what the server's
// own types marshal to.

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/chatsvc/chat/client"
	"github.com/chatsvc/chat/docs"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/openapi"
)

// TestFramesMatchTheContract checks that the client decodes every frame
// the server may send, per docs/frames.json, into a type with exactly the
// frame's fields, of the same JSON kinds.
func TestFramesMatchTheContract(t *testing.T) {
	t.Parallel()
	doc := loadSchemas(t, "docs/frames.json", docs.Frames)
	mapping, _ := doc.schema(t, "ServerFrame")["discriminator"].(map[string]any)["mapping"].(map[string]any)
	if len(mapping) == 0 {
		t.Fatal("docs/frames.json: ServerFrame maps no frame type")
	}
	for _, typ := range slices.Sorted(maps.Keys(mapping)) {
		ref := mapping[typ]
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			ev, _, err := client.DecodeFrame([]byte(`{"type":"` + typ + `"}`))
			if err != nil || ev == nil {
				t.Fatalf("the client does not decode %s frames (%v)", typ, err)
			}
			want := doc.shape(t, map[string]any{"$ref": ref})
			got := goShape(reflect.TypeOf(ev).Elem())
			// DecodeFrame reads type and ref itself, and returns the ref
			// beside the event.
			delete(want.fields, "type")
			if _, ok := got.fields["ref"]; !ok {
				delete(want.fields, "ref")
			}
			for _, d := range compareShapes(typ, got, want) {
				t.Error(d)
			}
		})
	}
}

// TestRESTShapesMatchTheContract checks the client's types of REST answers
// against the schemas of openapi/openapi.json, and that every object
// schema there is either one of them or known not to be.
func TestRESTShapesMatchTheContract(t *testing.T) {
	t.Parallel()
	doc := loadSchemas(t, "openapi/openapi.json", openapi.Document)
	types := map[string]any{
		"User":               client.User{},
		"UserRef":            client.MemberUser{},
		"TokenPair":          client.TokenPair{},
		"Room":               client.Room{},
		"Message":            client.Message{},
		"Member":             client.Member{},
		"MyRoom":             client.MyRoom{},
		"RoomPage":           client.RoomsPage{},
		"MessagePage":        client.MessagesPage{},
		"RoomWithMembership": client.RoomInfo{},
		"MemberPage":         client.MembersPage{},
		"SearchPage":         client.SearchPage{},
	}
	// Object schemas that no exported type of the client decodes: error
	// bodies and one-field wrappers are read by unexported types, request
	// bodies are written by the client, readiness is a list of names.
	others := []string{
		"Error", "Status", "Unready", "UserBody", "RoomBody", "MyRooms",
		"Credentials", "Registration", "RefreshRequest", "NewRoom", "TopicChange",
		"Moderation", "Mute", "RoleChange", "Leave", "DirectRequest", "Suspension",
	}
	for _, name := range slices.Sorted(maps.Keys(doc.schemas)) {
		s := doc.schemas[name]
		if s["type"] != "object" || slices.Contains(others, name) {
			continue
		}
		v, ok := types[name]
		if !ok {
			t.Errorf("openapi.json has the object %s: give the client a type for it, or list it among the others", name)
			continue
		}
		for _, d := range compareShapes(name, goShape(reflect.TypeOf(v)), doc.shape(t, s)) {
			t.Error(d)
		}
	}
}

// TestServerShapesDecode marshals the server's own wire types, every field
// set, and decodes each into the client's type refusing unknown fields: a
// field the server sends and the client does not know fails here, whether
// or not the documents have it yet.
func TestServerShapesDecode(t *testing.T) {
	t.Parallel()
	frames := []any{
		&chat.WelcomeFrame{Type: chat.TypeWelcome},
		&chat.JoinedFrame{Type: chat.TypeJoined},
		&chat.LeftFrame{Type: chat.TypeLeft},
		&chat.AckFrame{Type: chat.TypeAck},
		&chat.PresenceFrame{Type: chat.TypePresence},
		&chat.TypingFrame{Type: chat.TypeTyping},
		&chat.AuthedFrame{Type: chat.TypeAuthed},
		&chat.ErrorFrame{Type: chat.TypeError},
		&chat.InvitedFrame{Type: chat.TypeInvited},
		&chat.ReadFrame{Type: chat.TypeRead},
		&chat.ReceiptFrame{Type: chat.TypeReceipt},
	}
	for _, kind := range []string{chat.StreamMessage, chat.StreamEdit, chat.StreamDelete, chat.StreamMember, chat.StreamRoom} {
		var m chat.Message
		fill(reflect.ValueOf(&m))
		m.Kind = kind
		frames = append(frames, chat.StreamFrame(m))
	}
	for _, f := range frames {
		fill(reflect.ValueOf(f))
		data, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		ev, _, err := client.DecodeFrame(data)
		if err != nil || ev == nil {
			t.Errorf("DecodeFrame(%s) = %v, %v", data, ev, err)
			continue
		}
		into := reflect.New(reflect.TypeOf(ev).Elem()).Interface()
		skip := []string{"type"}
		if _, ok := goShape(reflect.TypeOf(into).Elem()).fields["ref"]; !ok {
			skip = append(skip, "ref")
		}
		if err := decodeStrict(data, into, skip...); err != nil {
			t.Errorf("%T as %T: %v", f, into, err)
		}
	}

	rest := []struct{ server, client any }{
		{&chat.UserJSON{}, &client.User{}},
		{&chat.TokenPair{}, &client.TokenPair{}},
		{&chat.RoomJSON{}, &client.Room{}},
		{&chat.MessageJSON{}, &client.Message{}},
		{&chat.MemberUserJSON{}, &client.MemberUser{}},
		{&chat.MemberJSON{}, &client.Member{}},
		{&chat.MyRoomJSON{}, &client.MyRoom{}},
	}
	for _, r := range rest {
		fill(reflect.ValueOf(r.server))
		data, err := json.Marshal(r.server)
		if err != nil {
			t.Fatal(err)
		}
		if err := decodeStrict(data, r.client); err != nil {
			t.Errorf("%T as %T: %v", r.server, r.client, err)
		}
	}
}

// TestNamesMatchTheContract checks the client's error codes and the names
// it exports constants for (kinds, roles, states, member changes) against
// the contract's lists.
func TestNamesMatchTheContract(t *testing.T) {
	t.Parallel()
	frames := loadSchemas(t, "docs/frames.json", docs.Frames)
	rest := loadSchemas(t, "openapi/openapi.json", openapi.Document)
	enum := func(s map[string]any, path ...string) []string {
		for _, p := range path {
			s = s[p].(map[string]any)
		}
		var out []string
		for _, v := range s["enum"].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	names := func(xs ...string) []string { return xs }

	// Every error code the contract names is a Code of the client.
	codes := map[string]bool{}
	for _, c := range []client.Code{
		client.CodeInvalidRequest, client.CodeUsernameTaken, client.CodeRegistrationClosed,
		client.CodeTooManyAttempts, client.CodeInvalidCredentials, client.CodeInvalidToken,
		client.CodeTokenExpired, client.CodeAccountSuspended, client.CodeNotFound,
		client.CodeMethodNotAllowed, client.CodeRequestTooLarge, client.CodeOriginNotAllowed,
		client.CodeUnavailable, client.CodeRoomNotFound, client.CodeUserNotFound,
		client.CodeRoomExists, client.CodeOwnerMustTransfer, client.CodeForbidden,
		client.CodeTooManyConnections, client.CodeInvalidRoom, client.CodeInternal,
		client.CodeBadRequest, client.CodeInvalidSince, client.CodeNotJoined,
		client.CodeTooManyRooms, client.CodeTextTooLong, client.CodeTextEmpty,
		client.CodeRefConflict, client.CodeRateLimited, client.CodeMuted, client.CodeMessageNotFound,
	} {
		codes[string(c)] = true
	}
	contract := enum(frames.schema(t, "ErrorCode"))
	contract = append(contract, errorCodes(openapi.Document)...)
	for _, c := range contract {
		if !codes[c] {
			t.Errorf("the contract has the error code %s, the client has no Code for it", c)
		}
	}

	tests := []struct {
		name             string
		client, contract []string
	}{
		{"room kinds", names(client.KindPublic, client.KindPrivate, client.KindDirect),
			enum(rest.schema(t, "Room"), "properties", "kind")},
		{"roles", names(client.RoleOwner, client.RoleAdmin, client.RoleMember), enum(frames.schema(t, "Role"))},
		{"member states", names(client.StateMember, client.StateInvited, client.StateBanned),
			enum(rest.schema(t, "Member"), "properties", "state")},
		{"member changes", names(client.ChangeInvited, client.ChangeJoined, client.ChangeLeft, client.ChangeKicked,
			client.ChangeBanned, client.ChangeUnbanned, client.ChangeMuted, client.ChangeUnmuted, client.ChangeRole),
			enum(frames.schema(t, "ServerMember"), "properties", "change")},
	}
	for _, tt := range tests {
		slices.Sort(tt.client)
		slices.Sort(tt.contract)
		if !slices.Equal(tt.client, tt.contract) {
			t.Errorf("%s: the client has %q, the contract %q", tt.name, tt.client, tt.contract)
		}
	}
}

// errorCodes returns the error codes a JSON document lists: the enum of
// every "code" it describes.
func errorCodes(doc []byte) []string {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if c, ok := x["code"].(map[string]any); ok {
				if e, ok := c["enum"].([]any); ok {
					for _, s := range e {
						out = append(out, s.(string))
					}
				}
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(v)
	return out
}

// decodeStrict decodes the JSON object data into v, without the keys skip,
// refusing fields v does not have.
func decodeStrict(data []byte, v any, skip ...string) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return err
	}
	for _, k := range skip {
		delete(obj, k)
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// fill sets every field of v that is zero to a value that is not, so that
// no omitempty leaves it out of the JSON.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem())
	case reflect.String:
		if v.String() == "" {
			v.SetString("x")
		}
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() == 0 {
			v.SetInt(1)
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		}
		for i := range v.Len() {
			fill(v.Index(i))
		}
	case reflect.Struct:
		if t, ok := v.Interface().(time.Time); ok {
			if t.IsZero() {
				v.Set(reflect.ValueOf(time.Date(2026, 11, 25, 7, 53, 37, 123e6, time.UTC)))
			}
			return
		}
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				fill(f)
			}
		}
	}
}
