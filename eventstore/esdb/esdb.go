// Package esdb is the EventStoreDB/KurrentDB implementation of
// eventstore.Store, for running offerflow on more than one machine: the
// cluster holds the log, every offerflow node reads it.
//
// Mapping:
//
//   - A stream is an EventStoreDB stream of the same name (after
//     Config.StreamPrefix). Version v is revision v-1.
//   - Appends always carry an explicit expected revision (NoStream or the
//     revision of the expected version), never Any.
//   - Event ids must be UUIDs. The envelope fields EventStoreDB has no place
//     for (schema version, actor, correlation and causation ids,
//     occurred-at, prev_hash, hash) travel in the event's JSON metadata.
//   - Positions are EventStoreDB commit positions in $all: increasing in log
//     order, not contiguous, 0 meaning "before the first event". For events
//     appended through gRPC the commit and prepare positions are equal, so a
//     position names one event exactly.
//   - ReadAll, Head and Wait see the non-system events ($-prefixed types and
//     streams are left out) of the streams under Config.StreamPrefix that
//     offerflow wrote; events of other writers under the prefix are skipped.
//   - Client errors map to ErrUnavailable, ErrAccessDenied, ErrStreamDeleted,
//     ErrServer or eventstore.ErrWrongVersion (errors.Is), or to the
//     context's error when the call's context is done.
//   - An append reads a bounded window of the stream, never all of it
//     (see Store.Append for the retries it recognises).
//
// The server must report $all positions on stream reads (EventStoreDB 22.10
// or later, or KurrentDB); the user needs read access to $all.
package esdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	neturl "net/url"
	"strings"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/offerflow/offerflow/eventstore"
)

// Config configures a Store.
type Config struct {
	// URL is an EventStoreDB connection string, such as
	// "esdb://localhost:2113?tls=false" or, for a cluster,
	// "esdb://node1:2113,node2:2113,node3:2113?tls=true".
	URL string

	// StreamPrefix, when set, namespaces the store inside a shared cluster:
	// stream s is stored as StreamPrefix+s, and ReadAll, Head and Wait see
	// only streams under the prefix. Empty means every non-system stream
	// of the cluster belongs to offerflow, the normal production setup.
	// Reads of $all still pass over other namespaces' events, so sharing a
	// busy cluster this way costs read throughput.
	StreamPrefix string

	// Logger receives the client's own log lines. Nil discards them.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("esdb: no connection string")
	}
	if strings.HasPrefix(c.StreamPrefix, "$") {
		return fmt.Errorf("esdb: stream prefix %q starts with $, which EventStoreDB reserves for system streams", c.StreamPrefix)
	}
	return nil
}

// Store is an eventstore.Store on an EventStoreDB/KurrentDB server or
// cluster. It is safe for concurrent use; Close it after every other call
// has returned.
type Store struct {
	client *esdbclient.Client
	prefix string
	log    *slog.Logger
}

var _ eventstore.Store = (*Store)(nil)

// OpenConfig connects as cfg says and checks that the server answers a read
// of $all, so a wrong address or missing permission fails here rather than
// at the first command.
func OpenConfig(ctx context.Context, cfg Config) (*Store, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	conf, err := esdbclient.ParseConnectionString(cfg.URL)
	if err != nil {
		// The connection string may hold a password, and url.Error
		// repeats the whole string: keep only the reason.
		var uerr *neturl.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("esdb: parse connection string: %w", err)
	}
	conf.Logger = clientLogger(cfg.Logger)
	client, err := esdbclient.NewClient(conf)
	if err != nil {
		return nil, fmt.Errorf("esdb: new client: %w", err)
	}
	s := &Store{client: client, prefix: cfg.StreamPrefix, log: cfg.Logger}
	if err := s.ping(ctx); err != nil {
		_ = client.Close()
		return nil, err
	}
	return s, nil
}

// ping reads the last event of $all, whatever it is.
func (s *Store) ping(ctx context.Context) error {
	rs, err := s.client.ReadAll(ctx, esdbclient.ReadAllOptions{Direction: esdbclient.Backwards, From: esdbclient.End{}}, 1)
	if err != nil {
		return wrap(ctx, "esdb: connect", err)
	}
	defer rs.Close()
	if _, err := rs.Recv(); err != nil && !isEOF(err) {
		return wrap(ctx, "esdb: connect: read $all", err)
	}
	return nil
}

// Close closes the connection. Calling it again does nothing.
func (s *Store) Close() error {
	return s.client.Close()
}

// physical returns the EventStoreDB name of logical stream name.
func (s *Store) physical(stream string) (string, error) {
	if stream == "" {
		return "", errors.New("empty stream name")
	}
	if strings.HasPrefix(stream, "$") {
		return "", fmt.Errorf("stream name %q starts with $, which EventStoreDB reserves for system streams", stream)
	}
	return s.prefix + stream, nil
}

// logical returns the offerflow name of an EventStoreDB stream holding an
// event of type typ, and false when the event is not this store's: a system
// event, or a stream outside the prefix.
func (s *Store) logical(stream, typ string) (string, bool) {
	if strings.HasPrefix(typ, "$") || strings.HasPrefix(stream, "$") {
		return "", false
	}
	rest, ok := strings.CutPrefix(stream, s.prefix)
	if !ok || rest == "" {
		return "", false
	}
	return rest, true
}

// ctxErr returns ctx's error, or context.DeadlineExceeded when ctx's
// deadline has passed but its timer has not fired yet: gRPC enforces the
// same deadline with a timer of its own, and a call can end with its
// DeadlineExceeded status an instant before ctx reports done.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// clientLogger routes the client's log lines to l. A dropped subscription
// is logged by the client as an error, but every drop also reaches the
// caller (Wait ends with ctx's error or returns the drop), so it is logged
// at debug level to keep ordinary Wait cancellations out of error logs.
func clientLogger(l *slog.Logger) esdbclient.LoggingFunc {
	return func(level esdbclient.LogLevel, format string, args ...any) {
		lv := slog.LevelDebug
		switch level {
		case esdbclient.LogInfo:
			lv = slog.LevelInfo
		case esdbclient.LogWarn:
			lv = slog.LevelWarn
		case esdbclient.LogError:
			lv = slog.LevelError
			if strings.HasPrefix(format, "subscription has dropped") {
				lv = slog.LevelDebug
			}
		}
		if !l.Enabled(context.Background(), lv) {
			return
		}
		l.Log(context.Background(), lv, fmt.Sprintf(format, args...), "component", "esdb-client")
	}
}
