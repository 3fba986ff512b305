// Package client speaks the public contract of the chat service (v2): its
// REST API and its WebSocket protocol.
//
// A Client holds the server's address and a session's tokens. It logs in
// and registers, refreshes the access token before it expires (one refresh
// at a time, since a refresh token is single use), and makes every REST
// call of the contract; an answer other than 2xx is an *APIError carrying
// the HTTP status and the contract's code, so
//
//	errors.Is(err, client.CodeRoomNotFound)
//
// and errors.As(err, &apiErr) both work. The same codes match the error
// frames of the WebSocket (*FrameError).
//
// A Socket, made by Client.Socket, is one WebSocket that stays up: it
// reconnects with jittered exponential back-off as the close codes of the
// contract say, hands the socket each refreshed access token, rejoins every
// room with since = the last seq it delivered, pages over REST what a
// truncated replay left out, and delivers each stream event of a room once
// and in seq order on Events. Sends, edits and deletions are queued and
// resent with the same ref after a reconnect, so each is stored once.
//
// The Result of a send, edit or delete reports what the server said, and
// nothing it did not: an ack is success and an error frame a refusal, also
// when either arrives after the socket was taken out of the room (a kick, a
// ban, a leave elsewhere, the room's deletion), since the server may store
// a command in flight at that moment. A command that never reached the
// server fails with ErrNotInRoom or ErrClosed. One whose answer was lost
// with its connection, and that the socket could not send again because it
// was out of the room by then or Run ended, fails with ErrOutcomeUnknown:
// it may have been stored, and is no refusal.
//
// A Client and a Socket are safe for use by several goroutines.
package client
