package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// sessionFile is the name of the file that keeps the tokens.
const sessionFile = "session.json"

// errNotLoggedIn reports that no session is stored.
var errNotLoggedIn = errors.New("not logged in: run `chat login -u NAME` first")

// savedSession is what `chat login` keeps on disk: the server and the
// current token pair. Expiry is when the access token expires, by this
// machine's clock.
type savedSession struct {
	URL          string    `json:"url"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	Expiry       time.Time `json:"expiry"`
}

// configDir returns the directory that holds the session file:
// CHAT_CONFIG_DIR when set, else the user config directory's "chat".
func configDir(getenv func(string) string) (string, error) {
	if d := getenv("CHAT_CONFIG_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("config: find the config directory: %w", err)
	}
	return filepath.Join(d, "chat"), nil
}

// sessionPath returns the path of the session file.
func sessionPath(getenv func(string) string) (string, error) {
	d, err := configDir(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(d, sessionFile), nil
}

// loadSession reads the session file at path; errNotLoggedIn when there is
// none.
func loadSession(path string) (savedSession, error) {
	var s savedSession
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, errNotLoggedIn
	}
	if err != nil {
		return s, fmt.Errorf("config: read session: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("config: read session %s: %w", path, err)
	}
	if s.AccessToken == "" || s.RefreshToken == "" {
		return s, errNotLoggedIn
	}
	return s, nil
}

// saveSession writes s to path, readable by the user alone (file 0600 in a
// directory created 0700), replacing the old file atomically so a crash
// never leaves half a token behind.
func saveSession(path string, s savedSession) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("config: create %s: %w", dir, err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("config: encode session: %w", err)
	}
	f, err := os.CreateTemp(dir, ".session-*.json")
	if err != nil {
		return fmt.Errorf("config: write session: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("config: write session: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("config: write session: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("config: write session: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("config: write session: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("config: write session: %w", err)
	}
	return nil
}

// removeSession deletes the session file; a missing file is not an error.
func removeSession(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("config: remove session: %w", err)
	}
	return nil
}
