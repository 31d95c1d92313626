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
// side by side: as it runs (customer and template from the handler's cache
// of decoded events plus the log's empty tail, the new offer's stream not
// read) and as it ran before (every stream read whole from the log and
// decoded, the new, empty offer stream included). The store runs with
// synchronous=NORMAL so that the CPU work, not the disk's fsync, shows;
// the figures are the process's CPU time per offer (the store's writer
// goroutine included), steadier than the wall time on a shared machine.
//
//	go test -run '^$' -bench BenchmarkCreateOffer -benchtime 40x ./command/
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

	h := svc.Handler()
	now := func() {
		if _, _, err := svc.CreateOffer(ctx, rm, cust, tmpl, "hello", nil); err != nil {
			b.Fatal(err)
		}
	}
	before := func() {
		c, t := &domain.Customer{}, &domain.Template{}
		mustLoadWhole(b, store, "customer-"+string(cust), c)
		mustLoadWhole(b, store, "template-"+string(tmpl), t)
		id := domain.OfferID(h.NewID())
		_, _, err := command.Execute(ctx, h, domain.OfferStream(id), func() *domain.Offer { return &domain.Offer{} }, rm,
			func(o *domain.Offer, now time.Time) ([]domain.Event, error) {
				return o.Create(id, reseller, c, t, "hello", nil, now)
			})
		if err != nil {
			b.Fatal(err)
		}
	}
	// The two run in alternating blocks, so that both meet the same state
	// of the log file and the runtime; each is charged its blocks' CPU.
	const block = 50
	var spent [2]time.Duration
	n := 0
	for b.Loop() {
		for i, fn := range []func(){now, before} {
			start := processCPU()
			for range block {
				fn()
			}
			spent[i] += processCPU() - start
		}
		n += block
	}
	b.ReportMetric(float64(spent[0].Microseconds())/float64(n), "now-cpu-µs/offer")
	b.ReportMetric(float64(spent[1].Microseconds())/float64(n), "before-cpu-µs/offer")
	b.ReportMetric(0, "ns/op")
}

// mustLoadWhole folds a whole stream, read from the log and decoded, into
// agg: a load without the handler's cache.
func mustLoadWhole(tb testing.TB, store eventstore.Store, stream string, agg domain.Aggregate) {
	tb.Helper()
	evs, err := eventstore.ReadStreamAll(context.Background(), store, stream, 0)
	if err != nil || len(evs) == 0 {
		tb.Fatalf("read %s: %d events, %v", stream, len(evs), err)
	}
	for _, e := range evs {
		de, err := domain.DecodeEvent(e.Type, e.SchemaVersion, e.Data)
		if err != nil {
			tb.Fatal(err)
		}
		agg.Apply(de)
	}
}

// processCPU is the CPU time the test process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
