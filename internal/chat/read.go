package chat

// Read markers and receipts (v2).

// Frame types of read markers.
const (
	// TypeRead is the client frame that moves the user's read marker in a
	// room, and the server frame that tells each of the user's sockets it
	// moved.
	TypeRead = "read"
	// TypeReceipt tells a room's other members that a user read it up to
	// a seq.
	TypeReceipt = "receipt"
)

// ReadFrame tells every socket of a user that their read marker in Room
// moved to Seq. The socket that asked gets it with its Ref.
type ReadFrame struct {
	Type string `json:"type"`
	Room string `json:"room"`
	Seq  int64  `json:"seq"`
	Ref  string `json:"ref,omitempty"`
}

// ReceiptFrame tells a room's other members that User read Room up to Seq.
type ReceiptFrame struct {
	Type   string `json:"type"`
	Room   string `json:"room"`
	User   string `json:"user"`
	UserID string `json:"user_id"`
	Seq    int64  `json:"seq"`
}

// ReadMark is a user's read marker in a room: the seq up to which they
// have read it.
type ReadMark struct {
	Room   string
	UserID string
	Seq    int64
}
