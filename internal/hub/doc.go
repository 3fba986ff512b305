// Package hub is the real-time core of the chat service, whatever carries
// its sockets: rooms, per-room ordering and gap fill, the replay-to-live
// handoff, presence, typing, cross-node events, per-user socket accounting,
// revocation, token expiry, heartbeats and the decisions on every client
// frame. It imports no transport: a socket is the small Socket interface,
// and package ws implements it over WebSocket.
//
// The hub never talks to a database or a message bus directly: it consumes
// the small Store, Broker and Authenticator interfaces declared here, and
// cmd/api passes the concrete values.
//
// # A socket's life
//
// The transport makes the hub's side of a socket with NewClient, registers
// it with Attach (which greets it), hands it every frame the peer sends
// with Handle from one goroutine (the socket's reader, which owns its room
// memberships), reports what it hears with Client.Heard, and ends it with
// Detach once the socket is closed. The hub delivers with Socket.Deliver
// (never blocking) and Socket.DeliverWait (replays, with back-pressure),
// and ends a socket with Socket.Close, TimedOut or Cut.
//
// # Lock order
//
// A goroutine that holds several of these locks took them in this order,
// and takes none of the earlier ones while it holds a later one:
//
//  1. Hub.startMu (orders socket starts against Shutdown), then a
//     connSet.mu (registering the socket);
//  2. room.pubMu (publishing the room's presence outbox), then room.mu,
//     then the Socket's own lock (Deliver, Close: queueing a frame,
//     closing with 4008);
//  3. a Socket's lock is a leaf, as are roomSet.mu, connSet.mu, usersMu,
//     bgMu, sendQueue.mu (a socket's sends in flight), readState.mu
//     (read markers and receipt slots) and
//     readWriter.mu (markers waiting to be stored): nothing is locked
//     while one of them is held. Broker
//     capabilities (Subscribe, RoomPresence) and the store are called with
//     no lock held.
//
// A gap fill (room.catchUp) waits for its members' queues without room.mu:
// it takes room.mu to look at them (Socket.Queued takes the socket's lock,
// in the order above) and releases it before it pauses.
//
// Broker.Publish is never called with room.mu held. A presence change is
// queued in the room's outbox under room.mu, in the order it happened, and
// published by flushOutbox after room.mu is released, under room.pubMu so
// that the room's changes leave in that order. The in-process broker hands
// an event to the other hubs attached to it on the publishing goroutine,
// which takes their room locks: with two hubs in one process, joins to one
// room on both at the same moment would otherwise wait on each other.
//
// # Goroutines and their owners
//
// Every goroutine the hub starts ends before Shutdown returns: the sweeper
// (stopped by Shutdown), the read-marker writer (started by New, stopped by
// Shutdown once every socket is detached, after it stored what was still
// queued) and background work (gap fills from the store, resyncs, room
// catch-ups, receipts held for their interval) started through
// Hub.background and counted in Hub.bg (hint reads after broker message
// events, hint.go, and each socket's acker while it has sends in flight,
// sends.go, among them). Shutdown also waits for every attached socket to be detached
// (Hub.wg): it closes each with 1001 and, at its deadline, cuts the rest.
//
// One gap fill runs per room (room.fill): it releases a backlog a step at
// a time, each once the members' queues have room for it, and waits for a
// member at most fillStall in all, so it ends soon after Shutdown has
// closed the sockets. Session re-checks (SessionChecker) are background work too: one
// per registered socket, one per resync, and one at a time from the
// sweeper (sessionRecheck.busy), which walks a few registry shards a tick;
// they take only a connSet.mu, to list the sockets, and ask the
// Authenticator with no lock held.
//
// # Read markers and receipts
//
// A read frame moves the user's marker forward only (read.go). Each node
// keeps the markers of the users reading on it to tell an older read, which
// changes nothing and is answered by nothing; the readWriter stores the
// new ones in batches, one MarkRead per batch. The read frame reaches the
// user's sockets here at once and on the other nodes through EventRead;
// receipts (receipt.go) go to the room's other members, on every node
// through EventReceipt, in rooms of at most ReceiptsMaxMembers members
// (the room's member count as room.acc knows it, guarded by room.mu),
// coalesced per user and room by each node to one a second, the newest.
//
// # Counting
//
// A dropped presence, typing or receipt frame is counted by
// Client.dropVolatile, a slow consumer by Client.tooSlow, and every end of
// a socket, with its close code, by Hub.Detach.
//
// # Seams for the rooms and moderation work
//
//   - Authorization: a join is decided by the store (Store.JoinRoom, from
//     the room's kind and the user's membership); send, typing and edit by
//     chat.Authorize from what the room knows of its members (access.go),
//     kept current by the room's member events; a delete of another's
//     message by the store, in the transaction that stores it.
//   - Stream events: a room orders what it delivers by Seq alone (room.deliver,
//     the stash, the gap fill and the replay all take a chat.Message), so an
//     edit, a deletion or a member or room event stored with its own seq
//     flows through the same ordered path once the message frame encodes
//     its kind (messageFrame is the one place).
//   - Delivery to a user: DeliverToUser queues a frame, encoded once, for
//     every socket of one user on this node (invited, read), through the
//     registry's per-user index (connSet.byUser: a user's sockets share a
//     shard), without walking the other users' sockets.
//   - Removal from a room: a member event that ends a membership (kicked,
//     banned, left) takes the user's sockets out of the room on every
//     node, right after the event in the room's order (applyMemberLocked);
//     RemoveFromRoom does the same for a deleted room. The final left frame
//     is queued under the room's lock, so nothing from the room follows
//     it, and the room is released for each removed socket by settle once
//     the lock is free. The memberships are owned by each socket's reader,
//     so they are only marked removed; the reader forgets one the next time
//     it looks (Client.member).
package hub
