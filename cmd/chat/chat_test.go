package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/servertest"
)

func TestAccountCommands(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, nil)
	dir := filepath.Join(t.TempDir(), "config")
	env := map[string]string{"CHAT_URL": srv.URL, "CHAT_CONFIG_DIR": dir}

	// The password comes from the first line of stdin, then CHAT_PASSWORD.
	if _, stderr, err := runCommand(t, env, "s3cret-password\nignored\n", "register", "-u", "Alice"); err != nil {
		t.Fatalf("register: %v\n%s", err, stderr)
	}
	if _, _, err := runCommand(t, env, "", "register", "-u", "alice", "-p", "another-password"); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Fatalf("second register of alice: got %v, want a taken user name", err)
	}
	if _, _, err := runCommand(t, env, "", "login", "-u", "alice", "-p", "wrong-password"); err == nil || !strings.Contains(err.Error(), "wrong user name or password") {
		t.Fatalf("login with a wrong password: got %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, sessionFile)); err == nil {
		t.Fatal("a failed login wrote a session file")
	}
	if _, _, err := runCommand(t, env, "", "chat"); err == nil || !strings.Contains(err.Error(), "not logged in") {
		t.Fatalf("chat before login: got %v, want not logged in", err)
	}

	loginEnv := map[string]string{"CHAT_CONFIG_DIR": dir, "CHAT_PASSWORD": "s3cret-password"}
	before := time.Now()
	if _, stderr, err := runCommand(t, loginEnv, "", "login", "-u", "ALICE", "-url", srv.URL); err != nil {
		t.Fatalf("login: %v\n%s", err, stderr)
	}
	path := filepath.Join(dir, sessionFile)
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("mode of %s = %v, want %v", p, got, want)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatalf("session file is not JSON: %v", err)
	}
	for _, k := range []string{"url", "access_token", "refresh_token", "expiry"} {
		if s, _ := fields[k].(string); s == "" {
			t.Errorf("session file has no %s: %s", k, raw)
		}
	}
	sess, err := loadSession(path)
	if err != nil {
		t.Fatal(err)
	}
	if sess.URL != srv.URL {
		t.Errorf("session url = %q, want %q", sess.URL, srv.URL)
	}
	if life := sess.Expiry.Sub(before); life < 14*time.Minute || life > 16*time.Minute {
		t.Errorf("access token expiry %s after login, want the default 15m", life)
	}
	if code := getMe(t, srv.URL, sess.AccessToken); code != http.StatusOK {
		t.Fatalf("GET /me with the stored token: %d", code)
	}

	if _, stderr, err := runCommand(t, map[string]string{"CHAT_CONFIG_DIR": dir}, "", "logout"); err != nil {
		t.Fatalf("logout: %v\n%s", err, stderr)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("session file still there after logout: %v", err)
	}
	if code := getMe(t, srv.URL, sess.AccessToken); code != http.StatusUnauthorized {
		t.Errorf("GET /me with the token of a logged-out session: %d, want 401", code)
	}
	if _, _, err := runCommand(t, env, "", "logout"); err == nil {
		t.Error("logout without a session succeeded")
	}
}

// getMe returns the status of GET /api/v1/me with token.
func getMe(t testing.TB, serverURL, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, serverURL+"/api/v1/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestPipedStdin(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, nil)
	alice := newAccount(t, srv.URL, "alice")

	// More lines than the server's default burst of 20 frames: the client
	// paces itself through rate_limited answers and keeps their order.
	var input strings.Builder
	var want []string
	for i := range 30 {
		line := fmt.Sprintf("line %02d", i)
		want = append(want, line)
		input.WriteString(line + "\n")
	}
	input.WriteString("/join notes\nin notes\n")
	start := time.Now()
	stdout, stderr, err := runCommand(t, alice.env, input.String(), "-room", "scripts")
	if err != nil {
		t.Fatalf("chat with piped stdin: %v\n%s", err, stderr)
	}
	t.Logf("30 lines in %s", time.Since(start).Round(time.Millisecond))
	// Every acknowledged line is printed, the last one too, before the
	// client exits.
	var printed []string
	for _, l := range roomLines(stdout, "scripts") {
		printed = append(printed, strings.TrimPrefix(l, "[scripts] alice: "))
	}
	if !slices.Equal(printed, want) || !strings.HasSuffix(stdout, "[notes] alice: in notes\n") {
		t.Errorf("printed:\n%s\nwant every line, the last one included", stdout)
	}

	var got []string
	for _, m := range restHistory(t, srv.URL, alice, "scripts") {
		if m.From != "alice" {
			t.Errorf("message from %q, want alice", m.From)
		}
		got = append(got, m.Text)
	}
	if !slices.Equal(got, want) {
		t.Errorf("stored in #scripts:\n%q\nwant\n%q", got, want)
	}
	if notes := restHistory(t, srv.URL, alice, "notes"); len(notes) != 1 || notes[0].Text != "in notes" {
		t.Errorf("stored in #notes: %+v, want the one line", notes)
	}
}

