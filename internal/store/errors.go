package store

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// SQLite result codes the store tells apart.
const (
	sqliteConstraint           = 19   // SQLITE_CONSTRAINT (primary code)
	sqliteTooBig               = 18   // SQLITE_TOOBIG
	sqliteMismatch             = 20   // SQLITE_MISMATCH
	sqliteConstraintPrimaryKey = 1555 // SQLITE_CONSTRAINT_PRIMARYKEY
	sqliteConstraintUnique     = 2067 // SQLITE_CONSTRAINT_UNIQUE
)

// PostgreSQL SQLSTATE codes the store tells apart.
const (
	pgUniqueViolation      = "23505"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
)

// isUnique reports whether err is a unique or primary-key violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == pgUniqueViolation
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqliteConstraintUnique || se.Code() == sqliteConstraintPrimaryKey
	}
	return false
}

// isTransient reports whether a transaction failed only because of a
// concurrent one, so running it again may succeed: a deadlock or
// serialization failure, or a unique violation of the (user_id, ref) key,
// which a concurrent process inserted after this one looked for it.
func isTransient(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case pgSerializationFailure, pgDeadlockDetected:
			return true
		case pgUniqueViolation:
			return pe.ConstraintName == "messages_user_ref_key"
		}
	}
	return false
}

// isItemError reports whether err was caused by the data of one statement
// (a constraint or data error) rather than by the database, so that the
// other items of a batch can still be written without it.
func isItemError(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 22 is "data exception", class 23 "integrity constraint
		// violation".
		return len(pe.Code) == 5 && (pe.Code[:2] == "22" || pe.Code[:2] == "23")
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqliteConstraint, sqliteTooBig, sqliteMismatch:
			return true
		}
	}
	return false
}
