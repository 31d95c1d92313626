// Package esdbemulator is an in-process emulator of the EventStoreDB gRPC
// services that the esdb adapter uses, so the adapter's tests run on any
// machine: no server, no Docker.
//
// It serves, on a loopback listener without TLS, the client module's own
// generated service interfaces (github.com/EventStore/EventStore-Client-Go/v4
// protos): server features (what the client asks on connect), and of the
// streams service Append and Read (stream reads, $all reads, catch-up
// subscriptions to $all and to a stream, server-side filters). It keeps the
// log in memory and follows EventStoreDB's documented rules for expected
// revisions, event-id idempotency and $all positions; docs/scaling.md
// lists what it models and what it does not.
//
// It is a test double for the adapter, not a database: nothing persists,
// and there is no authentication, clustering or deletion; of stream
// metadata it applies $maxCount, $maxAge and $tb to stream reads.
package esdbemulator

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
)

// ServerVersion is the EventStoreDB version the emulator reports to the
// client on connect: one that reports $all positions on stream reads.
const ServerVersion = "24.10.0"

// Emulator is a running emulated EventStoreDB node.
type Emulator struct {
	store *store
	lis   net.Listener
	srv   *grpc.Server
	done  chan struct{}
	err   error // what Serve returned, read after done is closed
	once  sync.Once
}

// Config configures an emulator.
type Config struct {
	// Now is the server's clock: the created time of events, and what
	// $maxAge is judged by (time.Now by default), so that a test can move
	// it forward.
	Now func() time.Time
}

// Start serves a fresh, empty emulator on a loopback port chosen by the
// system. Close it when done.
func Start() (*Emulator, error) { return StartConfig(Config{}) }

// StartConfig is Start with a configuration.
func StartConfig(cfg Config) (*Emulator, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("esdbemulator: listen: %w", err)
	}
	e := &Emulator{
		store: newStore(func() int64 { return cfg.Now().UnixNano() / 100 }),
		lis:   lis,
		srv:   grpc.NewServer(),
		done:  make(chan struct{}),
	}
	streams.RegisterStreamsServer(e.srv, &streamsServer{store: e.store})
	serverfeatures.RegisterServerFeaturesServer(e.srv, featuresServer{})
	go func() {
		defer close(e.done)
		e.err = e.srv.Serve(lis)
	}()
	return e, nil
}

// URL is the connection string of the emulator for the client:
// esdb://127.0.0.1:PORT?tls=false.
func (e *Emulator) URL() string {
	return "esdb://" + e.lis.Addr().String() + "?tls=false"
}

// NewClient returns an official client connected to the emulator, for tests
// that write what the adapter never writes. Close it before the emulator.
func (e *Emulator) NewClient() (*esdbclient.Client, error) {
	conf, err := esdbclient.ParseConnectionString(e.URL())
	if err != nil {
		return nil, fmt.Errorf("esdbemulator: %w", err)
	}
	c, err := esdbclient.NewClient(conf)
	if err != nil {
		return nil, fmt.Errorf("esdbemulator: %w", err)
	}
	return c, nil
}

// EventsRead is how many events the emulator has sent in answer to reads
// of streams and $all (subscriptions not counted), so a test can bound how
// much of the log a client reads for an operation.
func (e *Emulator) EventsRead() uint64 {
	return e.store.read.Load()
}

// Close stops the emulator at once: open reads and subscriptions end with
// an error on the client's side. Calling it again does nothing.
func (e *Emulator) Close() error {
	e.once.Do(func() {
		e.srv.Stop()
		<-e.done
	})
	if e.err != nil && !errors.Is(e.err, grpc.ErrServerStopped) {
		return fmt.Errorf("esdbemulator: serve: %w", e.err)
	}
	return nil
}
