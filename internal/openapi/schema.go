package openapi

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// schema is a JSON Schema (2020-12, the dialect of OpenAPI 3.1) restricted to what Go types produce.
type schema struct {
	Ref                  string     `json:"$ref,omitempty"`
	Type                 types      `json:"type,omitempty"`
	Format               string     `json:"format,omitempty"`
	ContentEncoding      string     `json:"contentEncoding,omitempty"`
	Description          string     `json:"description,omitempty"`
	Enum                 []any      `json:"enum,omitempty"`
	Minimum              *int       `json:"minimum,omitempty"`
	Items                *schema    `json:"items,omitempty"`
	MinItems             *int       `json:"minItems,omitempty"`
	MaxItems             *int       `json:"maxItems,omitempty"`
	Properties           properties `json:"properties,omitempty"`
	Required             []string   `json:"required,omitempty"`
	AdditionalProperties *schema    `json:"additionalProperties,omitempty"`
	AnyOf                []*schema  `json:"anyOf,omitempty"`
	Examples             []any      `json:"examples,omitempty"`

	refType reflect.Type // the named struct this node refers to; Ref is filled in once names are known
}

// types is the JSON Schema "type": one name, or a list when null is allowed too.
type types []string

// MarshalJSON writes a single type as a plain string, which is how people write schemas.
func (t types) MarshalJSON() ([]byte, error) {
	if len(t) == 1 {
		return json.Marshal(t[0])
	}
	return json.Marshal([]string(t))
}

func (t types) main() string {
	for _, s := range t {
		if s != "null" {
			return s
		}
	}
	return ""
}

// properties keeps the fields of an object in Go declaration order: the authors of a type order
// its fields for a reader, and docs renderers list properties in document order.
type properties []property

type property struct {
	name   string
	schema *schema
}

