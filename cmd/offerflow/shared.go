package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/offerflow/offerflow/eventstore/lease"
	"github.com/offerflow/offerflow/idempotency"
	"github.com/offerflow/offerflow/projections/process"
)

// processesLease is the lease whose holder runs the process managers
// (delivery, expiry, license grant, and any added later) for all the nodes
// sharing a log.
const processesLease = "processes"

// sharedFiles returns where the Idempotency-Key records (when they are in
// a SQLite file) and the secret that seals them are kept. On a shared
// SQLite log both sit next to the log's file (PATH-idempotency.db,
// PATH-server.secret), where every node finds them: a retry that reaches
// another node is replayed there, and the first node to start creates the
// secret (atomically; the others read it). Otherwise they are in the
// node's --data (on EventStoreDB the records are in the cluster, see
// openIdempotency, and the secret must be given to every node with
// --secret-file); --secret-file names a secret to use instead of the
// default in either case.
func (c serveConfig) sharedFiles() (idem, secret string) {
	idem, secret = c.path(idempotencyFile), c.path(secretFile)
	if p, ok := c.sharedSQLite(); ok {
		idem, secret = p+"-"+idempotencyFile, p+"-"+secretFile
	}
	if c.secretFile != "" {
		secret = c.secretFile
	}
	return idem, secret
}

// openIdempotency opens the Idempotency-Key records where every node that
// shares the log sees them: in the cluster on EventStoreDB (a stream per
// key, written by compare-and-swap, idempotency.Versioned), in a SQLite
// file otherwise (next to a shared SQLite log, or in --data).
func (m *Main) openIdempotency(ctx context.Context) (idempotency.Records, error) {
	c := m.cfg
	if _, sqliteLog := c.sharedSQLite(); c.shared() && !sqliteLog {
		b, ok := m.store.(idempotency.Backend)
		if !ok {
			return nil, fmt.Errorf("the event store %s cannot keep Idempotency-Key records", storeName(c.storeFlags))
		}
		return idempotency.NewVersioned(b, idempotency.Config{}), nil
	}
	idemPath, _ := c.sharedFiles()
	return idempotency.Open(ctx, idemPath, idempotency.Config{})
}

// leaderWork returns the background work of a node on a shared log: the
// process managers and the periodic tree head, run only while this node
// holds the processes lease in the log's store. Losing the lease stops them; winning it again starts a
// fresh set (a Processes runs once), resuming from this node's own
// checkpoints in processes.db. See docs/scaling.md for why that is safe.
func (m *Main) leaderWork(newProcesses func(context.Context) (*process.Processes, error)) (func(context.Context) error, error) {
	b, ok := m.store.(lease.Backend)
	if !ok {
		return nil, fmt.Errorf("the event store %s cannot hold a lease: run the process managers on one node and start the others with --processes=false", storeName(m.cfg.storeFlags))
	}
	holder := holderID()
	log := m.log.With("component", "lease")
	cfg := lease.Config{Name: processesLease, Holder: holder, TTL: m.cfg.leaseTTL, Logger: log}
	return func(ctx context.Context) error {
		return lease.Run(ctx, b, cfg, func(ctx context.Context) error {
			procs, err := newProcesses(ctx)
			if err != nil {
				return err
			}
			// The heads stop with the managers, whichever way they stop.
			hctx, stopHeads := context.WithCancel(ctx)
			var heads sync.WaitGroup
			if m.cfg.headInterval > 0 {
				heads.Go(func() { _ = m.trees.Run(hctx, m.cfg.headInterval) }) // returns hctx's error
			}
			err = procs.Run(ctx)
			stopHeads()
			heads.Wait()
			return errors.Join(err, procs.Close())
		})
	}, nil
}

// holderID names this process in the lease: host and pid for the people
// reading it, and random bytes so that a restarted process (same pid in a
// container) never passes for the one before it.
func holderID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
