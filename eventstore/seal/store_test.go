package seal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/seal"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

func openStore(t *testing.T) (*seal.Store, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	raw, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Config{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := seal.OpenKeys(ctx, filepath.Join(dir, "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	s := seal.New(raw, keys)
	t.Cleanup(func() { _ = s.Close() })
	return s, dir
}

func newEvent(id, typ string, v any) eventstore.NewEvent {
	data, _ := json.Marshal(v)
	return eventstore.NewEvent{ID: id, Type: typ, SchemaVersion: domain.SchemaVersion(typ), Data: data,
		Metadata: eventstore.Metadata{Actor: domain.Actor{Role: "reseller", Tenant: "r1", Subject: "t"}, OccurredAt: time.Now().UTC()}}
}

// TestStore_SealOpenErase follows a customer's texts through the store:
// sealed in the log, opened for readers, null once the key is destroyed,
// with the chain intact throughout.
func TestStore_SealOpenErase(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	const name, msg, reason = "Stadtwerke Kleinstadt", "Ihr Angebot, Herr Maier", "zu teuer für uns"
	if _, err := s.Append(ctx, "customer-c1", eventstore.NoStream, newEvent("e1", domain.TypeCustomerRegistered,
		domain.CustomerRegistered{CustomerID: "c1", ResellerID: "r1", Name: name})); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "offer-o1", eventstore.NoStream,
		newEvent("e2", domain.TypeOfferCreated, domain.OfferCreated{OfferID: "o1", ResellerID: "r1", CustomerID: "c1", TemplateID: "t1", Message: msg}),
		newEvent("e3", domain.TypeOfferDispatched, domain.OfferDispatched{OfferID: "o1", Dispatch: 1})); err != nil {
		t.Fatal(err)
	}
	// offer.rejected names no customer: the store finds it from the offer.
	if _, err := s.Append(ctx, "offer-o1", 2, newEvent("e4", domain.TypeOfferRejected,
		domain.OfferRejected{OfferID: "o1", Reason: domain.RejectionReason{Text: reason}})); err != nil {
		t.Fatal(err)
	}

	raw, err := s.Raw().ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range raw {
		for _, text := range []string{name, msg, reason} {
			if bytes.Contains(e.Data, []byte(text)) {
				t.Errorf("%s stored %q in the clear: %s", e.Type, text, e.Data)
			}
		}
	}
	opened, err := s.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	texts := func(evs []eventstore.Event) (got []any) {
		for _, e := range evs {
			var m map[string]any
			if err := json.Unmarshal(e.Data, &m); err != nil {
				t.Fatal(err)
			}
			switch e.Type {
			case domain.TypeCustomerRegistered:
				got = append(got, m["name"])
			case domain.TypeOfferCreated:
				got = append(got, m["message"])
			case domain.TypeOfferRejected:
				got = append(got, m["reason"].(map[string]any)["text"])
			}
		}
		return got
	}
	if got := texts(opened); len(got) != 3 || got[0] != name || got[1] != msg || got[2] != reason {
		t.Fatalf("opened texts = %v", got)
	}
	for i, e := range opened {
		if e.Erased {
			t.Errorf("event %d erased before the erasure", i)
		}
		stored, err := eventstore.Stored(e)
		if err != nil {
			t.Fatal(err)
		}
		if h, err := eventstore.Hash(stored); err != nil || h != e.Hash {
			t.Errorf("event %d: the data sealed patches back does not hash to the stored hash (%v)", i, err)
		}
	}

	first := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at, err := s.Keys().Destroy(ctx, "c1", first)
	if err != nil || !at.Equal(first) {
		t.Fatalf("Destroy = %v, %v", at, err)
	}
	if at, err := s.Keys().Destroy(ctx, "c1", first.Add(time.Hour)); err != nil || !at.Equal(first) {
		t.Fatalf("Destroy again = %v, %v; want the first time", at, err)
	}
	erased, err := s.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(erased); len(got) != 3 || got[0] != nil || got[1] != nil || got[2] != nil {
		t.Fatalf("texts after the erasure = %v, want nulls", got)
	}
	for i, e := range erased {
		if want := domain.PersonalTexts(e.Type) != nil; e.Erased != want {
			t.Errorf("event %d (%s): erased = %v, want %v", i, e.Type, e.Erased, want)
		}
		stored, err := eventstore.Stored(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := eventstore.VerifyChain([]eventstore.Event{stored}); err != nil && e.Version == 1 {
			t.Errorf("event %d no longer verifies after the erasure: %v", i, err)
		}
	}
	if err := eventstore.VerifyChain(erased[1:3]); err == nil {
		t.Error("the chain verified on opened data: it must only verify on the stored form")
	}
	raw2, _ := s.Raw().ReadAll(ctx, 0, 100)
	if err := eventstore.VerifyChain(raw2[1:]); err != nil {
		t.Errorf("stored chain after the erasure: %v", err)
	}

	// No text can be written for the customer any more, and no new key is
	// made for it.
	_, err = s.Append(ctx, "offer-o2", eventstore.NoStream, newEvent("e5", domain.TypeOfferCreated,
		domain.OfferCreated{OfferID: "o2", ResellerID: "r1", CustomerID: "c1", TemplateID: "t1", Message: "neu"}))
	if !errors.Is(err, domain.ErrCustomerErased) {
		t.Fatalf("append a text of an erased customer: %v, want ErrCustomerErased", err)
	}
	// An empty text is no text: it is stored as it is.
	if _, err := s.Append(ctx, "offer-o2", eventstore.NoStream, newEvent("e6", domain.TypeOfferCreated,
		domain.OfferCreated{OfferID: "o2", ResellerID: "r1", CustomerID: "c1", TemplateID: "t1"})); err != nil {
		t.Fatalf("append an empty text of an erased customer: %v", err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keys.db-wal")); err == nil {
		if b, _ := os.ReadFile(filepath.Join(dir, "keys.db-wal")); len(b) > 0 {
			t.Errorf("keys.db-wal holds %d bytes after Close", len(b))
		}
	}
}

// TestStore_ChangedCiphertextFails: a sealed text whose bytes changed is an
// error for readers, never shown as erased or as garbage.
func TestStore_ChangedCiphertextFails(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	if _, err := s.Append(ctx, "customer-c1", eventstore.NoStream, newEvent("e1", domain.TypeCustomerRegistered,
		domain.CustomerRegistered{CustomerID: "c1", ResellerID: "r1", Name: "Kunde"})); err != nil {
		t.Fatal(err)
	}
	raw, err := s.Raw().ReadAll(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(raw[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	var name map[string]string
	if err := json.Unmarshal(data["name"], &name); err != nil {
		t.Fatal(err)
	}
	ct := []byte(name["ct"])
	if ct[5] == 'A' {
		ct[5] = 'B'
	} else {
		ct[5] = 'A'
	}
	name["ct"] = string(ct)
	data["name"], _ = json.Marshal(name)
	raw[0].Data, _ = json.Marshal(data)
	if _, err := s.Open(ctx, raw[0]); err == nil {
		t.Fatal("a changed ciphertext opened")
	}
	// Moved to another event, an intact ciphertext does not open either.
	raw2, _ := s.Raw().ReadAll(ctx, 0, 10)
	raw2[0].ID = "e2"
	if _, err := s.Open(ctx, raw2[0]); err == nil {
		t.Fatal("a ciphertext opened in another event")
	}
}

// TestStore_PlainTextsOfOldEvents: events stored before texts were sealed
// read as they are.
func TestStore_PlainTextsOfOldEvents(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	if _, err := s.Raw().Append(ctx, "customer-c1", eventstore.NoStream, newEvent("e1", domain.TypeCustomerRegistered,
		domain.CustomerRegistered{CustomerID: "c1", ResellerID: "r1", Name: "Altkunde"})); err != nil {
		t.Fatal(err)
	}
	evs, err := s.ReadAll(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(evs[0].Data, []byte(`"name":"Altkunde"`)) || evs[0].Sealed != nil || evs[0].Erased {
		t.Fatalf("old event read as %s (sealed %s, erased %v)", evs[0].Data, evs[0].Sealed, evs[0].Erased)
	}
}

// TestStore_ReadAllFromTheTail: followers reading the log page by page,
// while it grows, get what each would get reading and opening it alone
// (the store serves the newest events from what earlier reads opened), and
// a key destroyed after a read is never shown opened again.
func TestStore_ReadAllFromTheTail(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	appendOffer := func(i int, customer string) {
		t.Helper()
		id := fmt.Sprintf("o%d", i)
		if _, err := s.Append(ctx, "offer-"+id, eventstore.NoStream,
			newEvent("c-"+id, domain.TypeOfferCreated, domain.OfferCreated{OfferID: domain.OfferID(id), ResellerID: "r1",
				CustomerID: domain.CustomerID(customer), TemplateID: "t1", Message: "message " + id}),
			newEvent("d-"+id, domain.TypeOfferDispatched, domain.OfferDispatched{OfferID: domain.OfferID(id), Dispatch: 1})); err != nil {
			t.Fatal(err)
		}
	}
	want := func() []eventstore.Event { return openedLog(t, s) }
	// follow reads the whole log after 0 in pages of limit.
	follow := func(limit int) []eventstore.Event {
		t.Helper()
		var got []eventstore.Event
		after := uint64(0)
		for {
			page, err := s.ReadAll(ctx, after, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit {
				t.Fatalf("ReadAll(%d, %d) returned %d events", after, limit, len(page))
			}
			if len(page) == 0 {
				return got
			}
			got = append(got, page...)
			after = page[len(page)-1].Position
		}
	}
	for i := range 25 {
		appendOffer(i, fmt.Sprintf("c%d", i%3))
		// Followers at different paces, each from the start.
		for _, limit := range []int{1, 3, 7, 64} {
			if diff := cmp.Diff(want(), follow(limit)); diff != "" {
				t.Fatalf("after offer %d, pages of %d (-alone +followed):\n%s", i, limit, diff)
			}
		}
	}
	if _, err := s.Keys().Destroy(ctx, "c1", time.Now()); err != nil {
		t.Fatal(err)
	}
	got := follow(16)
	if diff := cmp.Diff(want(), got); diff != "" {
		t.Fatalf("after the erasure (-alone +followed):\n%s", diff)
	}
	erased := 0
	for _, e := range got {
		if e.Type != domain.TypeOfferCreated {
			continue
		}
		var d domain.OfferCreated
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		if d.CustomerID == "c1" {
			erased++
			if d.Message != "" || !e.Erased {
				t.Errorf("offer of the erased customer read as %s", e.Data)
			}
		}
	}
	if erased == 0 {
		t.Fatal("no offer of the erased customer read")
	}
}

// TestStore_ReadAllConcurrently: followers reading while writers append see
// every event once, in order, opened (run it with -race).
func TestStore_ReadAllConcurrently(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	const writers, offers, followers = 4, 30, 6
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range offers {
				id := fmt.Sprintf("o%d-%d", w, i)
				if _, err := s.Append(ctx, "offer-"+id, eventstore.NoStream, newEvent("c-"+id, domain.TypeOfferCreated,
					domain.OfferCreated{OfferID: domain.OfferID(id), ResellerID: "r1", CustomerID: "c1", TemplateID: "t1", Message: "m " + id})); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	results := make([][]eventstore.Event, followers)
	for f := range followers {
		wg.Go(func() {
			after := uint64(0)
			for len(results[f]) < writers*offers {
				page, err := s.ReadAll(ctx, after, 1+f*5)
				if err != nil {
					t.Error(err)
					return
				}
				for _, e := range page {
					if e.Position <= after {
						t.Errorf("follower %d: position %d after %d", f, e.Position, after)
						return
					}
					after = e.Position
				}
				results[f] = append(results[f], page...)
			}
		})
	}
	wg.Wait()
	want := openedLog(t, s)
	for f, got := range results {
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("follower %d (-log +followed):\n%s", f, diff)
		}
	}
}

// TestStore_ReadAllAtTheHead: the followers woken by an append read it
// from the log once between them; the others find it kept, and since it
// reaches the head the log knows, they do not ask the log for the rest of
// their page. An append through another handle of the file (another
// process), which this one does not know of yet, is missed by none of
// them: Wait looks at the file, and the next read goes to it.
func TestStore_ReadAllAtTheHead(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "events.db")
	raw, err := sqlite.Open(ctx, path, sqlite.Config{Synchronous: "NORMAL", PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := seal.OpenKeys(ctx, filepath.Join(dir, "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := &countingLog{Store: raw}
	s := seal.New(log, keys)
	t.Cleanup(func() { _ = s.Close() })

	offer := func(store eventstore.Store, id string) uint64 {
		t.Helper()
		res, err := store.Append(ctx, "offer-"+id, eventstore.NoStream,
			newEvent("c-"+id, domain.TypeOfferCreated, domain.OfferCreated{OfferID: domain.OfferID(id), ResellerID: "r1",
				CustomerID: "c1", TemplateID: "t1", Message: "message " + id}),
			newEvent("d-"+id, domain.TypeOfferDispatched, domain.OfferDispatched{OfferID: domain.OfferID(id), Dispatch: 1}))
		if err != nil {
			t.Fatal(err)
		}
		return res.Position
	}
	const followers = 5
	after := make([]uint64, followers)
	read := func(f int) []eventstore.Event {
		t.Helper()
		page, err := s.ReadAll(ctx, after[f], 256)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 0 {
			after[f] = page[len(page)-1].Position
		}
		return page
	}
	for i := range 3 {
		head := offer(s, fmt.Sprintf("o%d", i))
		before := log.reads.Load()
		for f := range followers {
			if page := read(f); len(page) == 0 || page[len(page)-1].Position != head {
				t.Fatalf("append %d: follower %d read %d events up to %v, want up to %d", i, f, len(page), page, head)
			}
		}
		if n := log.reads.Load() - before; n != 1 {
			t.Errorf("append %d: %d followers read the log %d times, want once", i, followers, n)
		}
	}

	// Another process appends: a follower waiting at the head is woken
	// by a look at the file (its own, or the poller's when the head was
	// committed a moment ago), and reads the event from the log.
	other, err := sqlite.Open(ctx, path, sqlite.Config{Synchronous: "NORMAL", PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	head, err := other.Append(ctx, "template-t2", eventstore.NoStream, newEvent("t2", "template.created", map[string]string{"name": "t2"}))
	if err != nil {
		t.Fatal(err)
	}
	for f := range followers {
		if err := s.Wait(ctx, after[f]); err != nil {
			t.Fatalf("follower %d: Wait after %d: %v", f, after[f], err)
		}
		if page := read(f); len(page) != 1 || page[0].Position != head.Position {
			t.Fatalf("follower %d read %v after another process's append, want the event at %d", f, page, head.Position)
		}
	}
}

// countingLog counts the reads of the log under a seal.Store.
type countingLog struct {
	*sqlite.Store
	reads atomic.Int64
}

func (l *countingLog) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.Event, error) {
	l.reads.Add(1)
	return l.Store.ReadAll(ctx, after, limit)
}

// openedLog is s's log read and opened in one go, bypassing the tail.
func openedLog(t *testing.T, s *seal.Store) []eventstore.Event {
	t.Helper()
	ctx := context.Background()
	raw, err := s.Raw().ReadAll(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		if raw[i], err = s.Open(ctx, raw[i]); err != nil {
			t.Fatal(err)
		}
	}
	return raw
}

// TestStore_ErasureByAnotherNode: two nodes share the log and the key
// store, each with its own cache. A key destroyed by one is forgotten by
// the other as soon as it reads the customer.erased that follows: its
// readers show the texts as erased, its writers refuse new ones, though
// its cache held the key.
func TestStore_ErasureByAnotherNode(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	raw, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Config{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	node := func() *seal.Store {
		keys, err := seal.OpenKeys(ctx, filepath.Join(dir, "keys.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = keys.Close() })
		return seal.New(raw, keys) // never closed: raw is shared
	}
	a, b := node(), node()
	if _, err := a.Append(ctx, "offer-o1", eventstore.NoStream, newEvent("e1", domain.TypeOfferCreated,
		domain.OfferCreated{OfferID: "o1", ResellerID: "r1", CustomerID: "c1", TemplateID: "t1", Message: "Grüße"})); err != nil {
		t.Fatal(err)
	}
	message := func(s *seal.Store) (string, bool) {
		t.Helper()
		evs, err := s.ReadStream(ctx, "offer-o1", 0, 1)
		if err != nil || len(evs) != 1 {
			t.Fatalf("read the offer: %v, %v", evs, err)
		}
		var d domain.OfferCreated
		if err := json.Unmarshal(evs[0].Data, &d); err != nil {
			t.Fatal(err)
		}
		return d.Message, evs[0].Erased
	}
	// Both nodes hold the key now, and a's tail holds the text opened.
	for _, s := range []*seal.Store{a, b} {
		if msg, erased := message(s); msg != "Grüße" || erased {
			t.Fatalf("before the erasure: %q, erased %v", msg, erased)
		}
	}
	if evs, err := a.ReadAll(ctx, 0, 10); err != nil || len(evs) != 1 {
		t.Fatalf("a reads the log: %v, %v", evs, err)
	}

	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := b.Keys().Destroy(ctx, "c1", at); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, "customer-c1", eventstore.NoStream, newEvent("e2", domain.TypeCustomerErased,
		domain.CustomerErased{CustomerID: "c1", At: at})); err != nil {
		t.Fatal(err)
	}
	// a has not read the log since: its cache still opens the text (the
	// window docs/audit.md describes).
	if msg, _ := message(a); msg != "Grüße" {
		t.Fatalf("a before reading the erasure: %q", msg)
	}
	evs, err := a.ReadAll(ctx, 0, 10)
	if err != nil || len(evs) != 2 {
		t.Fatalf("a reads the log: %v, %v", evs, err)
	}
	if !evs[0].Erased {
		t.Errorf("the offer read in the same page as the erasure: %s, want erased", evs[0].Data)
	}
	if msg, erased := message(a); msg != "" || !erased {
		t.Fatalf("a after reading the erasure: %q, erased %v; want erased", msg, erased)
	}
	if evs, err := a.ReadAll(ctx, 0, 10); err != nil || len(evs) != 2 || !evs[0].Erased {
		t.Fatalf("a reads the log again: %v, %v; want the offer erased", evs, err)
	}
	_, err = a.Append(ctx, "offer-o2", eventstore.NoStream, newEvent("e3", domain.TypeOfferCreated,
		domain.OfferCreated{OfferID: "o2", ResellerID: "r1", CustomerID: "c1", TemplateID: "t1", Message: "neu"}))
	if !errors.Is(err, domain.ErrCustomerErased) {
		t.Fatalf("a appends a text of the erased customer: %v, want ErrCustomerErased", err)
	}
}
