package chat

// Event kinds carried between nodes by the broker.
const (
	EventMessage  = "message"
	EventPresence = "presence"
	EventTyping   = "typing"
	EventRevoke   = "revoke"
	// EventRoomDeleted empties Room on every node (v2).
	EventRoomDeleted = "room_deleted"
	// EventReceipt tells Room's members that UserID read up to Seq (v2).
	EventReceipt = "receipt"
)

// Event kinds addressed to one user's sockets rather than to a room's: they
// name their room in UserRoom and travel on the node-wide channel (v2).
const (
	// EventInvited tells UserID's sockets that Username invited them to
	// UserRoom.
	EventInvited = "invited"
	// EventRead tells UserID's sockets that their read marker in UserRoom
	// moved to Seq.
	EventRead = "read"
)

// Event kinds a broker hands to its own node's hub; they never travel
// between nodes.
const (
	// EventResync asks the hub to check Room against the store and to read
	// its presence on other nodes again (every room when Room is empty, and
	// then also to announce this node's presence again).
	EventResync = "resync"
	// EventNodeGone tells the hub that Node stopped answering: the users
	// present only there have left.
	EventNodeGone = "node_gone"
)

// Event is what one node tells the others: a stored message, a presence
// change, a typing notice or a revoked session. Node names the node that
// published it, so a node can ignore its own events.
type Event struct {
	Kind      string   `json:"k"`
	Node      string   `json:"n"`
	Room      string   `json:"r,omitempty"`
	Message   *Message `json:"m,omitempty"`
	UserID    string   `json:"u,omitempty"`
	Username  string   `json:"un,omitempty"`
	Presence  string   `json:"p,omitempty"`
	SessionID string   `json:"s,omitempty"`
	// UserRoom is the room of an event addressed to a user.
	UserRoom string `json:"ur,omitempty"`
	// Seq is a read marker or receipt's seq.
	Seq int64 `json:"q,omitempty"`
}

// PresentUser is a user present in a room on a node.
type PresentUser struct {
	Node     string
	UserID   string
	Username string
}
