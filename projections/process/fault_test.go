package process_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/faultstore"
	"github.com/offerflow/offerflow/projections/process"
)

// outcomes collects the delivery outcomes the process managers report.
type outcomes struct {
	mu  sync.Mutex
	got []string
}

func (o *outcomes) add(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, s)
}

func (o *outcomes) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.got)
}

// TestProcesses_StoreFaults disturbs the appends the process managers make
// and checks that each manager still ends where it would without faults:
// the offer delivered once, the licenses granted once, nothing poisoned.
func TestProcesses_StoreFaults(t *testing.T) {
	cases := []struct {
		name  string
		rule  faultstore.Rule
		stall time.Duration // released after this long
	}{
		{"delivery refused twice", faultstore.Rule{Fault: faultstore.FailBefore, Type: domain.TypeOfferDelivered, Times: 2}, 0},
		{"delivery stored but reported failed", faultstore.Rule{Fault: faultstore.FailAfter, Type: domain.TypeOfferDelivered, Times: 1}, 0},
		{"delivery stalled", faultstore.Rule{Fault: faultstore.Stall, Type: domain.TypeOfferDelivered, Times: 1}, 300 * time.Millisecond},
		{"grant refused", faultstore.Rule{Fault: faultstore.FailBefore, Type: domain.TypeLicensesGranted, Times: 2}, 0},
		{"grant stored but reported failed", faultstore.Rule{Fault: faultstore.FailAfter, Type: domain.TypeLicensesGranted, Times: 1}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var fs *faultstore.Store
			e := newProcessEnv(t, nil, func(s eventstore.Store) eventstore.Store {
				fs = faultstore.New(s)
				return fs
			})
			fs.Add(c.rule)
			var delivered, poisoned outcomes
			p := e.start(t, process.ProcessConfig{
				HandlerRetries: 5, HandlerBackoff: 10 * time.Millisecond,
				OnDelivery: delivered.add, OnPoisoned: poisoned.add,
			})
			if c.stall > 0 {
				time.AfterFunc(c.stall, fs.Release)
			}
			id := e.createOffer(t, nil)
			e.deliverAndAccept(t, id)
			grants := "grant-" + string(id)
			processWait(t, 10*time.Second, func() bool {
				return len(e.ofType(t, grants, domain.TypeLicensesGranted)) > 0
			}, "the licenses to be granted")
			e.waitIdle(t, p)
			// A late retry would show within a few backoffs.
			time.Sleep(100 * time.Millisecond)

			if len(fs.Injected()) == 0 {
				t.Fatal("no fault was injected: the rule matched nothing")
			}
			stream := domain.OfferStream(id)
			if n := len(e.ofType(t, stream, domain.TypeOfferDelivered)); n != 1 {
				t.Errorf("%d offer.delivered events, want 1", n)
			}
			if n := len(e.ofType(t, grants, domain.TypeLicensesGranted)); n != 1 {
				t.Errorf("%d licenses.granted events, want 1", n)
			}
			if got := delivered.list(); !slices.Equal(got, []string{"delivered"}) {
				t.Errorf("delivery outcomes %v, want [delivered]", got)
			}
			if got := poisoned.list(); len(got) != 0 {
				t.Errorf("messages poisoned by %v", got)
			}
		})
	}
}
