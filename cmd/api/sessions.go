package main

import (
	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/hub"
	"github.com/chatsvc/chat/internal/store"
)

// The auth service checks the sessions of open sockets for the hub, many
// at a time from the store.
var (
	_ hub.SessionChecker      = (*auth.Service)(nil)
	_ auth.ActiveSessionStore = (*store.DB)(nil)
)