// MarshalJSON writes the properties as one JSON object, in order.
func (ps properties) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := marshal(p.name)
		if err != nil {
			return nil, err
		}
		v, err := marshal(p.schema)
		if err != nil {
			return nil, fmt.Errorf("property %s: %w", p.name, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshal is json.Marshal without HTML escaping, which the enclosing encoder would not undo.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// nullable returns s widened to accept null, as a Go pointer does.
func (s *schema) nullable() *schema {
	switch {
	case s.refType != nil:
		// A $ref cannot be combined with a type list (the two would be intersected), so a nullable
		// reference is a union.
		return &schema{AnyOf: []*schema{s, {Type: types{"null"}}}}
	case len(s.Type) == 0 || slices.Contains(s.Type, "null"):
		return s // {} already accepts null
	}
	s.Type = append(s.Type, "null")
	return s
}

var (
	timeType       = reflect.TypeFor[time.Time]()
	numberType     = reflect.TypeFor[json.Number]()
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	marshalerType  = reflect.TypeFor[json.Marshaler]()
	textMarshType  = reflect.TypeFor[encoding.TextMarshaler]()
)

// generator turns Go types into schemas, collecting named structs as components.
type generator struct {
	named map[reflect.Type]*schema // component schemas; nil while one is being built, so recursion ends
	order []reflect.Type           // named structs in the order met, for deterministic naming
	refs  []*schema                // reference nodes, whose Ref finish sets
}

func newGenerator() *generator { return &generator{named: map[reflect.Type]*schema{}} }

// body is the schema of a request or response body given as a zero value. A pointer at the top is
// only a way of passing the value, not a sign the body may be null.
func (g *generator) body(v any) (*schema, error) {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return g.schemaOf(t)
}

// schemaOf is the schema of the JSON encoding/json produces for a value of type t.
func (g *generator) schemaOf(t reflect.Type) (*schema, error) {
	if t.Kind() == reflect.Pointer {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		s, err := g.schemaOf(t)
		if err != nil {
			return nil, err
		}
		return s.nullable(), nil
	}
	switch t {
	case timeType:
		return &schema{Type: types{"string"}, Format: "date-time"}, nil
	case numberType:
		return &schema{Type: types{"number"}}, nil
	case rawMessageType:
		return &schema{}, nil
	}
	if t.Kind() != reflect.Interface {
		if implements(t, marshalerType) {
			return &schema{}, nil // its own encoding, whose shape reflection cannot see
		}
		if implements(t, textMarshType) {
			return &schema{Type: types{"string"}}, nil
		}
	}
	integer := func(format string, unsigned bool) *schema {
		s := &schema{Type: types{"integer"}, Format: format}
		if unsigned {
			s.Minimum = new(int)
		}
		return s
	}
	switch t.Kind() {
	case reflect.Bool:
		return &schema{Type: types{"boolean"}}, nil
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return integer("int32", false), nil
	case reflect.Int, reflect.Int64:
		return integer("int64", false), nil
	case reflect.Uint8, reflect.Uint16:
		return integer("int32", true), nil
	case reflect.Uint32, reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return integer("int64", true), nil
	case reflect.Float32:
		return &schema{Type: types{"number"}, Format: "float"}, nil
	case reflect.Float64:
		return &schema{Type: types{"number"}, Format: "double"}, nil
	case reflect.String:
		return &schema{Type: types{"string"}}, nil
	case reflect.Interface:
		return &schema{}, nil
	case reflect.Slice, reflect.Array:
		elem := t.Elem()
		if t.Kind() == reflect.Slice && elem.Kind() == reflect.Uint8 && !implements(elem, marshalerType) && !implements(elem, textMarshType) {
			return &schema{Type: types{"string"}, ContentEncoding: "base64"}, nil // as encoding/json writes []byte
		}
		items, err := g.schemaOf(elem)
		if err != nil {
			return nil, err
		}
		s := &schema{Type: types{"array"}, Items: items}
		if t.Kind() == reflect.Array {
			n := t.Len()
			s.MinItems, s.MaxItems = &n, &n
		}
		return s, nil
	case reflect.Map:
		switch k := t.Key(); {
		case k.Kind() == reflect.String, implements(k, textMarshType):
		case k.Kind() >= reflect.Int && k.Kind() <= reflect.Uintptr:
		default:
			return nil, fmt.Errorf("map key type %s cannot be encoded as JSON", k)
		}
		values, err := g.schemaOf(t.Elem())
		if err != nil {
			return nil, err
		}
		return &schema{Type: types{"object"}, AdditionalProperties: values}, nil
	case reflect.Struct:
		if t.Name() == "" {
			return g.structSchema(t) // an anonymous struct has no name to be referenced by
		}
		if _, ok := g.named[t]; !ok {
			g.named[t] = nil
			g.order = append(g.order, t)
			s, err := g.structSchema(t)
			if err != nil {
				return nil, err
			}
			g.named[t] = s
		}
		ref := &schema{refType: t}
		g.refs = append(g.refs, ref)
		return ref, nil
	}
	return nil, fmt.Errorf("type %s cannot be encoded as JSON", t)
}

func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || reflect.PointerTo(t).Implements(iface)
}

// structSchema is the object schema of a struct: its JSON fields (embedded structs flattened), each
// required unless it is omitted when empty, is a pointer or is promoted through an embedded pointer.
func (g *generator) structSchema(t reflect.Type) (*schema, error) {
	s := &schema{Type: types{"object"}}
	for _, f := range jsonFields(t) {
		fs, err := g.schemaOf(f.typ)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t, f.goName, err)
		}
		if f.quoted {
			// The ",string" option writes numbers and booleans inside a JSON string.
			fs = &schema{Type: types{"string"}}
			if f.typ.Kind() == reflect.Pointer {
				fs = fs.nullable()
			}
		}
		if fs, err = annotate(fs, f.tag); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t, f.goName, err)
		}
		s.Properties = append(s.Properties, property{f.name, fs})
		if !f.omit && !f.viaPtr && f.typ.Kind() != reflect.Pointer {
			s.Required = append(s.Required, f.name)
		}
	}
	return s, nil
}

