// Package config reads the chat service's configuration from CHAT_
// environment variables.
//
// Load takes a getenv function instead of reading the process environment,
// so tests and tools pass a literal environment. An unset variable and an
// empty one are the same: both take the default. Load parses every variable,
// applies the defaults of the contract, validates ranges and the
// combinations that cannot work (several nodes on a SQLite file, say), and
// reports every bad variable at once, each error naming its variable and
// what it accepts. Secrets are never repeated in an error.
//
// Config is read only by cmd/api, which hands each package the few values
// it needs in that package's own options.
package config
