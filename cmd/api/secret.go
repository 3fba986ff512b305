package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/chatsvc/chat/internal/config"
)

const (
	// secretFileSuffix follows the SQLite file's path to name the file
	// that keeps the generated JWT key: sqlite:chat.db keeps it in
	// chat.db.secret.
	secretFileSuffix = ".secret"
	// secretFileMode is the only mode the key file may have: readable and
	// writable by the service's user alone.
	secretFileMode fs.FileMode = 0o600
	// generatedSecretBytes is how much randomness a generated key holds; it
	// is stored hex-encoded, so the key is twice as many bytes.
	generatedSecretBytes = 32
	// minSecretFileBytes is the shortest key the file may hold, as for
	// CHAT_JWT_SECRET.
	minSecretFileBytes = 32
)

// jwtSecret returns the HS256 key: CHAT_JWT_SECRET when it is set;
// otherwise, on SQLite, the key kept beside the database file (made on the
// first start, so tokens survive a restart); otherwise nil, a random key
// per process. It logs where a kept key lives, never the key.
func jwtSecret(cfg config.Config, log *slog.Logger) ([]byte, error) {
	if cfg.JWTSecret != "" {
		return []byte(cfg.JWTSecret), nil
	}
	if !cfg.SQLite() {
		return nil, nil
	}
	// The store reads sqlite://PATH as sqlite:PATH; so does the key file.
	path := strings.TrimPrefix(cfg.SQLitePath(), "//") + secretFileSuffix
	secret, created, err := loadOrCreateSecret(path)
	if err != nil {
		return nil, fmt.Errorf("jwt key file: %w", err)
	}
	if created {
		log.Info("CHAT_JWT_SECRET is empty: generated a key and kept it beside the database", "path", path)
	} else {
		log.Info("CHAT_JWT_SECRET is empty: using the key kept beside the database", "path", path)
	}
	return secret, nil
}

// loadOrCreateSecret reads the key kept at path, or, when there is no file,
// writes a new random one there with mode 0600 and returns it. created
// reports whether the key is new. A file readable by others, or one too
// short to be a key, is an error rather than a key.
func loadOrCreateSecret(path string) (secret []byte, created bool, err error) {
	secret, err = readSecret(path)
	if err == nil {
		return secret, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	raw := make([]byte, generatedSecretBytes)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails
	secret = []byte(hex.EncodeToString(raw))
	if err := writeSecret(path, secret); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process made it first: use that one.
			secret, err = readSecret(path)
			return secret, false, err
		}
		return nil, false, err
	}
	return secret, true, nil
}

// readSecret reads and checks the key file at path.
func readSecret(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&^secretFileMode != 0 {
		return nil, fmt.Errorf("%s has mode %04o; it holds the JWT key and must be 0600 (chmod 600 %s)", path, perm, path)
	}
	b := make([]byte, 4096)
	n, err := f.Read(b)
	if err != nil && n == 0 {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	secret := bytes.TrimSpace(b[:n])
	if len(secret) < minSecretFileBytes {
		return nil, fmt.Errorf("%s holds %d bytes, want a key of at least %d (delete it to make a new one, which ends every session)", path, len(secret), minSecretFileBytes)
	}
	return secret, nil
}

// writeSecret stores secret at path with mode 0600 without ever leaving a
// partial file there: it writes a temporary file in the same directory and
// links it into place, which fails with fs.ErrExist when path exists.
func writeSecret(path string, secret []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(secretFileMode); err != nil {
		tmp.Close()
		return fmt.Errorf("create key file: %w", err)
	}
	if _, err := tmp.Write(append(secret, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("keep key file: %w", err)
	}
	return nil
}