// annotate applies the doc, enum and example struct tags to the schema of a field.
func annotate(s *schema, tag reflect.StructTag) (*schema, error) {
	// s is never shared: schemaOf makes a new node, even for a reference, at every use.
	s.Description = tag.Get("doc")
	if enum, ok := tag.Lookup("enum"); ok {
		target := s
		if target.main() == "array" {
			target = target.Items // the enum constrains the elements of a list
		}
		if t := target.main(); t != "string" && t != "integer" {
			return nil, fmt.Errorf("enum tag on a field of type %q; it needs strings or integers", t)
		}
		target.Enum = nil
		for _, v := range strings.Split(enum, ",") {
			x, err := parseValue(target, strings.TrimSpace(v))
			if err != nil {
				return nil, fmt.Errorf("enum tag: %w", err)
			}
			target.Enum = append(target.Enum, x)
		}
		if slices.Contains(target.Type, "null") {
			target.Enum = append(target.Enum, nil) // else the enum would reject the null the type allows
		}
	}
	if ex, ok := tag.Lookup("example"); ok {
		x, err := parseValue(s, ex)
		if err != nil {
			return nil, fmt.Errorf("example tag: %w", err)
		}
		s.Examples = []any{x}
	}
	return s, nil
}

func (s *schema) main() string { return s.Type.main() }

// parseValue reads a tag value as a JSON value of the schema's type.
func parseValue(s *schema, v string) (any, error) {
	switch s.main() {
	case "string":
		return v, nil
	case "integer":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", v)
		}
		return n, nil
	case "number":
		if _, err := strconv.ParseFloat(v, 64); err != nil || !json.Valid([]byte(v)) {
			return nil, fmt.Errorf("%q is not a JSON number", v)
		}
		return json.Number(v), nil
	case "boolean":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%q is not a boolean", v)
		}
		return b, nil
	}
	if json.Valid([]byte(v)) {
		return json.RawMessage(v), nil
	}
	if s.main() == "" {
		return v, nil // a value of unconstrained type may well be a string
	}
	return nil, fmt.Errorf("%q is not valid JSON for a value of type %s", v, s.main())
}

// field is a JSON field of a struct, found the way encoding/json finds it.
type field struct {
	name   string
	goName string
	tagged bool
	index  []int
	typ    reflect.Type
	tag    reflect.StructTag
	omit   bool // omitempty or omitzero
	viaPtr bool // promoted through an embedded pointer, so absent when that pointer is nil
	quoted bool // the ",string" option, on a number or boolean
}

