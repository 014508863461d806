package transfer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tally-loyalty/tally/internal/loyalty"
)

// Format is a file format.
type Format string

// The formats import reads and export writes.
const (
	CSV   Format = "csv"   // comma-separated values with a header row
	JSONL Format = "jsonl" // one JSON object a line
)

// ParseFormat checks a format name given on the command line.
func ParseFormat(name string) (Format, error) {
	switch f := Format(strings.ToLower(name)); f {
	case CSV, JSONL:
		return f, nil
	case "ndjson":
		return JSONL, nil
	}
	return "", fmt.Errorf("unknown format %q: want csv or jsonl", name)
}

// FormatOf picks the format of a file from its extension: .csv, .jsonl or .ndjson.
func FormatOf(path string) (Format, error) {
	ext := strings.TrimPrefix(filepath.Ext(path), ".")
	if ext == "" {
		return "", fmt.Errorf("cannot tell the format of %q from its name: give --format csv or jsonl", path)
	}
	f, err := ParseFormat(ext)
	if err != nil {
		return "", fmt.Errorf("cannot tell the format of %q from its extension: give --format csv or jsonl", path)
	}
	return f, nil
}

// Mapping adapts a file whose columns are not named as the fields they hold.
type Mapping struct {
	// Rename maps a field (a path or its shorthand) to the column, or with JSONL the top-level key,
	// that holds it: {"customerId": "Member ID"}.
	Rename map[string]string
	// Set gives a field a value in every row that leaves it empty: {"reason": "opening balance"}.
	Set map[string]string
}

// Row is one data row of an input file.
type Row struct {
	// Line is the line of the file the row starts on, counting from 1 (the CSV header is line 1).
	Line int
	// Item is the batch item the row becomes; nil when the row could not be read.
	Item json.RawMessage
	// Err says why the row could not be read.
	Err *Failure
	// record is the CSV row as read, text the JSONL line: the failure report repeats them.
	record []string
	text   []byte
}

// Failure is why a row did not apply: an error code of the API's catalogue and a message.
type Failure struct {
	Code    int
	Message string
}

func rowError(line int, code loyalty.Code, format string, args ...any) Row {
	return Row{Line: line, Err: &Failure{Code: int(code), Message: fmt.Sprintf(format, args...)}}
}

// source reads the rows of one file, in order; next returns io.EOF after the last one.
type source interface {
	next() (Row, error)
	// warnings are remarks about the file's layout that do not stop the import (ignored columns).
	warnings() []string
	// newReport returns a failure report in the file's own format.
	newReport(w io.Writer) report
}

// reservedPrefix starts the names of columns and keys that import ignores: the failure report's
// _line, _code and _message, so that a corrected report imports as it is.
const reservedPrefix = "_"

func newSource(r io.Reader, f Format, t *Type, m Mapping) (source, error) {
	if f == JSONL {
		return newJSONLSource(r, t, m)
	}
	return newCSVSource(r, t, m)
}

// column is where one CSV column's cells go.
type column struct {
	index    int // in the record; -1 for a value that --set supplies to every row
	header   string
	path     string
	kind     kind
	fallback string // the --set value for an empty cell
}

type csvSource struct {
	r       *csv.Reader
	header  []string
	columns []column
	ignored []string
	typ     *Type
}

