package process

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/sqlitefile"
)

// poisonPayload is what the poison queue keeps of ev's data: the data as
// the log stores it, a customer's texts sealed (see processPoisonQueue).
// The managers read through the sealing store, whose events carry the
// texts opened in Data and their stored form in Sealed; an event read
// from a store that does not seal carries them as the log does. Either
// way a text still in clear (stored before texts were sealed, or a Sealed
// that does not apply) is left out.
func poisonPayload(ev eventstore.Event) []byte {
	fields := domain.PersonalTexts(ev.Type)
	if len(fields) == 0 {
		return ev.Data
	}
	data := ev.Data
	if stored, err := eventstore.Stored(ev); err == nil {
		data = stored.Data
	}
	out, _ := poisonTexts(data, fields)
	return out
}

// poisonTexts returns data with every text at fields that is not sealed
// replaced by null, and whether that changed anything. Data in which the
// texts cannot be found (not a JSON object: an event poisoned because it
// does not decode) is dropped whole: what it holds cannot be told apart.
func poisonTexts(data []byte, fields []domain.PersonalText) ([]byte, bool) {
	out, changed, err := domain.RewriteTexts(data, fields, func(_ domain.PersonalText, v json.RawMessage) (json.RawMessage, error) {
		if poisonKeeps(v) {
			return v, nil
		}
		return json.RawMessage("null"), nil
	})
	if err != nil {
		return []byte{}, len(data) > 0
	}
	return out, changed
}

// poisonKeeps reports whether a value at a text's path may be kept: null,
// an empty string (it says nothing about anyone, and the sealing store
// leaves it as it is) or a sealed text ({"alg","ct","key"}, which only the
// customer's key opens).
func poisonKeeps(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	if bytes.Equal(v, []byte("null")) || bytes.Equal(v, []byte(`""`)) {
		return true
	}
	if len(v) == 0 || v[0] != '{' {
		return false
	}
	var sealed struct {
		CT  string `json:"ct"`
		Key string `json:"key"`
	}
	return json.Unmarshal(v, &sealed) == nil && sealed.CT != "" && sealed.Key != ""
}

// scrub removes from process_poison the texts that versions before this
// one stored in clear (they kept the data as the sealing store returned
// it, opened), at every start: it finds nothing once done, and reads only
// the poison queue, which holds a few rows. An UPDATE alone would leave
// the old bytes in the file's free space and in the write-ahead log, so a
// scrub that changed rows is followed by a VACUUM, which rewrites the
// file with only what its rows hold, and a truncating checkpoint. A row
// of process_poison_wipe says a VACUUM is owed: it commits with the
// UPDATEs and goes once the VACUUM is done, so that a VACUUM that fails
// (another process reading the file) runs again at the next start.
func (q *processPoisonQueue) scrub(ctx context.Context) error {
	if _, err := q.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS process_poison_wipe (pending INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create process_poison_wipe: %w", err)
	}
	fixes, err := q.clearTexts(ctx)
	if err != nil {
		return err
	}
	var pending int
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM process_poison_wipe`).Scan(&pending); err != nil {
		return fmt.Errorf("scrub poison queue: %w", err)
	}
	if len(fixes) == 0 && pending == 0 {
		return nil
	}
	if len(fixes) > 0 {
		if err := q.writeFixes(ctx, fixes, pending == 0); err != nil {
			return err
		}
		q.log.WarnContext(ctx, "removed customers' texts kept in clear from the poison queue", "rows", len(fixes))
	}
	if _, err := q.db.ExecContext(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("scrub poison queue: vacuum the process database: %w", err)
	}
	if _, err := q.db.ExecContext(ctx, `DELETE FROM process_poison_wipe`); err != nil {
		return fmt.Errorf("scrub poison queue: %w", err)
	}
	return q.truncateWAL(ctx)
}

// poisonFix is a row of process_poison and its payload without texts in
// clear.
type poisonFix struct {
	handler, eventID string
	payload          []byte
}

// clearTexts returns the rows of process_poison that hold a text in clear.
func (q *processPoisonQueue) clearTexts(ctx context.Context) ([]poisonFix, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT handler, event_id, event_type, payload FROM process_poison`)
	if err != nil {
		return nil, fmt.Errorf("scrub poison queue: %w", err)
	}
	defer rows.Close()
	var fixes []poisonFix
	for rows.Next() {
		var (
			f   poisonFix
			typ string
		)
		if err := rows.Scan(&f.handler, &f.eventID, &typ, &f.payload); err != nil {
			return nil, fmt.Errorf("scrub poison queue: %w", err)
		}
		fields := domain.PersonalTexts(typ)
		if len(fields) == 0 {
			continue
		}
		var changed bool
		if f.payload, changed = poisonTexts(f.payload, fields); changed {
			fixes = append(fixes, f)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("scrub poison queue: %w", err)
	}
	return fixes, nil
}

// writeFixes stores fixes, and with owe a VACUUM owed, in one transaction.
func (q *processPoisonQueue) writeFixes(ctx context.Context, fixes []poisonFix, owe bool) (err error) {
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("scrub poison queue: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, tx.Rollback())
		}
	}()
	for _, f := range fixes {
		if _, err := tx.ExecContext(ctx, `UPDATE process_poison SET payload = ? WHERE handler = ? AND event_id = ?`,
			f.payload, f.handler, f.eventID); err != nil {
			return fmt.Errorf("scrub poisoned message %s: %w", f.eventID, err)
		}
	}
	if owe {
		if _, err := tx.ExecContext(ctx, `INSERT INTO process_poison_wipe (pending) VALUES (1)`); err != nil {
			return fmt.Errorf("scrub poison queue: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("scrub poison queue: %w", err)
	}
	return nil
}

// truncateWAL checkpoints the write-ahead log into the file and truncates
// it: until then it holds the pages as they were before the VACUUM. A
// reader in another process can keep the checkpoint from finishing; it is
// tried a few times, then left to SQLite, which checkpoints and removes
// the log when the last connection closes.
func (q *processPoisonQueue) truncateWAL(ctx context.Context) error {
	done, err := sqlitefile.TruncateWAL(ctx, q.db, 21, 50*time.Millisecond)
	if err != nil {
		return fmt.Errorf("scrub poison queue: %w", err)
	}
	if !done {
		q.log.WarnContext(ctx, "the process database's write-ahead log may keep texts the poison queue held until it is checkpointed: another connection reads it")
	}
	return nil
}
