package sqlite

import "context"

// Pragma reads a pragma on a connection of the writer (writer true) or the
// read pool, so tests can see what is in force on the connections the store
// really uses.
func (s *Store) Pragma(ctx context.Context, writer bool, name string) (string, error) {
	db := s.reader
	if writer {
		db = s.writer
	}
	var v string
	err := db.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v)
	return v, err
}