// jsonFields lists the fields encoding/json writes for struct type t, in its order. It follows the
// rules of encoding/json's typeFields: embedded structs are flattened breadth first, and of several
// fields with one name the shallowest wins, then the tagged one; a tie hides them all.
func jsonFields(t reflect.Type) []field {
	var fields []field
	current, next := []field{}, []field{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, f := range current {
			if visited[f.typ] {
				continue
			}
			visited[f.typ] = true
			for i := range f.typ.NumField() {
				sf := f.typ.Field(i)
				if sf.Anonymous {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				index := append(slices.Clip(f.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					nf := field{name: name, goName: sf.Name, tagged: name != "", index: index, typ: sf.Type, tag: sf.Tag, viaPtr: f.viaPtr}
					if nf.name == "" {
						nf.name = sf.Name
					}
					for o := range strings.SplitSeq(opts, ",") {
						switch o {
						case "omitempty", "omitzero":
							nf.omit = true
						case "string":
							switch ft.Kind() {
							case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
								reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
								reflect.Float32, reflect.Float64:
								nf.quoted = true
							}
						}
					}
					fields = append(fields, nf)
					if count[f.typ] > 1 {
						// The same struct embedded twice at one level: its fields collide with
						// themselves and, as in encoding/json, vanish.
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, field{name: ft.Name(), index: index, typ: ft, viaPtr: f.viaPtr || sf.Type.Kind() == reflect.Pointer})
				}
			}
		}
	}
	sort.SliceStable(fields, func(i, j int) bool {
		a, b := fields[i], fields[j]
		switch {
		case a.name != b.name:
			return a.name < b.name
		case len(a.index) != len(b.index):
			return len(a.index) < len(b.index)
		case a.tagged != b.tagged:
			return a.tagged
		}
		return slices.Compare(a.index, b.index) < 0
	})
	out := fields[:0]
	for i := 0; i < len(fields); {
		n := 1
		for i+n < len(fields) && fields[i+n].name == fields[i].name {
			n++
		}
		group := fields[i : i+n]
		if n == 1 || len(group[0].index) < len(group[1].index) || group[0].tagged != group[1].tagged {
			out = append(out, group[0])
		}
		i += n
	}
	slices.SortFunc(out, func(a, b field) int { return slices.Compare(a.index, b.index) })
	return out
}

// finish names the component schemas and resolves the references to them. A schema is named after
// its Go type; types of the same name from different packages, or one named like a reserved
// schema, are qualified with as many trailing elements of the package path as make them distinct.
func (g *generator) finish(reserved ...string) (map[string]*schema, error) {
	groups := map[string][]reflect.Type{}
	for _, t := range g.order {
		groups[baseName(t)] = append(groups[baseName(t)], t)
	}
	names := map[reflect.Type]string{}
	taken := map[string]bool{}
	for _, r := range reserved {
		taken[r] = true
	}
	bases := make([]string, 0, len(groups))
	for b := range groups {
		bases = append(bases, b)
	}
	sort.Strings(bases)
	for _, base := range bases { // unqualified names first, so that no qualified name can take one
		if ts := groups[base]; len(ts) == 1 && !taken[base] {
			names[ts[0]] = base
			taken[base] = true
		}
	}
	for _, base := range bases {
		ts := groups[base]
		if _, done := names[ts[0]]; done {
			continue
		}
		for k := 1; ; k++ {
			cand := map[string]bool{}
			ok, exhausted := true, true
			for _, t := range ts {
				q, more := qualified(t, k)
				exhausted = exhausted && !more
				if cand[q] || taken[q] {
					ok = false
				}
				cand[q] = true
			}
			if ok || exhausted {
				for _, t := range ts {
					q, _ := qualified(t, k)
					// Only distinct types declared in different functions of one package share a
					// whole path and name; number them in the order met, which is deterministic.
					for n := 2; taken[q]; n++ {
						q, _ = qualified(t, k)
						q += strconv.Itoa(n)
					}
					names[t] = q
					taken[q] = true
				}
				break
			}
		}
	}
	for _, r := range g.refs {
		r.Ref = "#/components/schemas/" + names[r.refType]
	}
	out := make(map[string]*schema, len(g.named))
	for t, s := range g.named {
		if s == nil {
			return nil, fmt.Errorf("schema of %s was never completed", t)
		}
		out[names[t]] = s
	}
	return out, nil
}

var (
	qualifiedIdent = regexp.MustCompile(`[^\[\],*]*\.`)
	unsafeNameChar = regexp.MustCompile(`[^A-Za-z0-9._-]+`)
)

// baseName is the component name of a named type: its Go name, with the type arguments of a
// generic type reduced to their own names ("Page[x/y.Customer]" is "Page_Customer"), since
// component names allow only letters, digits, ".", "-" and "_".
func baseName(t reflect.Type) string {
	n := qualifiedIdent.ReplaceAllString(t.Name(), "")
	n = strings.NewReplacer("[", "_", "]", "", ",", "_", "*", "Ptr").Replace(n)
	return unsafeNameChar.ReplaceAllString(n, "_")
}

// qualified is the name of t prefixed by the last k elements of its package path, joined by ".";
// more is false once the whole path is used.
func qualified(t reflect.Type, k int) (name string, more bool) {
	elems := strings.Split(t.PkgPath(), "/")
	if k > len(elems) {
		k = len(elems)
	}
	prefix := unsafeNameChar.ReplaceAllString(strings.Join(elems[len(elems)-k:], "."), "_")
	return prefix + "." + baseName(t), k < len(elems)
}
