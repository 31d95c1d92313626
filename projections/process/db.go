package process

import (
	"database/sql"
	"fmt"

	"github.com/offerflow/offerflow/sqlitefile"
)

// OpenDB opens (creating if missing) the SQLite database at path for the
// process managers' own tables (ProcessDeps.DB); NewProcesses brings its
// schema up to date. It is kept apart from the read models because its
// rows (delivery queue, pending expiries, poison queue) are work in
// progress, not views that a rebuild may drop.
//
// synchronous=NORMAL: in WAL mode a power loss may drop the last commits
// (a process crash never does), and every write here may be lost that way:
// a queue row or a pending expiry commits with its group's checkpoint, so the
// events come again; a lost "done" or try count makes a job run again, and
// the log refuses the repeat (deterministic event ids) or the webhook
// receiver sees the same webhook-id again. FULL cost one fsync per delivery
// job, the largest share of the fsyncs per offer (docs/architecture.md).
//
// StmtCache keeps the managers' statements prepared on the connection: the
// delivery scheduler's fairness query alone took a third of its CPU to
// sqlite3_prepare_v2, prepared again for every read of the queue (issue 7),
// and every job's enqueue and finish re-prepared theirs. The managers run
// about two dozen distinct statements, the checkpoints kept here included.
//
// CheckpointApart: the one connection serves the managers' every read and
// write, and a checkpoint of the write-ahead log inside a commit held up
// the enqueue, start and end of every delivery meanwhile (issue 7).
func OpenDB(path string) (*sql.DB, error) {
	// One connection, as the process managers' tests run them: SQLite has
	// one writer anyway, and a pool of deferred transactions upgrading to
	// write locks can fail with SQLITE_BUSY despite the busy timeout.
	db, err := sqlitefile.Open(path, sqlitefile.Settings{JournalMode: "WAL", Synchronous: "NORMAL",
		ForeignKeys: true, ImmediateTx: true, StmtCache: 32, MaxOpenConns: 1, CheckpointApart: true})
	if err != nil {
		return nil, fmt.Errorf("open process database: %w", err)
	}
	return db, nil
}