func newCSVSource(r io.Reader, t *Type, m Mapping) (*csvSource, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a row with too few or too many cells is that row's failure, not the file's
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("the file is empty: a CSV file starts with a header row")
	}
	if err != nil {
		return nil, fmt.Errorf("read the header row: %w", err)
	}
	header[0] = strings.TrimPrefix(header[0], "\uFEFF") // the byte-order mark spreadsheets write
	s := &csvSource{r: cr, header: header, typ: t}
	renamed := map[string]string{} // column -> field
	for fieldName, col := range m.Rename {
		if _, _, err := t.lookup("--map", fieldName); err != nil {
			return nil, err
		}
		if !slices.Contains(header, col) {
			return nil, fmt.Errorf("--map %s=%s: the file has no column %q", fieldName, col, col)
		}
		renamed[col] = fieldName
	}
	paths := map[string]string{} // path -> header, to find two columns for one field
	for i, h := range header {
		name := strings.TrimSpace(h)
		if strings.HasPrefix(name, reservedPrefix) {
			continue
		}
		if f, ok := renamed[h]; ok {
			name = f
		}
		path := t.expand(name)
		k, ok := t.kindOf(path)
		if !ok {
			s.ignored = append(s.ignored, h)
			continue
		}
		if k == kindSkip {
			continue
		}
		if other, dup := paths[path]; dup {
			return nil, fmt.Errorf("columns %q and %q both hold %s", other, h, path)
		}
		paths[path] = h
		s.columns = append(s.columns, column{index: i, header: h, path: path, kind: k})
	}
	for _, fieldName := range sortedKeys(m.Set) {
		path, k, err := t.lookup("--set", fieldName)
		if err != nil {
			return nil, err
		}
		value := m.Set[fieldName]
		if _, err := k.value(value); err != nil {
			return nil, fmt.Errorf("--set %s: %w", fieldName, err)
		}
		i := slices.IndexFunc(s.columns, func(c column) bool { return c.path == path })
		if i < 0 {
			s.columns = append(s.columns, column{index: -1, header: "--set " + fieldName, path: path, kind: k})
			i = len(s.columns) - 1
		}
		s.columns[i].fallback = value
	}
	return s, nil
}

func (s *csvSource) warnings() []string {
	if len(s.ignored) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("ignoring columns that %s rows do not have: %s", s.typ.Name, strings.Join(s.ignored, ", "))}
}

func (s *csvSource) next() (Row, error) {
	record, err := s.r.Read()
	if errors.Is(err, io.EOF) {
		return Row{}, io.EOF
	}
	var parseErr *csv.ParseError
	if errors.As(err, &parseErr) {
		row := rowError(parseErr.StartLine, loyalty.CodeInvalidPayload, "the row is not valid CSV: %v", parseErr.Err)
		row.record = record
		return row, nil
	}
	if err != nil {
		return Row{}, fmt.Errorf("read CSV: %w", err)
	}
	line, _ := s.r.FieldPos(0)
	row := Row{Line: line, record: slices.Clone(record)}
	if len(record) != len(s.header) {
		row.Err = &Failure{Code: int(loyalty.CodeInvalidPayload),
			Message: fmt.Sprintf("the row has %d cells; the header has %d", len(record), len(s.header))}
		return row, nil
	}
	item, err := s.item(record)
	if err != nil {
		row.Err = &Failure{Code: int(loyalty.CodeInvalidValue), Message: err.Error()}
		return row, nil
	}
	row.Item = item
	return row, nil
}

// item builds the batch item of a CSV record.
func (s *csvSource) item(record []string) (json.RawMessage, error) {
	o := &object{}
	for _, c := range s.columns {
		cell := c.fallback
		if c.index >= 0 && record[c.index] != "" {
			cell = record[c.index]
		}
		if cell == "" {
			continue // an empty cell leaves the field out, as the API's partial updates expect
		}
		v, err := c.kind.value(cell)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.header, err)
		}
		if err := o.set(c.path, v); err != nil {
			return nil, err
		}
	}
	if s.typ.reshape != nil {
		if err := s.typ.reshape(o); err != nil {
			return nil, err
		}
	}
	return o.MarshalJSON()
}

func (s *csvSource) newReport(w io.Writer) report {
	return &csvReport{w: csv.NewWriter(w), header: s.header}
}

type jsonlSource struct {
	r      *bufio.Reader
	line   int
	rename map[string]string          // key in the file -> field
	set    map[string]json.RawMessage // field -> value for rows without it
}

