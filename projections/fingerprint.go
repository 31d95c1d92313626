package projections

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"math"
	"strings"
)

// Fingerprint returns, for every read-model table, the hex SHA-256 of its
// rows in a deterministic order (by every column). Two databases with equal
// fingerprints hold the same read models: comparing the fingerprints of the
// live database with those of a fresh Rebuild of the same log (stopped at the
// same head) is how `verify` can check them. The checkpoints table is left
// out: it is bookkeeping, and a stored checkpoint may trail over events its
// projector ignores (see Positions for where each projector stands).
func (db *DB) Fingerprint(ctx context.Context) (map[string]string, error) {
	tables, err := migratedTables(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("fingerprint: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // read only: nothing to commit
	out := make(map[string]string, len(tables))
	for _, t := range tables {
		if t == "checkpoints" || t == "parked_events" {
			continue
		}
		sum, err := fingerprintTable(ctx, tx, t)
		if err != nil {
			return nil, fmt.Errorf("fingerprint %s: %w", t, err)
		}
		out[t] = sum
	}
	return out, nil
}

func fingerprintTable(ctx context.Context, tx *sql.Tx, table string) (string, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?)`, table).Scan(&n); err != nil {
		return "", err
	}
	order := make([]string, n)
	for i := range order {
		order[i] = fmt.Sprint(i + 1)
	}
	rows, err := tx.QueryContext(ctx, `SELECT * FROM `+quoteIdent(table)+` ORDER BY `+strings.Join(order, ", "))
	if err != nil {
		return "", err
	}
	defer rows.Close()
	h := sha256.New()
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		for _, v := range vals {
			writeValue(h, v)
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeValue writes v with its type and length, so that no two different
// rows can hash alike by shifting bytes from one column to the next.
func writeValue(h hash.Hash, v any) {
	var b [9]byte
	switch x := v.(type) {
	case nil:
		b[0] = 'n'
		h.Write(b[:1])
	case int64:
		b[0] = 'i'
		binary.BigEndian.PutUint64(b[1:], uint64(x))
		h.Write(b[:])
	case float64:
		b[0] = 'f'
		binary.BigEndian.PutUint64(b[1:], math.Float64bits(x))
		h.Write(b[:])
	case bool:
		b[0] = 'b'
		if x {
			b[1] = 1
		}
		h.Write(b[:2])
	case []byte:
		writeBytes(h, 'x', x)
	case string:
		writeBytes(h, 's', []byte(x))
	default:
		writeBytes(h, '?', []byte(fmt.Sprint(x)))
	}
}

func writeBytes(h hash.Hash, tag byte, p []byte) {
	var b [9]byte
	b[0] = tag
	binary.BigEndian.PutUint64(b[1:], uint64(len(p)))
	h.Write(b[:])
	h.Write(p)
}
