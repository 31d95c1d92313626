package http_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/offerflow/offerflow/eventstore"
)

// decisionTypes are the events that end an offer's pending life.
var decisionTypes = map[string]bool{"offer.accepted": true, "offer.rejected": true, "offer.withdrawn": true}

// post sends an empty command and returns its status; it is safe to call
// from any goroutine (it reports transport errors instead of failing).
func (c Client) post(path string) (int, error) {
	req, err := http.NewRequest("POST", c.ts.URL()+path, strings.NewReader("{}"))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// TestOffer_ConcurrentDecisions has K clients accept, reject and withdraw
// one delivered offer at the same moment, over and over: exactly one of
// them wins (2xx), every other one is 409, and the log holds exactly one
// decision for the offer.
func TestOffer_ConcurrentDecisions(t *testing.T) {
	const k, rounds = 12, 8
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	for round := range rounds {
		offer := w.ResellerC.SendOffer(t, w.Customer, w.Template, fmt.Sprintf("round %d", round))
		w.ResellerC.WaitStatus(t, offer, "waiting_for_confirmation")

		calls := make([]raceCall, k)
		for i := range k {
			calls[i] = raceCall{w.CustomerC, "/v1/inbox/" + offer + "/accept"}
			switch i % 3 {
			case 1:
				calls[i] = raceCall{w.ResellerC, "/v1/offers/" + offer + "/withdraw"}
			case 2:
				calls[i].path = "/v1/inbox/" + offer + "/reject"
			}
		}
		raceOne(t, round, calls)
		evs, err := eventstore.ReadStreamAll(context.Background(), ts.Store, "offer-"+offer, 0)
		if err != nil {
			t.Fatal(err)
		}
		decisions := 0
		for _, e := range evs {
			if decisionTypes[e.Type] {
				decisions++
			}
		}
		if decisions != 1 {
			t.Errorf("round %d: the log holds %d decisions of the offer, want 1", round, decisions)
		}
	}
}

// raceCall is one request of a race: an empty command by a client.
type raceCall struct {
	c    Client
	path string
}

// raceOne sends calls all at once and checks that exactly one of them won
// (2xx) and every other one was 409.
func raceOne(t *testing.T, round int, calls []raceCall) {
	t.Helper()
	start := make(chan struct{})
	statuses := make([]int, len(calls))
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, call := range calls {
		wg.Go(func() {
			<-start
			statuses[i], errs[i] = call.c.post(call.path)
		})
	}
	close(start)
	wg.Wait()

	won := 0
	for i, s := range statuses {
		switch {
		case errs[i] != nil:
			t.Fatalf("round %d client %d: %v", round, i, errs[i])
		case s >= 200 && s < 300:
			won++
		case s != http.StatusConflict:
			t.Errorf("round %d client %d: status %d, want 2xx for one and 409 for the others", round, i, s)
		}
	}
	if won != 1 {
		t.Errorf("round %d: %d clients won, want exactly 1 (statuses %v)", round, won, statuses)
	}
}