func newJSONLSource(r io.Reader, t *Type, m Mapping) (*jsonlSource, error) {
	s := &jsonlSource{r: bufio.NewReaderSize(r, 1<<20), rename: map[string]string{}, set: map[string]json.RawMessage{}}
	topLevel := func(flag, fieldName string) (kind, error) {
		path, k, err := t.lookup(flag, fieldName)
		if err != nil {
			return 0, err
		}
		if strings.Contains(path, ".") {
			return 0, fmt.Errorf("%s %s: with JSONL, only top-level fields can be mapped or set", flag, fieldName)
		}
		return k, nil
	}
	for fieldName, key := range m.Rename {
		if _, err := topLevel("--map", fieldName); err != nil {
			return nil, err
		}
		s.rename[key] = fieldName
	}
	for fieldName, value := range m.Set {
		k, err := topLevel("--set", fieldName)
		if err != nil {
			return nil, err
		}
		v, err := k.value(value)
		if err != nil {
			return nil, fmt.Errorf("--set %s: %w", fieldName, err)
		}
		s.set[fieldName] = v
	}
	return s, nil
}

func (s *jsonlSource) warnings() []string { return nil }

func (s *jsonlSource) next() (Row, error) {
	for {
		text, err := s.r.ReadBytes('\n')
		if len(text) == 0 && errors.Is(err, io.EOF) {
			return Row{}, io.EOF
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return Row{}, fmt.Errorf("read line %d: %w", s.line+1, err)
		}
		s.line++
		text = bytes.TrimRight(text, "\r\n")
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		row := Row{Line: s.line, text: text}
		item, failure := s.item(text)
		row.Item, row.Err = item, failure
		return row, nil
	}
}

// item builds the batch item of a JSONL line: the line's object without reserved keys, with --map
// and --set applied, its keys sorted so that one line always encodes to the same bytes.
func (s *jsonlSource) item(text []byte) (json.RawMessage, *Failure) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(text, &obj); err != nil || obj == nil {
		return nil, &Failure{Code: int(loyalty.CodeInvalidPayload), Message: "the line is not a JSON object"}
	}
	for key := range obj {
		if strings.HasPrefix(key, reservedPrefix) {
			delete(obj, key)
		}
	}
	for key, fieldName := range s.rename {
		v, ok := obj[key]
		if !ok {
			continue
		}
		if _, both := obj[fieldName]; both {
			return nil, &Failure{Code: int(loyalty.CodeInvalidValue),
				Message: fmt.Sprintf("%s: the line has both %q and %q, which --map names as the same field", fieldName, fieldName, key)}
		}
		delete(obj, key)
		obj[fieldName] = v
	}
	for fieldName, v := range s.set {
		if old, ok := obj[fieldName]; !ok || string(old) == "null" {
			obj[fieldName] = v
		}
	}
	item, err := encode(obj)
	if err != nil {
		return nil, &Failure{Code: int(loyalty.CodeInvalidPayload), Message: err.Error()}
	}
	return item, nil
}

func (s *jsonlSource) newReport(w io.Writer) report { return &jsonlReport{w: w} }

// encode encodes v as compact JSON without escaping HTML characters; maps come out with their keys
// sorted.
func encode(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// CountRows counts the data rows of a file, for the progress bar's total: CSV records after the
// header, or non-blank JSONL lines.
func CountRows(r io.Reader, f Format) (int, error) {
	n := 0
	if f == JSONL {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<30)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) > 0 {
				n++
			}
		}
		if err := sc.Err(); err != nil {
			return 0, fmt.Errorf("count lines: %w", err)
		}
		return n, nil
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	for {
		_, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return max(n-1, 0), nil
		}
		var parseErr *csv.ParseError
		if err != nil && !errors.As(err, &parseErr) {
			return 0, fmt.Errorf("count rows: %w", err)
		}
		n++
	}
}
