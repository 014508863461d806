package transfer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// object is a JSON object built from a CSV row. Its keys keep the order they were first set in, so
// that one row always encodes to the same bytes: the Idempotency-Key of its batch depends on them.
type object struct {
	keys   []string
	values map[string]any // json.RawMessage or *object
}

// put sets key to v (a json.RawMessage or an *object), after the keys already set.
func (o *object) put(key string, v any) {
	if o.values == nil {
		o.values = map[string]any{}
	}
	if _, ok := o.values[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.values[key] = v
}

// take removes key and returns its value.
func (o *object) take(key string) (any, bool) {
	v, ok := o.values[key]
	if !ok {
		return nil, false
	}
	delete(o.values, key)
	for i, k := range o.keys {
		if k == key {
			o.keys = append(o.keys[:i], o.keys[i+1:]...)
			break
		}
	}
	return v, true
}

// set stores v at a dotted path, making the objects on the way.
func (o *object) set(path string, v any) error {
	parent, key := o, path
	for {
		head, rest, nested := strings.Cut(key, ".")
		if !nested {
			break
		}
		next, ok := parent.values[head]
		if !ok {
			child := &object{}
			parent.put(head, child)
			next = child
		}
		child, isObject := next.(*object)
		if !isObject {
			return fmt.Errorf("%s: a column sets %s to a value and another one sets a field inside it", path, head)
		}
		parent, key = child, rest
	}
	if _, ok := parent.values[key]; ok {
		return fmt.Errorf("%s: two columns set it", path)
	}
	parent.put(key, v)
	return nil
}

// MarshalJSON writes the object with its keys in order.
func (o *object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(quote(k))
		buf.WriteByte(':')
		switch v := o.values[k].(type) {
		case *object:
			inner, err := v.MarshalJSON()
			if err != nil {
				return nil, err
			}
			buf.Write(inner)
		case json.RawMessage:
			buf.Write(v)
		default:
			return nil, fmt.Errorf("transfer: object key %q holds a %T", k, v)
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
