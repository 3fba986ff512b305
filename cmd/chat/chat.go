package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/chatsvc/chat/internal/chat"
)

// runChat is the chat, the default command: the full-screen view on a
// terminal, line mode otherwise.
func runChat(ctx context.Context, name string, args []string, env environment) error {
	fs := env.newFlagSet(name)
	serverFlag := fs.String("url", "", "server URL (else CHAT_URL, else the one logged in to)")
	roomFlag := fs.String("room", chat.DefaultRoom, "room to join first")
	plain := fs.Bool("plain", false, "line mode even on a terminal")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see chat help)", fs.Arg(0))
	}
	room, err := chat.NormalizeRoom(*roomFlag)
	if err != nil {
		return fmt.Errorf("-room: %s", chat.ErrorMessage(err))
	}
	a, err := openApp(env, *serverFlag)
	if err != nil {
		return err
	}
	if !*plain && env.terminal() {
		return runTUI(ctx, a, env, room)
	}
	err = runLines(ctx, a, env, room)
	if errors.Is(err, errStopped) {
		return nil
	}
	return err
}
