package main

import (
	"context"
	"errors"
)

// runTUI is the full-screen chat.
func runTUI(ctx context.Context, a *app, env environment, room string) error {
	return errors.New("not yet")
}
