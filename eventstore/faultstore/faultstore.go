// Package faultstore wraps an eventstore.Store and makes chosen appends go
// wrong the ways a real log can: refused before anything is written, failed
// after the events were committed (the caller cannot tell it worked), or
// stalled until the caller gives up. Tests put it at the seam between the
// command side, the projections and the process managers and the log, and
// check that each ends in the right state.
package faultstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/offerflow/offerflow/eventstore"
)

// Fault is what happens to an append a rule matches.
type Fault int

// The faults a Store injects.
const (
	// FailBefore answers ErrInjected and writes nothing.
	FailBefore Fault = iota + 1
	// FailAfter lets the append commit and then answers ErrInjected, as a
	// connection lost after COMMIT would: the events are in the log though
	// the caller saw an error.
	FailAfter
	// Stall blocks the append, writing nothing, until the caller's context
	// ends (answering its error) or Release is called (then it proceeds).
	Stall
	// FailRead is a ReadAll that FailReads made fail.
	FailRead
)

func (f Fault) String() string {
	switch f {
	case FailBefore:
		return "fail-before"
	case FailAfter:
		return "fail-after"
	case Stall:
		return "stall"
	case FailRead:
		return "fail-read"
	}
	return fmt.Sprintf("fault(%d)", int(f))
}

// ErrInjected is matched (errors.Is) by every error a Store makes up.
var ErrInjected = errors.New("faultstore: injected fault")

// Rule chooses appends to disturb.
type Rule struct {
	// Fault is what happens to a matching append.
	Fault Fault
	// Nth, when above zero, matches only the Nth append (counting from 1)
	// that the other fields match; zero matches every one.
	Nth int
	// Times bounds how many appends the rule disturbs; zero is no bound.
	Times int
	// StreamPrefix, when set, matches appends to streams that start with it.
	StreamPrefix string
	// Type, when set, matches appends holding an event of this type.
	Type string

	seen, fired int
}

func (r *Rule) matches(stream string, events []eventstore.NewEvent) bool {
	if r.StreamPrefix != "" && !strings.HasPrefix(stream, r.StreamPrefix) {
		return false
	}
	if r.Type != "" && !slices.ContainsFunc(events, func(e eventstore.NewEvent) bool { return e.Type == r.Type }) {
		return false
	}
	return true
}

// Injection records one disturbed append.
type Injection struct {
	Fault  Fault
	Stream string
	Types  []string
}

// Store is an eventstore.Store that disturbs the appends its rules match.
// Reads, Head and Wait pass through untouched.
type Store struct {
	eventstore.Store

	mu        sync.Mutex
	rules     []*Rule
	appends   int
	injected  []Injection
	release   chan struct{}
	readFails int
}

// New wraps inner; rules can be added later with Add.
func New(inner eventstore.Store, rules ...Rule) *Store {
	s := &Store{Store: inner, release: make(chan struct{})}
	for _, r := range rules {
		s.Add(r)
	}
	return s
}

// Add adds a rule. The first rule that matches an append and still has
// appends to disturb decides its fault.
func (s *Store) Add(r Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, &r)
}

// Clear drops every rule; appends pass through from then on.
func (s *Store) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = nil
}

// Release lets every stalled append, and every later one a Stall rule
// matches, proceed.
func (s *Store) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.release:
	default:
		close(s.release)
	}
}

// Appends returns how many appends reached the store.
func (s *Store) Appends() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appends
}

// Injected returns the appends disturbed so far, in order.
func (s *Store) Injected() []Injection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.injected)
}

// choose returns the fault for an append, counting it against its rule.
func (s *Store) choose(stream string, events []eventstore.NewEvent) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appends++
	for _, r := range s.rules {
		if !r.matches(stream, events) || (r.Times > 0 && r.fired >= r.Times) {
			continue
		}
		r.seen++
		if r.Nth > 0 && r.seen != r.Nth {
			continue
		}
		r.fired++
		types := make([]string, len(events))
		for i, e := range events {
			types[i] = e.Type
		}
		s.injected = append(s.injected, Injection{Fault: r.Fault, Stream: stream, Types: types})
		return r.Fault
	}
	return 0
}

// Append appends through the wrapped store unless a rule disturbs it.
func (s *Store) Append(ctx context.Context, stream string, expected uint64, events ...eventstore.NewEvent) (eventstore.AppendResult, error) {
	switch s.choose(stream, events) {
	case FailBefore:
		return eventstore.AppendResult{}, fmt.Errorf("append %s before commit: %w", stream, ErrInjected)
	case FailAfter:
		if _, err := s.Store.Append(ctx, stream, expected, events...); err != nil {
			return eventstore.AppendResult{}, err
		}
		return eventstore.AppendResult{}, fmt.Errorf("append %s after commit: %w", stream, ErrInjected)
	case Stall:
		s.mu.Lock()
		release := s.release
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return eventstore.AppendResult{}, fmt.Errorf("append %s stalled: %w", stream, ctx.Err())
		case <-release:
		}
	}
	return s.Store.Append(ctx, stream, expected, events...)
}

// FailReads makes the next n calls of ReadAll fail with ErrInjected, as a
// log that cannot be read for a while would.
func (s *Store) FailReads(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readFails = n
}

// ReadAll reads through the wrapped store unless FailReads disturbs it.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.Event, error) {
	s.mu.Lock()
	fail := s.readFails > 0
	if fail {
		s.readFails--
		s.injected = append(s.injected, Injection{Fault: FailRead})
	}
	s.mu.Unlock()
	if fail {
		return nil, fmt.Errorf("read the log after %d: %w", after, ErrInjected)
	}
	return s.Store.ReadAll(ctx, after, limit)
}
