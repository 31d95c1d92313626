package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/sqlitefile"
)

// AppendBenchConfig says what BenchAppends measures. The zero value, with a
// Dir, is the table: 1, 8 and 64 writers, 3 s per cell.
type AppendBenchConfig struct {
	// Dir is where each cell's store file is created (and removed after
	// it); it should be on the disk being measured. Required.
	Dir string
	// Writers lists the numbers of concurrent writers. Default 1, 8, 64.
	Writers []int
	// Duration is how long each cell appends. Default 3 s.
	Duration time.Duration
	// Store is the configuration of every store opened, durable by
	// default; MaxBatch is set by the mode of each cell.
	Store Config
}

// AppendFigure is what one cell measured: writers goroutines appending one
// event at a time, each to a new stream, each append durable when it returns.
type AppendFigure struct {
	// MaxBatch is the store's Config.MaxBatch: 1 means one transaction
	// per append.
	MaxBatch int
	Writers  int
	// Appends is the number of appends made (one event each).
	Appends int
	Elapsed time.Duration
	// EventsPerSec is Appends / Elapsed.
	EventsPerSec float64
	// P50 and P99 are the latencies of single Append calls.
	P50, P99 time.Duration
	// Transactions is how many transactions committed them.
	Transactions uint64
}

// AppendBenchRow is one number of writers, both modes measured one after the
// other on fresh files.
type AppendBenchRow struct {
	Writers int
	// Group is group commit (the default MaxBatch); PerAppend is one
	// transaction per append (MaxBatch 1).
	Group, PerAppend AppendFigure
	// Ratio is Group.EventsPerSec / PerAppend.EventsPerSec.
	Ratio float64
}

