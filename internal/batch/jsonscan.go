package batch

import (
	"bytes"
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// maxDepth is how deeply arrays and objects may nest: json.Valid refuses deeper input.
const maxDepth = 10000

// plain marks the ASCII bytes a JSON string holds as they are: not a quote, a backslash or a
// control character.
var plain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanner reads JSON text in one pass and accepts exactly what json.Valid accepts. Each method
// reads one part from pos and reports false when the text is not JSON; it does not say where.
// Like json.Valid it lets strings hold bytes that are not UTF-8, and notes them in badUTF8.
//
// While copying is set, the text read is appended to out without its whitespace, as json.Compact
// writes it: data[run:pos] is what has been read but not yet appended.
type scanner struct {
	data    []byte
	pos     int
	depth   int
	badUTF8 bool

	copying bool
	run     int
	out     []byte
}

// peek returns the byte at pos, or 0 at the end, which no JSON value starts with.
func (s *scanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// space skips whitespace.
func (s *scanner) space() {
	start := s.pos
	for s.pos < len(s.data) {
		if c := s.data[s.pos]; c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			break
		}
		s.pos++
	}
	if s.copying && s.pos > start {
		s.out = append(s.out, s.data[s.run:start]...)
		s.run = s.pos
	}
}

// value reads any value.
func (s *scanner) value() bool {
	switch c := s.peek(); {
	case c == '{':
		return s.object(nil)
	case c == '[':
		return s.array(nil)
	case c == '"':
		_, ok := s.str()
		return ok
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return false
}

// object reads an object. For each member, once past the colon and the whitespace after it,
// member is given the key as written (quotes included, and whether it has escapes) and must read
// the value; without member the values are read with value.
func (s *scanner) object(member func(key []byte, escaped bool) bool) bool {
	return s.container('}', func() bool {
		if s.peek() != '"' {
			return false
		}
		start := s.pos
		escaped, ok := s.str()
		if !ok {
			return false
		}
		key := s.data[start:s.pos]
		s.space()
		if s.peek() != ':' {
			return false
		}
		s.pos++
		s.space()
		if member == nil {
			return s.value()
		}
		return member(key, escaped)
	})
}

// array reads an array; element, when set, reads each element in place of value.
func (s *scanner) array(element func() bool) bool {
	if element == nil {
		element = s.value
	}
	return s.container(']', element)
}

// container reads an object or an array, each of its members or elements with item.
func (s *scanner) container(closing byte, item func() bool) bool {
	if !s.open() {
		return false
	}
	if s.peek() == closing {
		return s.close()
	}
	for {
		if !item() {
			return false
		}
		if more, ok := s.next(closing); !more {
			return ok
		}
	}
}

// open steps into an object or array and past the whitespace after its bracket.
func (s *scanner) open() bool {
	s.pos++
	s.depth++
	if s.depth > maxDepth {
		return false
	}
	s.space()
	return true
}

// next reads what follows a member or an element: a comma and the whitespace after it, when more
// follow, or the closing bracket.
func (s *scanner) next(closing byte) (more, ok bool) {
	s.space()
	switch s.peek() {
	case ',':
		s.pos++
		s.space()
		return true, true
	case closing:
		return false, s.close()
	}
	return false, false
}

// close steps out of an object or array past its closing bracket.
func (s *scanner) close() bool {
	s.pos++
	s.depth--
	return true
}

// str reads a string and reports whether it has escapes.
func (s *scanner) str() (escaped, ok bool) {
	s.pos++
	start, ascii := s.pos, true
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c < utf8.RuneSelf && plain[c]:
			s.pos++
		case c >= utf8.RuneSelf:
			ascii = false
			s.pos++
		case c == '"':
			if !ascii && !utf8.Valid(s.data[start:s.pos]) {
				s.badUTF8 = true
			}
			s.pos++
			return escaped, true
		case c == '\\':
			escaped = true
			if !s.escape() {
				return escaped, false
			}
		default: // a control character
			return escaped, false
		}
	}
	return escaped, false
}

