package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// sqliteFileMode is the mode of a SQLite file the service creates. SQLite
// gives the -wal and -shm files it makes beside it the same mode, so no
// other user of the machine can read the messages or the password hashes.
const sqliteFileMode = 0o600

// createPrivate creates the SQLite file at path with sqliteFileMode unless
// it exists already (an existing file keeps the mode its owner gave it).
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, sqliteFileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: create sqlite file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: create sqlite file: %w", err)
	}
	return nil
}
