package transfer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"

	"github.com/tally-loyalty/tally/client"
)

// An export is a list endpoint that export pages through, and the import type whose columns its
// CSV uses (an empty Type when no import type reads it back).
type export struct {
	name, path, key string
	typ             *Type
}

var exports = []export{
	{"customers", "/customers", "customers", customers},
	{"balances", "/balances", "balances", &Type{}},
	{"transactions", "/transactions", "transactions", &Type{}},
}

// ExportNames lists what export writes: customers, balances, transactions.
func ExportNames() []string {
	names := make([]string, len(exports))
	for i, e := range exports {
		names[i] = e.name
	}
	return names
}

// exportPage is how many records one call reads: the API's largest page.
const exportPage = 200

// Export writes every record of the tenant's customers, balances or transactions to w in the
// format, paging through the API, and returns how many it wrote. CSV columns are the record's fields
// as dotted paths, written the way import reads them back, so that exported customers import as
// they were.
func Export(ctx context.Context, c *client.Client, what string, f Format, w io.Writer) (int, error) {
	i := slices.IndexFunc(exports, func(e export) bool { return e.name == what })
	if i < 0 {
		return 0, fmt.Errorf("unknown export %q: want one of %v", what, ExportNames())
	}
	e := exports[i]
	if f == JSONL {
		return e.records(ctx, c, func(record json.RawMessage) error {
			_, err := w.Write(append(record, '\n'))
			return err
		})
	}
	// A CSV header names every column, and a later record may bring a column (a custom attribute)
	// that earlier ones lacked; the records wait in a temporary file until all columns are known.
	spool, err := os.CreateTemp("", "tally-export-*.jsonl")
	if err != nil {
		return 0, fmt.Errorf("create a temporary file: %w", err)
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	buffered := bufio.NewWriter(spool)
	t := newTable(e.typ)
	n, err := e.records(ctx, c, func(record json.RawMessage) error {
		if err := t.learn(record); err != nil {
			return err
		}
		_, err := buffered.Write(append(record, '\n'))
		return err
	})
	if err != nil {
		return n, err
	}
	if err := buffered.Flush(); err != nil {
		return n, fmt.Errorf("write the temporary file: %w", err)
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return n, fmt.Errorf("read the temporary file: %w", err)
	}
	return n, t.write(spool, w)
}

// records calls fn with each record, compacted, in the API's order, and returns how many there were.
func (e export) records(ctx context.Context, c *client.Client, fn func(json.RawMessage) error) (int, error) {
	n := 0
	for cursor, more := "", true; more; {
		q := url.Values{"limit": {strconv.Itoa(exportPage)}}
		if cursor != "" {
			q.Set("startAfter", cursor)
		}
		page, err := retry(ctx, func() (map[string]json.RawMessage, error) {
			var page map[string]json.RawMessage
			err := c.Send(ctx, client.Request{Method: http.MethodGet, Path: e.path, Query: q}, &page)
			return page, err
		})
		if err != nil {
			return n, fmt.Errorf("list %s: %w", e.name, err)
		}
		var records []json.RawMessage
		if err := json.Unmarshal(page[e.key], &records); err != nil {
			return n, fmt.Errorf("list %s: the answer has no %q list: %w", e.name, e.key, err)
		}
		if err := json.Unmarshal(page["hasMore"], &more); err != nil {
			return n, fmt.Errorf("list %s: the answer has no hasMore: %w", e.name, err)
		}
		if more {
			if err := json.Unmarshal(page["nextCursor"], &cursor); err != nil || cursor == "" {
				return n, fmt.Errorf("list %s: the answer has more pages but no nextCursor", e.name)
			}
		}
		for _, r := range records {
			var compact bytes.Buffer
			if err := json.Compact(&compact, r); err != nil {
				return n, fmt.Errorf("list %s: %w", e.name, err)
			}
			if err := fn(compact.Bytes()); err != nil {
				return n, fmt.Errorf("write %s: %w", e.name, err)
			}
			n++
		}
	}
	return n, nil
}

// table lays records out as CSV rows.
type table struct {
	typ     *Type
	headers []string       // in the order they were first seen
	rank    map[string]int // of each header: the field's place in the type, or after all of them
}

func newTable(t *Type) *table { return &table{typ: t, rank: map[string]int{}} }

// cell is one value of a flattened record.
type cell struct {
	header, text string
	rank         int
}

// flatten lays a record out as cells: a nested object becomes dotted headers, and a value at a path
// the type knows becomes the cell import reads back to the same value. Unknown paths are written
// as text (strings) or JSON (everything else).
func (t *table) flatten(prefix string, record json.RawMessage, out []cell) ([]cell, error) {
	members, err := objectMembers(record)
	if err != nil {
		return nil, fmt.Errorf("read record: %w", err)
	}
	for _, m := range members {
		path := prefix + m.key
		k, known := t.typ.kindOf(path)
		if !known && bytes.HasPrefix(m.value, []byte("{")) {
			if out, err = t.flatten(path+".", m.value, out); err != nil {
				return nil, err
			}
			continue
		}
		if !known {
			k = kindString
		}
		text, err := k.cell(m.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rank := slices.IndexFunc(t.typ.fields, func(f field) bool { return f.path == path })
		if rank < 0 {
			rank = len(t.typ.fields)
		}
		out = append(out, cell{header: t.typ.abbreviate(path), text: text, rank: rank})
	}
	return out, nil
}

// learn adds the headers of a record that the table has not seen.
func (t *table) learn(record json.RawMessage) error {
	cells, err := t.flatten("", record, nil)
	if err != nil {
		return err
	}
	for _, c := range cells {
		if _, ok := t.rank[c.header]; !ok {
			t.rank[c.header] = c.rank
			t.headers = append(t.headers, c.header)
		}
	}
	return nil
}

// write writes the header row, the type's fields first in the type's order, then the records of
// spool, one JSON record a line.
func (t *table) write(spool io.Reader, w io.Writer) error {
	slices.SortStableFunc(t.headers, func(a, b string) int { return t.rank[a] - t.rank[b] })
	column := make(map[string]int, len(t.headers))
	for i, h := range t.headers {
		column[h] = i
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(t.headers); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	r := bufio.NewReader(spool)
	row := make([]string, len(t.headers))
	for {
		line, readErr := r.ReadBytes('\n')
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return fmt.Errorf("read the temporary file: %w", readErr)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break // the spool ends with a newline
		}
		cells, err := t.flatten("", line, nil)
		if err != nil {
			return err
		}
		clear(row)
		for _, c := range cells {
			row[column[c.header]] = c.text
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	return nil
}
