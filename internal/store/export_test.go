package store

import "context"

// OpenAt opens the database at dsn with the migrations up to version only, so that a test can
// write data in an older schema and check what a later migration makes of it.
func OpenAt(ctx context.Context, dsn string, version int) (*DB, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	for len(ms) > 0 && ms[len(ms)-1].Version > version {
		ms = ms[:len(ms)-1]
	}
	db, err := open(dsn)
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx, ms); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