// BenchAppends measures durable append throughput and latency with group
// commit and with one transaction per append, side by side, at each number of
// writers in cfg. It is the figure `offerflow bench` prints as part 1 and the
// one BenchmarkAppends in this package's tests reports.
func BenchAppends(ctx context.Context, cfg AppendBenchConfig) ([]AppendBenchRow, error) {
	if cfg.Dir == "" {
		return nil, errors.New("append benchmark: no directory")
	}
	if len(cfg.Writers) == 0 {
		cfg.Writers = []int{1, 8, 64}
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 3 * time.Second
	}
	var rows []AppendBenchRow
	for _, w := range cfg.Writers {
		row := AppendBenchRow{Writers: w}
		for _, c := range []struct {
			maxBatch int
			into     *AppendFigure
		}{{0, &row.Group}, {1, &row.PerAppend}} {
			sc := cfg.Store
			sc.MaxBatch = c.maxBatch
			fig, err := benchCell(ctx, cfg.Dir, sc, w, cfg.Duration)
			if err != nil {
				return rows, err
			}
			*c.into = fig
		}
		if row.PerAppend.EventsPerSec > 0 {
			row.Ratio = row.Group.EventsPerSec / row.PerAppend.EventsPerSec
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// benchCell measures one cell on a fresh store file, removed afterwards.
func benchCell(ctx context.Context, dir string, cfg Config, writers int, d time.Duration) (AppendFigure, error) {
	path := filepath.Join(dir, fmt.Sprintf("append-bench-%d-%d.db", cfg.MaxBatch, writers))
	s, err := Open(ctx, path, cfg)
	if err != nil {
		return AppendFigure{}, fmt.Errorf("append benchmark: %w", err)
	}
	deadline := time.Now().Add(d)
	fig, err := MeasureAppends(ctx, s, writers, func(int) bool { return time.Now().Before(deadline) })
	cerr := s.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(path + suffix)
	}
	if err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fig, fmt.Errorf("append benchmark, %d writers, max batch %d: %w", writers, cfg.MaxBatch, err)
	}
	return fig, nil
}

// MeasureAppends runs writers goroutines that append one event at a time to
// s, each to a new stream named like an offer's, as long as more(i) is true for the i-th append
// (counted across all writers from 0), and reports the rate and latencies.
// The transactions are counted from s.Stats, so s should see no other
// appends meanwhile.
func MeasureAppends(ctx context.Context, s *Store, writers int, more func(i int) bool) (AppendFigure, error) {
	if writers < 1 {
		return AppendFigure{}, fmt.Errorf("writers %d: want at least 1", writers)
	}
	data := json.RawMessage(`{"offer_id":"0190f1c2-7a4b-7c3d-9e5f-112233445566","customer_id":"c-1","product_id":"p-1","price":{"amount":"19.90","currency":"EUR"},"note":"an event of the append benchmark"}`)
	md := eventstore.Metadata{Actor: domain.Actor{Role: "reseller", Tenant: "r-1", Subject: "bench"}, CorrelationID: "bench"}
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		lats = make([][]time.Duration, writers)
		errs = make([]error, writers)
	)
	before := s.Stats()
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			for {
				if !more(int(next.Add(1) - 1)) {
					return
				}
				// Offer streams are named by UUIDv7 ids, which grow with
				// time; so do these, so that the indexes see the locality
				// they see in production.
				id := uuid.Must(uuid.NewV7()).String()
				stream := "bench-offer-" + id
				m := md
				m.OccurredAt = time.Now()
				t := time.Now()
				_, err := s.Append(ctx, stream, eventstore.NoStream,
					eventstore.NewEvent{ID: id, Type: "bench.appended", SchemaVersion: 1, Data: data, Metadata: m})
				if err != nil {
					errs[w] = err
					return
				}
				lats[w] = append(lats[w], time.Since(t))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return AppendFigure{}, err
	}
	all := slices.Concat(lats...)
	slices.Sort(all)
	fig := AppendFigure{
		MaxBatch: s.cfg.MaxBatch, Writers: writers, Appends: len(all), Elapsed: elapsed,
		EventsPerSec: float64(len(all)) / elapsed.Seconds(),
		Transactions: s.Stats().Transactions - before.Transactions,
	}
	if len(all) > 0 {
		fig.P50 = all[len(all)*50/100]
		fig.P99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return fig, nil
}

// WriteAppendTable writes rows as the Markdown table docs/benchmarks.md
// shows.
func WriteAppendTable(w io.Writer, rows []AppendBenchRow) error {
	if _, err := fmt.Fprintln(w, "| writers | group commit: events/s | p50 | p99 | appends per transaction | one transaction per append: events/s | p50 | p99 | ratio |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |"); err != nil {
		return err
	}
	for _, r := range rows {
		g, p := r.Group, r.PerAppend
		perTx := 0.0
		if g.Transactions > 0 {
			perTx = float64(g.Appends) / float64(g.Transactions)
		}
		if _, err := fmt.Fprintf(w, "| %d | %.0f | %s | %s | %.1f | %.0f | %s | %s | %.1fx |\n",
			r.Writers, g.EventsPerSec, ms(g.P50), ms(g.P99), perTx, p.EventsPerSec, ms(p.P50), ms(p.P99), r.Ratio); err != nil {
			return err
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// RawScan reads every row of the log file at path with one SELECT, in log
// order, without decoding anything: the pace at which this machine's SQLite
// can hand out the log, the ceiling of any rebuild.
func RawScan(ctx context.Context, path string) (rows int, took time.Duration, err error) {
	db, err := sqlitefile.Open(path, sqlitefile.Settings{ReadOnly: true})
	if err != nil {
		return 0, 0, fmt.Errorf("scan: %w", err)
	}
	defer db.Close()
	start := time.Now()
	rs, err := db.QueryContext(ctx, `SELECT position, id, stream, version, type, schema_version, data, metadata, prev_hash, hash
		FROM events ORDER BY position`)
	if err != nil {
		return 0, 0, fmt.Errorf("scan: %w", err)
	}
	defer rs.Close()
	var (
		pos, version, schema                        int64
		id, stream, typ, data, meta, prevHash, hash sql.RawBytes
	)
	for rs.Next() {
		if err := rs.Scan(&pos, &id, &stream, &version, &typ, &schema, &data, &meta, &prevHash, &hash); err != nil {
			return rows, 0, fmt.Errorf("scan: %w", err)
		}
		rows++
	}
	if err := rs.Err(); err != nil {
		return rows, 0, fmt.Errorf("scan: %w", err)
	}
	return rows, time.Since(start), nil
}
