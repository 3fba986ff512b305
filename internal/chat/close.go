package chat

// Subprotocol is the WebSocket subprotocol of the contract. A browser offers
// its access token beside it in an entry that starts with
// SubprotocolTokenPrefix.
const (
	Subprotocol            = "chat.v1"
	SubprotocolTokenPrefix = "access_token."
)

// CloseCode is a WebSocket close code of the contract with its reason, the
// snake_case name sent in the close frame.
type CloseCode struct {
	Code   int
	Reason string
}

// The close codes of the contract. CloseAbnormal (1006) is never sent: it
// names a connection that ended without a close frame.
var (
	CloseNormal         = CloseCode{1000, "normal"}
	CloseGoingAway      = CloseCode{1001, "going_away"}
	CloseBinary         = CloseCode{1003, "binary_not_supported"}
	CloseNoStatus       = CloseCode{1005, "no_status"}
	CloseAbnormal       = CloseCode{1006, "abnormal_closure"}
	CloseInvalidUTF8    = CloseCode{1007, "invalid_utf8"}
	ClosePolicy         = CloseCode{1008, "policy_violation"}
	CloseTooLarge       = CloseCode{1009, "message_too_large"}
	CloseInternal       = CloseCode{1011, "internal"}
	CloseTryAgainLater  = CloseCode{1013, "try_again_later"}
	CloseTokenExpired   = CloseCode{4001, "token_expired"}
	CloseSessionRevoked = CloseCode{4003, "session_revoked"}
	CloseTooSlow        = CloseCode{4008, "too_slow"}
)

// CloseCodes lists the close codes a connection may end with, in the order
// of the contract's table: the ones sent or received on the wire, and 1006.
var CloseCodes = []CloseCode{
	CloseNormal, CloseGoingAway, CloseBinary, CloseAbnormal, CloseInvalidUTF8,
	ClosePolicy, CloseTooLarge, CloseInternal, CloseTryAgainLater,
	CloseTokenExpired, CloseSessionRevoked, CloseTooSlow,
}

// CloseReason returns the contract's name of close code code, "no_status"
// for 1005, and "other" for a code outside the contract.
func CloseReason(code int) string {
	if code == CloseNoStatus.Code {
		return CloseNoStatus.Reason
	}
	for _, c := range CloseCodes {
		if c.Code == code {
			return c.Reason
		}
	}
	return "other"
}
