package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/chatsvc/chat/internal/chat"
)

// printMessage writes one message as "[room] user: text". Lines after the
// first are indented and control characters replaced, so no text can pass
// for another message or drive the terminal.
func (c *client) printMessage(m chat.MessageJSON) {
	fmt.Fprintf(c.out, "[%s] %s: %s\n", m.Room, m.From, printable(m.Text))
}

// printable makes text safe to print on one terminal line per line.
func printable(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return '\uFFFD'
		}
		return r
	}, strings.ReplaceAll(text, "\n", "\n    "))
}

// status writes one status line to stderr.
func (c *client) status(format string, args ...any) {
	fmt.Fprintf(c.errw, format+"\n", args...)
}

// newRef returns a random ref: 32 hex digits.
func newRef() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// readLines hands the lines of r to the returned channel, without their
// line ends, and closes it at the end of r. It stops early when done
// closes.
func readLines(r io.Reader, done <-chan struct{}) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		br := bufio.NewReaderSize(r, 64<<10)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				select {
				case ch <- strings.TrimRight(line, "\r\n"):
				case <-done:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}
