package command_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// readCounter is a real store that counts the reads of offer streams.
type readCounter struct {
	eventstore.Store
	offerReads atomic.Int64
}

func (r *readCounter) ReadStream(ctx context.Context, stream string, after uint64, limit int) ([]eventstore.Event, error) {
	if strings.HasPrefix(stream, "offer-") {
		r.offerReads.Add(1)
	}
	return r.Store.ReadStream(ctx, stream, after, limit)
}

// TestCreateOffer_NewStream: sending an offer reads no offer stream, since
// its id was just drawn; an id drawn twice still meets the offer already
// stored (409 offer exists, nothing written), and a command with an
// idempotency seed still finds its earlier run.
func TestCreateOffer_NewStream(t *testing.T) {
	store := &readCounter{Store: MustOpenStore(t)}
	var nextID atomic.Value
	nextID.Store("")
	w := mustWorldOn(t, store, command.Config{NewID: func() string {
		if id := nextID.Load().(string); id != "" {
			return id
		}
		return uuid.NewString()
	}})
	ctx := context.Background()

	o, res, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "hello", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := store.offerReads.Load(); n != 0 {
		t.Errorf("creating an offer read offer streams %d times, want 0", n)
	}
	if res.Version != 2 || len(res.Events) != 2 || o.Status() != domain.StatusWaiting {
		t.Errorf("result %+v, status %s; want version 2, 2 events, waiting", res, o.Status())
	}

	nextID.Store(string(o.ID()))
	head, _ := store.Head(ctx)
	if _, _, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "again", nil); !errors.Is(err, domain.ErrOfferExists) {
		t.Errorf("an offer id drawn twice: %v, want ErrOfferExists", err)
	}
	if after, _ := store.Head(ctx); after != head {
		t.Errorf("the refused create wrote: head %d -> %d", head, after)
	}

	seeded := w.reseller
	seeded.IdempotencySeed = "key-1"
	nextID.Store("")
	first, r1, err := w.svc.CreateOffer(ctx, seeded, w.cust, w.template, "seeded", nil)
	if err != nil {
		t.Fatal(err)
	}
	again, r2, err := w.svc.CreateOffer(ctx, seeded, w.cust, w.template, "seeded", nil)
	if err != nil || again.ID() != first.ID() || r2.Position != r1.Position {
		t.Errorf("a seeded retry: %v, offer %s at %d; want the first run's %s at %d", err, again.ID(), r2.Position, first.ID(), r1.Position)
	}
}

// BenchmarkCreateOffer measures sending an offer through the command side,
// side by side: as it runs (the new offer's stream is not read) and as it
// ran before (Execute reads the new, empty stream first). The store runs
// with synchronous=NORMAL so that the CPU work, not the disk's fsync,
// shows; cpu-µs/op is the process's CPU time per offer, steadier than the
// wall time on a shared machine.
//
//	go test -run '^$' -bench BenchmarkCreateOffer -benchtime 2000x ./command/
func BenchmarkCreateOffer(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "events.db"), sqlite.Config{Synchronous: "NORMAL"})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	w := mustWorldOn(b, store, command.Config{})
	svc, rm, tmpl, cust := w.svc, w.reseller, w.template, w.cust
	reseller := domain.ResellerID(rm.Actor.Tenant)

	b.Run("now", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if _, _, err := svc.CreateOffer(ctx, rm, cust, tmpl, "hello", nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reading the new stream", func(b *testing.B) {
		h := svc.Handler()
		defer reportCPU(b)()
		for b.Loop() {
			c, _, err := svc.Customer(ctx, cust)
			if err != nil {
				b.Fatal(err)
			}
			t := &domain.Template{}
			if _, _, err := command.Load(ctx, h, "template-"+string(tmpl), t); err != nil {
				b.Fatal(err)
			}
			id := domain.OfferID(h.NewID())
			_, _, err = command.Execute(ctx, h, command.OfferStream(id), func() *domain.Offer { return &domain.Offer{} }, rm,
				func(o *domain.Offer, now time.Time) ([]domain.Event, error) {
					return o.Create(id, reseller, c, t, "hello", nil, now)
				})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// reportCPU reports the process's CPU time per iteration of b when the
// returned function runs.
func reportCPU(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		b.ReportMetric(float64((cpu()-start).Microseconds())/float64(b.N), "cpu-µs/op")
	}
}
