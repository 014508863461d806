package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxSharedStatements bounds how many statements stay prepared on SQLite's writer connection.
const maxSharedStatements = 512

// statements keeps the statements of SQLite write transactions prepared on the writer connection
// from one transaction to the next. SQLite spends more time parsing a statement than running it,
// and a batch chunk's multi-row statements are long: preparing them in every transaction took 18%
// of the CPU profile of BenchmarkChunk (BENCHMARKS.md). A statement cannot be prepared on the connection while a
// transaction holds it, so a transaction prepares what it misses for itself and, once it has ended,
// a goroutine prepares those for the ones after it.
type statements struct {
	mu      sync.Mutex
	byQuery map[string]*sql.Stmt
	closed  bool
	wg      sync.WaitGroup
}

// get returns the shared statement prepared for query, or nil.
func (s *statements) get(query string) *sql.Stmt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byQuery[query]
}

// share prepares the queries on pool in the background, for the transactions to come.
func (s *statements) share(pool *sql.DB, queries []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(queries) == 0 {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for _, q := range queries {
			s.mu.Lock()
			_, have := s.byQuery[q]
			skip := s.closed || have || len(s.byQuery) >= maxSharedStatements
			s.mu.Unlock()
			if skip {
				continue
			}
			// A statement that does not prepare here is simply not shared: every transaction that runs
			// it prepares it for itself, and reports its error there.
			st, err := pool.PrepareContext(context.Background(), q)
			if err != nil {
				continue
			}
			s.mu.Lock()
			if s.closed {
				st.Close()
			} else {
				if s.byQuery == nil {
					s.byQuery = map[string]*sql.Stmt{}
				}
				s.byQuery[q] = st
			}
			s.mu.Unlock()
		}
	}()
}

// close waits for the background preparation and closes every shared statement.
func (s *statements) close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
	var err error
	for _, st := range s.byQuery {
		err = errors.Join(err, st.Close())
	}
	return err
}
