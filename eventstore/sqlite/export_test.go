package sqlite

import (
	"context"
	"time"
)

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

// Queued returns how many appends wait in the queue, not yet taken by the
// writer.
func (s *Store) Queued() int {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return len(s.queue)
}

// Taken returns how many appends the writer has taken from the queue.
func (s *Store) Taken() uint64 { return s.stats.taken.Load() }

// WriterStopped reports whether the writer goroutine has returned.
func (s *Store) WriterStopped() bool {
	select {
	case <-s.writerDone:
		return true
	default:
		return false
	}
}

// HeadReads returns how many times the head was read from the file.
func (s *Store) HeadReads() uint64 { return s.stats.headReads.Load() }

// SetHeadTrust sets how long after the head was last the file's head Wait
// trusts it without reading the file.
func (s *Store) SetHeadTrust(d time.Duration) { s.headTrust = d }
