package http_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseEvent is one message of an event stream; Comment is set for comment
// lines.
type sseEvent struct {
	ID, Event, Data, Comment string
}

// sse is an open event stream.
type sse struct {
	events chan sseEvent
	cancel context.CancelFunc
	resp   *http.Response
	lastID string
}

// openStream opens /v1/stream for c, resuming after lastID when it is set.
// A cookie-holding client is used when cookie is true.
func openStream(tb testing.TB, c Client, lastID string, cookie bool) *sse {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", c.ts.URL()+"/v1/stream", nil)
	if err != nil {
		tb.Fatal(err)
	}
	if cookie {
		req.AddCookie(&http.Cookie{Name: "offerflow_session", Value: c.Token})
	} else {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		tb.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sse{events: make(chan sseEvent, 100), cancel: cancel, resp: resp}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev != (sseEvent{}) {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.Comment = strings.TrimSpace(line[1:])
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Data = line[6:]
			}
		}
	}()
	tb.Cleanup(s.Close)
	return s
}

func (s *sse) Close() {
	s.cancel()
	_ = s.resp.Body.Close()
}

// next returns the next event (not comment) for which match is true,
// failing after timeout; events passed over are dropped.
func (s *sse) next(tb testing.TB, what string, match func(sseEvent, map[string]any) bool) (sseEvent, map[string]any) {
	tb.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				tb.Fatalf("stream closed while waiting for %s", what)
			}
			if ev.ID != "" {
				s.lastID = ev.ID
			}
			if ev.Event == "" {
				continue
			}
			var data map[string]any
			if err := json.Unmarshal([]byte(ev.Data), &data); err != nil {
				tb.Fatalf("event data %q: %v", ev.Data, err)
			}
			if match(ev, data) {
				return ev, data
			}
		case <-timeout:
			tb.Fatalf("timed out waiting for %s", what)
		}
	}
}

// offerEvent matches an `offer` event of offer with status (any when "").
func offerEvent(offer, status string) func(sseEvent, map[string]any) bool {
	return func(ev sseEvent, d map[string]any) bool {
		return ev.Event == "offer" && d["offer_id"] == offer && (status == "" || d["status"] == status)
	}
}

// badgeEvent matches a `badge` event with the given unread count.
func badgeEvent(n float64) func(sseEvent, map[string]any) bool {
	return func(ev sseEvent, d map[string]any) bool {
		return ev.Event == "badge" && d["admin"] == n && d["updates"] == n
	}
}

// mustEventID returns the log position an SSE event's id names, failing the
// test when the id is no position.
func mustEventID(tb testing.TB, ev sseEvent) uint64 {
	tb.Helper()
	pos, err := strconv.ParseUint(ev.ID, 10, 64)
	if err != nil || pos == 0 {
		tb.Fatalf("event id %q is not a log position", ev.ID)
	}
	return pos
}

func TestStream(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	ts.Settle(t)

	reseller := openStream(t, w.ResellerC, "", false)
	other := openStream(t, w.OtherResellerC, "", false)
	customer := openStream(t, w.CustomerC, "", true)
	sibling := openStream(t, w.SiblingCustomerC, "", false)
	customer.next(t, "the initial badge", badgeEvent(1))

	offer := w.ResellerC.SendOffer(t, w.Customer, w.Template, "live")
	ev, _ := reseller.next(t, "offer waiting", offerEvent(offer, "waiting"))
	first := mustEventID(t, ev)
	ev, _ = reseller.next(t, "offer delivered", offerEvent(offer, "waiting_for_confirmation"))
	if second := mustEventID(t, ev); second <= first {
		t.Fatalf("event ids %d then %d: not log positions in order", first, second)
	}
	customer.next(t, "the offer in the inbox", offerEvent(offer, "waiting_for_confirmation"))
	badge, _ := customer.next(t, "the badge at 2", badgeEvent(2))
	if badge.ID == "" {
		t.Fatal("a badge event without id")
	}

	// Reading sends the badge down; the reseller hears no status change.
	w.CustomerC.Must(t, 204, "POST", "/v1/inbox/"+offer+"/read", nil)
	customer.next(t, "the read", func(ev sseEvent, d map[string]any) bool { return ev.Event == "offer" && d["read"] == true })
	customer.next(t, "the badge at 1", badgeEvent(1))

	// Resume: events while disconnected arrive after reconnecting.
	customer.Close()
	w.ResellerC.Must(t, 200, "POST", "/v1/offers/"+offer+"/withdraw", nil)
	resumed := openStream(t, w.CustomerC, customer.lastID, false)
	resumed.next(t, "the withdrawal missed while away", offerEvent(offer, "withdrawn"))
	resumed.next(t, "the badge after the withdrawal", badgeEvent(1))
	reseller.next(t, "the withdrawal", offerEvent(offer, "withdrawn"))

	// Tenants hear only their own: a marker offer of the other reseller and
	// a delivery to the sibling come after everything above, so events of
	// A would have arrived before them.
	ot := w.OtherResellerC.CreateTemplate(t, "Marker")
	p := w.OtherResellerC.CreateProduct(t, "Marker product", 1)
	w.OtherResellerC.AddItem(t, ot, p, 1)
	marker := w.OtherResellerC.SendOffer(t, w.ForeignCustomer, ot, "")
	other.next(t, "the other reseller's own offer", func(ev sseEvent, d map[string]any) bool {
		if ev.Event == "offer" && d["offer_id"] != marker {
			t.Fatalf("reseller B heard about %v", d)
		}
		return d["offer_id"] == marker
	})
	siblingOffer := w.ResellerC.SendOffer(t, w.SiblingCustomer, w.Template, "")
	sibling.next(t, "the sibling's own offer", func(ev sseEvent, d map[string]any) bool {
		if ev.Event == "offer" && d["offer_id"] != siblingOffer {
			t.Fatalf("the sibling customer heard about %v", d)
		}
		return ev.Event == "offer" && d["offer_id"] == siblingOffer
	})

	// A Last-Event-ID past the head was never served: the stream resumes
	// from the head instead of failing, and new events still arrive.
	ahead := openStream(t, w.ResellerC, "999999999", false)
	later := w.ResellerC.SendOffer(t, w.Customer, w.Template, "after a bogus id")
	ahead.next(t, "an offer after resuming past the head", offerEvent(later, "waiting"))
}

func TestStream_Heartbeat(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.Heartbeat = 50 * time.Millisecond; o.NoProcesses = true })
	_, r := ts.NewReseller(t, "R")
	s := openStream(t, r, "", false)
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-s.events:
			if ev.Comment == "heartbeat" {
				return
			}
		case <-deadline:
			t.Fatal("no heartbeat")
		}
	}
}

// TestStream_Shutdown checks that open streams do not hold up a shutdown.
func TestStream_Shutdown(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	_, r := ts.NewReseller(t, "R")
	s := openStream(t, r, "", false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an open stream: %v", err)
	}
	for range s.events {
	}
}
