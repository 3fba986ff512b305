package store

// RawProvider lends the package's external tests rawProvider: the database
// beside a store and a goose provider of its dialect's migrations.
var RawProvider = rawProvider
