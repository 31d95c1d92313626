package process

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	_ "github.com/mattn/go-sqlite3"
)

// TestDeliveryDue checks the order in which due jobs are offered to the
// slots: in turns across customers (each one's first, then each one's
// second, ...), each customer's by due time, no more than turns of each,
// and none not yet due or no longer pending.
func TestDeliveryDue(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	m, err := NewDeliveryManager(ctx, nil, db, ProcessConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	add := func(id, customer, state string, nextAt int64) {
		t.Helper()
		if _, err := db.Exec(`INSERT INTO delivery_jobs (event_id, offer_id, customer_id, dispatch, position, correlation_id,
		dispatched_at, state, attempts, last_error, outcome, created_at, updated_at, next_at)
		VALUES (?, ?, ?, 1, 1, '', '', ?, 0, '', '', ?, ?, ?)`, id, "o-"+id, customer, state, nextAt, nextAt, nextAt); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		add(fmt.Sprintf("busy-%02d", i), "busy", "pending", int64(10+i))
	}
	add("quiet-1", "quiet", "pending", 90)
	add("late-1", "late", "pending", 80)
	add("late-2", "late", "pending", 70)
	add("late-3", "late", "pending", 1000) // not due
	add("done-1", "done", "done", 5)
	add("legacy-1", "", "pending", 1) // queued without its customer

	jobs, err := m.due(ctx, 100, 2, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range jobs {
		got = append(got, j.eventID)
	}
	want := []string{"legacy-1", "busy-00", "late-2", "quiet-1", "busy-01", "late-1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("due jobs (-want +got):\n%s", diff)
	}
	if jobs, err := m.due(ctx, 100, 2, 3); err != nil || len(jobs) != 3 {
		t.Errorf("with a limit of 3: %d jobs, %v", len(jobs), err)
	}
}