func TestTwoClientsAndCommands(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, nil)
	alice := newAccount(t, srv.URL, "alice")
	bob := newAccount(t, srv.URL, "bob")
	const wait = 15 * time.Second

	a := startChat(t, alice)
	a.waitErr(t, "joined #general", wait)
	b := startChat(t, bob)
	b.waitErr(t, "joined #general", wait)
	a.waitErr(t, "* bob joined #general", wait)

	a.line(t, "hi bob")
	b.waitOut(t, "[general] alice: hi bob\n", wait)
	b.line(t, "hi alice")
	a.waitOut(t, "[general] bob: hi alice\n", wait)

	// /join switches the current room; bob, not in it, sees nothing.
	a.line(t, "/join Random")
	a.waitErr(t, "joined #random", wait)
	for _, s := range []string{"r1", "r2", "r3"} {
		a.line(t, s)
	}
	a.waitOut(t, "[random] alice: r3\n", wait)

	// /rooms lists both rooms, the current one marked.
	a.line(t, "/rooms")
	a.waitOut(t, "(current)\n", wait)
	for _, l := range strings.Split(a.out.String(), "\n") {
		if strings.HasPrefix(l, "#random ") != strings.HasSuffix(l, "(current)") {
			t.Errorf("/rooms line %q: want #random, and only it, marked current", l)
		}
	}
	a.waitOut(t, "#general ", wait)

	// /history N prints the last N messages of the current room, which
	// bob never saw live.
	b.line(t, "/join random")
	b.waitErr(t, "joined #random (2 here: ", wait)
	b.line(t, "/history 2")
	b.waitOut(t, "[random] #3 alice: r3\n", wait)
	if out := b.out.String(); !strings.Contains(out, "[random] #2 alice: r2\n") || strings.Contains(out, "r1") {
		t.Errorf("bob's /history 2 printed:\n%s", out)
	}

	// /leave: bob (a member; alice owns #random, and an owner must hand a
	// room over first) no longer gets #random, and is back in #general.
	b.line(t, "/leave")
	b.waitErr(t, "left #random; now in #general", wait)
	a.waitErr(t, "* bob left #random", wait)
	a.line(t, "after leave")
	a.waitOut(t, "[random] alice: after leave\n", wait)
	b.line(t, "back in general")
	a.waitOut(t, "[general] bob: back in general\n", wait)
	b.waitOut(t, "[general] bob: back in general\n", wait)
	if strings.Contains(b.out.String(), "after leave") {
		t.Errorf("bob got a message of the room he left:\n%s", b.out.String())
	}

	// Each line shows exactly once on each side.
	wantA := []string{"[general] alice: hi bob", "[general] bob: hi alice", "[general] bob: back in general"}
	if got := roomLines(a.out.String(), "general"); !slices.Equal(got, wantA) {
		t.Errorf("alice's #general:\n%q\nwant\n%q", got, wantA)
	}
	if got := roomLines(b.out.String(), "general"); !slices.Equal(got, wantA) {
		t.Errorf("bob's #general:\n%q\nwant\n%q", got, wantA)
	}

	a.line(t, "/quit")
	if err := a.wait(t, wait); err != nil {
		t.Errorf("alice after /quit: %v", err)
	}
}

func TestResumeAfterNetworkLossAndRestart(t *testing.T) {
	t.Parallel()
	// A replay limit of 3 makes the second gap (7 messages) truncated, so
	// the client pages the rest over REST.
	srv := servertest.Start(t, map[string]string{"CHAT_WS_REPLAY_LIMIT": "3"})
	px := servertest.StartProxy(t, srv.Addr)
	alice := newAccount(t, px.URL(), "alice")
	bob := newAccount(t, srv.URL, "bob")
	const wait = 40 * time.Second

	a := startChat(t, alice)
	b := startChat(t, bob)
	a.waitErr(t, "joined #general", wait)
	b.waitErr(t, "joined #general", wait)

	b.line(t, "b1")
	b.line(t, "b2")
	a.waitOut(t, "[general] bob: b2\n", wait)

	// The network drops alice (1006): bob's lines and alice's own typed
	// line wait for her return.
	px.Block()
	px.Cut()
	a.waitErr(t, "(1006)", wait)
	a.line(t, "a1")
	b.line(t, "b3")
	b.line(t, "b4")
	b.waitOut(t, "[general] bob: b4\n", wait)
	px.Unblock()
	a.waitOut(t, "[general] alice: a1\n", wait)

	// The server restarts (1001) while alice cannot reach it; bob comes
	// back first and sends more than the replay limit.
	px.Block()
	srv.Restart()
	a.waitErr(t, "going_away (1001)", wait)
	for i := 5; i <= 10; i++ {
		b.line(t, fmt.Sprintf("b%d", i))
	}
	b.waitOut(t, "[general] bob: b10\n", wait)
	px.Unblock()
	b.line(t, "b11")
	a.waitOut(t, "[general] bob: b11\n", wait)
	b.waitOut(t, "[general] bob: b11\n", wait)

	if !strings.Contains(a.errOut.String(), "missed message(s) fetched from the history") {
		t.Errorf("alice did not page the truncated replay over REST:\n%s", a.errOut.String())
	}
	want := []string{"[general] bob: b1", "[general] bob: b2", "[general] bob: b3", "[general] bob: b4", "[general] alice: a1"}
	for i := 5; i <= 11; i++ {
		want = append(want, fmt.Sprintf("[general] bob: b%d", i))
	}
	if got := roomLines(a.out.String(), "general"); !slices.Equal(got, want) {
		t.Errorf("alice printed:\n%q\nwant each message once, in order:\n%q", got, want)
	}
	if got := roomLines(b.out.String(), "general"); !slices.Equal(got, want) {
		t.Errorf("bob printed:\n%q\nwant each message once, in order:\n%q", got, want)
	}
	var stored []string
	for _, m := range restHistory(t, srv.URL, bob, "general") {
		stored = append(stored, "[general] "+m.From+": "+m.Text)
	}
	if !slices.Equal(stored, want) {
		t.Errorf("stored:\n%q\nwant\n%q", stored, want)
	}
}

