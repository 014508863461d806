package loyalty

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"unicode/utf8"
)

// MaxJSONDepth bounds how deeply a request's JSON may nest; deeper input is rejected before decoding
// so that no request can make the decoder recurse without limit.
const MaxJSONDepth = 20

// DecodeJSON decodes one JSON value into v, the same way for a single request body and for one item
// of a batch. Numbers keep their exact text (json.Number); unknown fields are ignored. It reports
// 3016 for text that is not JSON, 3003 naming the field for a value of the wrong type, 3000 for null
// or a missing value where an object is expected.
func DecodeJSON(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return Errorf(CodeInvalidPayload, "the request body must be JSON")
	}
	if !json.Valid(data) {
		return Errorf(CodeInvalidPayload, "the request body is not valid JSON")
	}
	// encoding/json would quietly replace invalid UTF-8 in strings, but keeps it in raw values,
	// which PostgreSQL then refuses to store: reject it whole, as the client sent it.
	if !utf8.Valid(data) {
		return Errorf(CodeInvalidValue, "the request body must be valid UTF-8")
	}
	if depth(data) > MaxJSONDepth {
		return Errorf(CodeInvalidValue, "JSON nests deeper than %d levels", MaxJSONDepth)
	}
	if bytes.Equal(data, []byte("null")) {
		return Errorf(CodeMissingArguments, "the request body must be a JSON object, not null")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			if typeErr.Field == "" {
				return Errorf(CodeInvalidValue, "the JSON value must be %s, not %s", kindName(typeErr.Type), typeErr.Value)
			}
			return FieldErrorf(CodeInvalidValue, typeErr.Field, "must be %s, not %s", kindName(typeErr.Type), typeErr.Value)
		}
		return &Error{Code: CodeInvalidValue, Message: fmt.Sprintf("the JSON value cannot be read: %v", err)}
	}
	return nil
}

// kindName says what JSON a Go type accepts, in the words a client reads.
func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(json.Number("")) {
		return "a number"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// depth returns the deepest nesting of arrays and objects in valid JSON.
func depth(data []byte) int {
	d, deepest, inString, escaped := 0, 0, false, false
	for _, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			d++
			deepest = max(deepest, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return deepest
}
