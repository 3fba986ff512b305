package main

import (
	"bufio"
	"errors"
	"io"
	"strings"

	"github.com/chatsvc/chat/client"
)

// printable makes text safe to print on one terminal line per line: lines
// after the first are indented and control characters replaced, so no text
// can pass for another message or drive the terminal.
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

// asAPIError returns err's *client.APIError.
func asAPIError(err error) (*client.APIError, bool) {
	var e *client.APIError
	ok := errors.As(err, &e)
	return e, ok
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
