package chat

import "bytes"

// PeekRefRoom returns the ref and room that an error answering the frame
// data echoes, without decoding the frame: it scans the top-level members
// of one JSON object and builds no value, so it costs a small part of
// DecodeFrame. It is for a frame that will not be carried out (one beyond
// the socket's rate), which still gets its ref and room back.
//
// What it returns is never more than DecodeFrame would echo: a ref only
// when ValidRef, a room only normalized by NormalizeRoom; the last of
// repeated members wins and a null changes nothing, as in DecodeFrame, and
// member names match without regard to case. It gives up, returning "",
// where a plain scan could be wrong: a member name holding an escape, a ref
// or room value holding one, or input that is not one object.
func PeekRefRoom(data []byte) (ref, room string) {
	p := peeker{b: data}
	p.space()
	if !p.take('{') {
		return "", ""
	}
	p.space()
	if !p.take('}') {
		for {
			if !p.member(&ref, &room) {
				return "", ""
			}
			p.space()
			if p.take(',') {
				p.space()
				continue
			}
			if p.take('}') {
				break
			}
			return "", ""
		}
	}
	p.space()
	if p.i != len(p.b) {
		return "", ""
	}
	return ref, room
}

// peeker scans JSON input without decoding it.
type peeker struct {
	b []byte
	i int
}

// member scans one "name": value pair, recording the value of a ref or
// room member. It reports false for input it cannot scan safely.
func (p *peeker) member(ref, room *string) bool {
	name, plain, ok := p.str()
	if !ok || !plain {
		return false
	}
	p.space()
	if !p.take(':') {
		return false
	}
	p.space()
	isRef := bytes.EqualFold(name, []byte("ref"))
	if !isRef && !bytes.EqualFold(name, []byte("room")) {
		return p.skip()
	}
	if p.literal("null") {
		return true
	}
	val := ""
	if p.i < len(p.b) && p.b[p.i] == '"' {
		v, plain, ok := p.str()
		if !ok {
			return false
		}
		if plain {
			val = string(v)
		}
	} else if !p.skip() {
		return false
	}
	switch {
	case isRef && ValidRef(val):
		*ref = val
	case isRef:
		*ref = ""
	default:
		*room, _ = NormalizeRoom(val)
	}
	return true
}

// space skips JSON white space.
func (p *peeker) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// take consumes c when it is next.
func (p *peeker) take(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// literal consumes s when it is next and ends there.
func (p *peeker) literal(s string) bool {
	if !bytes.HasPrefix(p.b[p.i:], []byte(s)) {
		return false
	}
	if j := p.i + len(s); j < len(p.b) && !isDelim(p.b[j]) {
		return false
	}
	p.i += len(s)
	return true
}

// str consumes a string and returns its raw contents; plain reports that
// they hold no escape, and so are the string's value.
func (p *peeker) str() (raw []byte, plain, ok bool) {
	if !p.take('"') {
		return nil, false, false
	}
	start := p.i
	plain = true
	for {
		k := bytes.IndexAny(p.b[p.i:], "\"\\")
		if k < 0 {
			return nil, false, false
		}
		p.i += k
		if p.b[p.i] == '"' {
			raw = p.b[start:p.i]
			p.i++
			return raw, plain, true
		}
		plain = false
		p.i += 2 // the backslash and the character it escapes
		if p.i > len(p.b) {
			return nil, false, false
		}
	}
}

// skip consumes one value: a string, an object or array (brackets counted,
// strings in them skipped), or a number or literal up to a delimiter.
func (p *peeker) skip() bool {
	if p.i >= len(p.b) {
		return false
	}
	switch p.b[p.i] {
	case '"':
		_, _, ok := p.str()
		return ok
	case '{', '[':
		depth := 0
		for p.i < len(p.b) {
			switch p.b[p.i] {
			case '"':
				if _, _, ok := p.str(); !ok {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			p.i++
			if depth == 0 {
				return true
			}
		}
		return false
	}
	start := p.i
	for p.i < len(p.b) && !isDelim(p.b[p.i]) {
		p.i++
	}
	return p.i > start
}

// isDelim reports whether c ends a number or literal.
func isDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}
