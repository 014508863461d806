package pgtest

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Cluster is a throwaway PostgreSQL cluster started by a program rather than a test (tally bench
// --postgres-local): the server tests get, with the same durable settings. A process runs at most
// one, and none beside a test's.
type Cluster struct {
	c *cluster
}

// Start initialises and starts a cluster in a temporary directory, listening on 127.0.0.1 on a
// free port. Stop removes it; a cluster left behind by a killed process is reaped by the next start.
func Start() (*Cluster, error) {
	binDir, err := findBinDir()
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w; %s", err, installHint)
	}
	c, err := start(binDir)
	if err != nil {
		teardown()
		return nil, fmt.Errorf("pgtest: start PostgreSQL: %w", err)
	}
	return &Cluster{c: c}, nil
}

// CreateDatabase creates an empty database named name and returns its postgres:// URL.
func (l *Cluster) CreateDatabase(ctx context.Context, name string) (string, error) {
	if err := l.c.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return l.c.url(name), nil
}

// Stop stops the server and removes its directory; failures are reported on stderr.
func (l *Cluster) Stop() { teardown() }
