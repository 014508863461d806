package transfer

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A report lists the rows that failed in the input's own format, each with the line it came from
// and the error's code and message in the reserved columns (or keys) _line, _code and _message,
// which import ignores: correct the rows in the report and import it as it is.
type report interface {
	add(row Row, f Failure) error
	flush() error
}

var reportColumns = []string{"_line", "_code", "_message"}

// lazyReport opens the report's file at the first failure, so that an import without failures
// leaves no report.
type lazyReport struct {
	open   func() (io.WriteCloser, error)
	format func(io.Writer) report
	file   io.WriteCloser
	rep    report
}

func (r *lazyReport) add(row Row, f Failure) error {
	if r.rep == nil {
		file, err := r.open()
		if err != nil {
			return fmt.Errorf("open the failure report: %w", err)
		}
		r.file, r.rep = file, r.format(file)
	}
	return r.rep.add(row, f)
}

// close flushes and closes the file, if there is one.
func (r *lazyReport) close() error {
	if r.file == nil {
		return nil
	}
	if err := errors.Join(r.rep.flush(), r.file.Close()); err != nil {
		return fmt.Errorf("close the failure report: %w", err)
	}
	return nil
}

type csvReport struct {
	w       *csv.Writer
	header  []string
	started bool
}

// add writes the row with the error columns first, so that they stay aligned even for a row with
// the wrong number of cells.
func (r *csvReport) add(row Row, f Failure) error {
	if !r.started {
		r.started = true
		if err := r.w.Write(append(append([]string{}, reportColumns...), r.header...)); err != nil {
			return fmt.Errorf("write report header: %w", err)
		}
	}
	record := append([]string{strconv.Itoa(row.Line), strconv.Itoa(f.Code), f.Message}, row.record...)
	if err := r.w.Write(record); err != nil {
		return fmt.Errorf("write report row: %w", err)
	}
	return nil
}

func (r *csvReport) flush() error {
	r.w.Flush()
	if err := r.w.Error(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

type jsonlReport struct{ w io.Writer }

// add writes the line's own object with _line, _code and _message put first (replacing those of a
// report being imported again); a line that is not a JSON object is kept as text under _raw.
func (r *jsonlReport) add(row Row, f Failure) error {
	var out bytes.Buffer
	fmt.Fprintf(&out, `{"_line":%d,"_code":%d,"_message":%s`, row.Line, f.Code, quote(f.Message))
	if members, err := objectMembers(row.text); err == nil {
		for _, m := range members {
			if !strings.HasPrefix(m.key, reservedPrefix) {
				fmt.Fprintf(&out, ",%s:%s", quote(m.key), m.value)
			}
		}
	} else {
		fmt.Fprintf(&out, `,"_raw":%s`, quote(string(row.text)))
	}
	out.WriteString("}\n")
	if _, err := r.w.Write(out.Bytes()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func (r *jsonlReport) flush() error { return nil }

// member is one key of a JSON object with its value as written.
type member struct {
	key   string
	value json.RawMessage
}

// objectMembers returns the members of a JSON object in the order they are written.
func objectMembers(text []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var members []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string) // object keys are always strings
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		members = append(members, member{key, value})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("text after the JSON object")
	}
	return members, nil
}
