package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ProgramJSON returns the tenant's loyalty program as stored JSON, or "" when the tenant has not set
// one (the defaults apply). ErrNotFound when there is no such tenant.
func (tx *Tx) ProgramJSON(ctx context.Context, tenantID int64) (string, error) {
	u := tx.unitOf()
	if p, ok := u.programs[tenantID]; ok {
		return p, nil
	}
	var p sql.NullString
	err := tx.rawQueryRow(ctx, `SELECT program FROM tenants WHERE id = ?`, tenantID).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: read program: %w", err)
	}
	u.programs[tenantID] = p.String
	return p.String, nil
}

// SetProgramJSON stores the tenant's loyalty program; ErrNotFound when there is no such tenant.
func (tx *Tx) SetProgramJSON(ctx context.Context, tenantID int64, program string) error {
	res, err := tx.Exec(ctx, `UPDATE tenants SET program = ? WHERE id = ?`, program, tenantID)
	if err != nil {
		return fmt.Errorf("store: save program: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("store: save program of tenant %d: %w", tenantID, ErrNotFound)
	}
	return nil
}

// TenantIDByName returns the id of the named tenant, or ErrNotFound.
func (tx *Tx) TenantIDByName(ctx context.Context, name string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM tenants WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: tenant %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("store: look up tenant %q: %w", name, err)
	}
	return id, nil
}
