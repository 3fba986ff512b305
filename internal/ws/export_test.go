package ws

import (
	"fmt"
	"os"
	"testing"
)

// TestReadMode is the read side the tests' handlers use: TestMain runs
// the whole suite once with each, or only with the one named by
// CHAT_TEST_WS_READ_MODE.
var TestReadMode = ReadEpoll

func TestMain(m *testing.M) {
	modes := []string{ReadEpoll, ReadGoroutine}
	if only := os.Getenv("CHAT_TEST_WS_READ_MODE"); only != "" {
		modes = []string{only}
	}
	code := 0
	for _, mode := range modes {
		TestReadMode = mode
		fmt.Printf("=== read mode %s\n", mode)
		if c := m.Run(); c != 0 {
			code = c
		}
	}
	os.Exit(code)
}