// text reads a string and returns what it says, as json.Unmarshal into a string would: escapes read,
// bytes that are not UTF-8 replaced.
func (s *scanner) text() (string, bool) {
	start := s.pos
	escaped, ok := s.str()
	if !ok {
		return "", false
	}
	raw := s.data[start+1 : s.pos-1]
	if !escaped && utf8.Valid(raw) {
		return string(raw), true
	}
	var t string
	if err := json.Unmarshal(s.data[start:s.pos], &t); err != nil {
		return "", false
	}
	return t, true
}

// keyName returns the name an object's key (as the scanner gives it: quoted, and whether it has
// escapes) stands for.
func keyName(key []byte, escaped bool) []byte {
	if !escaped {
		return key[1 : len(key)-1]
	}
	var name string
	if err := json.Unmarshal(key, &name); err != nil {
		return nil
	}
	return []byte(name)
}

// escape reads an escape sequence in a string.
func (s *scanner) escape() bool {
	if s.pos+1 >= len(s.data) {
		return false
	}
	switch s.data[s.pos+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.pos += 2
		return true
	case 'u':
		if s.pos+6 > len(s.data) {
			return false
		}
		for _, c := range s.data[s.pos+2 : s.pos+6] {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
		s.pos += 6
		return true
	}
	return false
}

// number reads a number.
func (s *scanner) number() bool {
	if s.peek() == '-' {
		s.pos++
	}
	switch c := s.peek(); {
	case c == '0':
		s.pos++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return false
	}
	if s.peek() == '.' {
		s.pos++
		if !s.digits() {
			return false
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.pos++
		if c := s.peek(); c == '+' || c == '-' {
			s.pos++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits reads one or more digits.
func (s *scanner) digits() bool {
	start := s.pos
	for c := s.peek(); '0' <= c && c <= '9'; c = s.peek() {
		s.pos++
	}
	return s.pos > start
}

// literal reads true, false or null.
func (s *scanner) literal(word string) bool {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(word)) {
		return false
	}
	s.pos += len(word)
	return true
}

// compactValue reads a value and returns it without whitespace, copied to out.
func (s *scanner) compactValue() (json.RawMessage, bool) {
	start := len(s.out)
	s.copying, s.run = true, s.pos
	ok := s.value()
	s.out = append(s.out, s.data[s.run:s.pos]...)
	s.copying = false
	return s.out[start:len(s.out):len(s.out)], ok
}

// member is one member of an object: its name, its key as JSON writes the name, and its value.
type member struct {
	name, key, value []byte
}

// objectMembers returns the members of data, a JSON object such as json.Marshal writes (compact),
// sorted by name with the last of members that share a name kept, as json.Unmarshal into a map
// keeps them. It reports false when data is not an object.
func objectMembers(data []byte) ([]member, bool) {
	if len(data) == 0 || data[0] != '{' {
		return nil, false
	}
	s := scanner{data: data}
	var members []member
	ok := s.object(func(key []byte, escaped bool) bool {
		start := s.pos
		if !s.value() {
			return false
		}
		m := member{name: key[1 : len(key)-1], key: key, value: data[start:s.pos]}
		if escaped || !utf8.Valid(m.name) {
			// Write the name as json.Marshal does, as the caller writes the other names.
			var name string
			if err := json.Unmarshal(key, &name); err != nil {
				return false
			}
			m.name, m.key = []byte(name), mustJSON(name)
		}
		members = append(members, m)
		return true
	})
	if !ok || s.pos != len(data) {
		return nil, false
	}
	slices.SortStableFunc(members, func(a, b member) int { return bytes.Compare(a.name, b.name) })
	kept := members[:0]
	for i, m := range members {
		if i+1 < len(members) && bytes.Equal(m.name, members[i+1].name) {
			continue
		}
		kept = append(kept, m)
	}
	return kept, true
}