func TestResendAfterLostAck(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, nil)
	px := servertest.StartProxy(t, srv.Addr)
	alice := newAccount(t, px.URL(), "alice")
	const wait = 30 * time.Second

	a := startChat(t, alice)
	a.waitErr(t, "joined #general", wait)
	a.line(t, "first")
	a.waitOut(t, "[general] alice: first\n", wait)

	// The server stores the line but its ack never arrives; the socket
	// then breaks. The client resends the line with the same ref, and the
	// server answers with the first ack instead of storing it again.
	px.Mute(true)
	a.line(t, "only once")
	deadline := time.Now().Add(wait)
	for len(restHistory(t, srv.URL, alice, "general")) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the line was not stored")
		}
		time.Sleep(20 * time.Millisecond)
	}
	px.Cut()
	px.Mute(false)
	a.waitErr(t, "(1006)", wait)
	a.line(t, "last")
	a.waitOut(t, "[general] alice: last\n", wait)

	want := []string{"[general] alice: first", "[general] alice: only once", "[general] alice: last"}
	if got := roomLines(a.out.String(), "general"); !slices.Equal(got, want) {
		t.Errorf("alice printed:\n%q\nwant\n%q", got, want)
	}
	var stored []string
	for _, m := range restHistory(t, srv.URL, alice, "general") {
		stored = append(stored, "[general] "+m.From+": "+m.Text)
	}
	if !slices.Equal(stored, want) {
		t.Errorf("stored:\n%q\nwant\n%q", stored, want)
	}
}

func TestSessionRevokedElsewhere(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, nil)
	alice := newAccount(t, srv.URL, "alice")

	a := startChat(t, alice)
	a.waitErr(t, "joined #general", 15*time.Second)
	// `chat logout` in another terminal with the same config revokes the
	// session: the server closes the socket with 4003.
	if _, stderr, err := runCommand(t, alice.env, "", "logout"); err != nil {
		t.Fatalf("logout: %v\n%s", err, stderr)
	}
	err := a.wait(t, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "session revoked") || !strings.Contains(err.Error(), "chat login") {
		t.Fatalf("client after logout elsewhere returned %v, want a session revoked error that says to log in", err)
	}
}

func TestTokenRefresh(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, map[string]string{"CHAT_ACCESS_TTL": "3s", "CHAT_JWT_LEEWAY": "0s"})
	alice := newAccount(t, srv.URL, "alice")
	first := alice.session(t)

	// A stored access token the server refuses: the client asks /me,
	// refreshes and connects.
	broken := first
	broken.AccessToken = "not-a-token"
	if err := saveSession(alice.sessionPath(), broken); err != nil {
		t.Fatal(err)
	}
	a := startChat(t, alice)
	a.waitErr(t, "joined #general", 15*time.Second)

	// Twice the token's life: the client refreshes over REST and hands the
	// socket each new token, so it is never closed with 4001.
	time.Sleep(7 * time.Second)
	a.line(t, "still here")
	a.waitOut(t, "[general] alice: still here\n", 5*time.Second)
	if s := a.errOut.String(); strings.Contains(s, "disconnected") || strings.Count(s, "connected to") != 1 {
		t.Errorf("the client did not stay connected:\n%s", s)
	}
	now := alice.session(t)
	if now.RefreshToken == first.RefreshToken || now.AccessToken == first.AccessToken {
		t.Error("the session file still holds the first token pair")
	}
	if !now.Expiry.After(time.Now()) {
		t.Errorf("the stored access token expired at %s", now.Expiry)
	}
	if code := getMe(t, srv.URL, now.AccessToken); code != http.StatusOK {
		t.Errorf("GET /me with the stored token: %d", code)
	}
}
