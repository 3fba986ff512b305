package chat

// Wire types: the JSON shapes of the public contract, shared by the server
// and its clients.

// UserJSON is the REST shape of a User.
type UserJSON struct {
	ID        string `json:"id"`
	Username  string `json:"username"`
	CreatedAt string `json:"created_at"`
}

// RoomJSON is the REST shape of a Room.
type RoomJSON struct {
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
	LastSeq   int64  `json:"last_seq"`
}

// MessageJSON is the REST shape of a Message.
type MessageJSON struct {
	Room   string `json:"room"`
	Seq    int64  `json:"seq"`
	ID     string `json:"id"`
	From   string `json:"from"`
	FromID string `json:"from_id"`
	Text   string `json:"text"`
	TS     string `json:"ts"`
}

// TokenPair is the answer to a login or a refresh.
type TokenPair struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
}

// ErrorBody is the body of every REST error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the code and message of an ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// JSON returns the REST shape of u.
func (u User) JSON() UserJSON {
	return UserJSON{ID: u.ID, Username: u.Username, CreatedAt: FormatTime(u.CreatedAt)}
}

// JSON returns the REST shape of r.
func (r Room) JSON() RoomJSON {
	return RoomJSON{Name: r.Name, CreatedAt: FormatTime(r.CreatedAt), LastSeq: r.LastSeq}
}

// JSON returns the REST shape of m.
func (m Message) JSON() MessageJSON {
	return MessageJSON{Room: m.Room, Seq: m.Seq, ID: m.ID, From: m.From, FromID: m.FromID, Text: m.Text, TS: FormatTime(m.TS)}
}
