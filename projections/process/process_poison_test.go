package process_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/seal"
	"github.com/offerflow/offerflow/projections/process"
)

// useProcessFile makes the managers of e keep their tables in a file
// opened as serve opens processes.db, and returns its path.
func useProcessFile(t *testing.T, e *processEnv) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "processes.db")
	db, err := process.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	e.db = db
	return path
}

// fileHolds reports which of the SQLite files of the database at path
// (the file, its write-ahead log, its journal) contain text.
func fileHolds(t *testing.T, path, text string) []string {
	t.Helper()
	var in []string
	for _, p := range []string{path, path + "-wal", path + "-journal"} {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(text)) {
			in = append(in, filepath.Base(p))
		}
	}
	return in
}

// appendPoisonedOffer appends, through the sealing store, an offer.created
// of customer with message that the expiry and reminder managers cannot
// decode (expires_at is not a time), and returns its id.
func appendPoisonedOffer(t *testing.T, store eventstore.Store, e *processEnv, customer, message string) string {
	t.Helper()
	offer := uuid.NewString()
	data, err := json.Marshal(map[string]any{"offer_id": offer, "reseller_id": e.reseller.Tenant, "customer_id": customer,
		"template_id": string(e.template), "items": []any{}, "message": message, "expires_at": "some day", "at": time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	ev := eventstore.NewEvent{ID: uuid.NewString(), Type: domain.TypeOfferCreated, SchemaVersion: 1, Data: data,
		Metadata: eventstore.Metadata{Actor: e.reseller, OccurredAt: time.Now().UTC()}}
	if _, err := store.Append(context.Background(), domain.OfferStream(domain.OfferID(offer)), eventstore.NoStream, ev); err != nil {
		t.Fatal(err)
	}
	return ev.ID
}

// openedMessage opens the message of a poisoned offer.created with the
// sealing store, as an operator's tool would.
func openedMessage(t *testing.T, store *seal.Store, m process.PoisonedMessage) (msg *string, erased bool) {
	t.Helper()
	ev, err := store.Open(context.Background(), eventstore.Event{ID: m.EventID, Type: m.EventType, Stream: m.Stream,
		Position: m.Position, Data: m.Payload})
	if err != nil {
		t.Fatalf("open the payload of %s: %v", m.EventID, err)
	}
	var data struct {
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(ev.Data, &data); err != nil {
		t.Fatal(err)
	}
	return data.Message, ev.Erased
}

// The poison queue keeps a customer's texts sealed, as the log does: an
// erasure makes them unreadable there, and processes.db never holds them
// in clear, neither while the managers run nor after they stop.
func TestPoison_CustomersTextsSealed(t *testing.T) {
	ctx := context.Background()
	keys, err := seal.OpenKeys(ctx, filepath.Join(t.TempDir(), "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	var sealed *seal.Store
	e := newProcessEnv(t, nil, func(s eventstore.Store) eventstore.Store {
		sealed = seal.New(s, keys)
		return sealed
	})
	t.Cleanup(func() { _ = sealed.Keys().Close() })
	e.svc.WithKeys(sealed.Keys())
	path := useProcessFile(t, e)
	kept, _, err := e.svc.RegisterCustomer(ctx, command.Meta{Actor: e.reseller}, "Customer Two", "")
	if err != nil {
		t.Fatal(err)
	}

	p, stop := e.startStoppable(t, fastRetries(3))
	const erasedText, keptText = "poisoned-message-of-the-erased-7Qx", "poisoned-message-of-the-kept-3Zr"
	erasedID := appendPoisonedOffer(t, sealed, e, e.customer.Tenant, erasedText)
	keptID := appendPoisonedOffer(t, sealed, e, string(kept.ID()), keptText)
	byEvent := func() map[string][]process.PoisonedMessage {
		list, err := p.Poisoned(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]process.PoisonedMessage{}
		for _, m := range list {
			out[m.EventID] = append(out[m.EventID], m)
		}
		return out
	}
	// Both the expiry and the reminder managers give up on each.
	processWait(t, eventually, func() bool { b := byEvent(); return len(b[erasedID]) == 2 && len(b[keptID]) == 2 },
		"both offers to be set aside by two managers")
	for _, text := range []string{erasedText, keptText} {
		if in := fileHolds(t, path, text); len(in) > 0 {
			t.Errorf("%q in clear in %v while the managers run", text, in)
		}
	}
	// The payload is the stored form: the sealing store opens it.
	b := byEvent()
	for _, m := range append(b[erasedID], b[keptID]...) {
		want := erasedText
		if m.EventID == keptID {
			want = keptText
		}
		if msg, erased := openedMessage(t, sealed, m); msg == nil || *msg != want || erased {
			t.Errorf("%s of %s opens to %v (erased %v), want %q", m.EventID, m.Handler, msg, erased, want)
		}
		if !strings.Contains(string(m.Payload), `"offer_id"`) || !strings.Contains(m.Reason, "decode") {
			t.Errorf("poisoned message = %+v, want the event's other fields and the reason", m)
		}
	}

	if _, _, err := e.svc.EraseCustomer(ctx, command.Meta{Actor: domain.Actor{Role: domain.RoleOperator, Subject: "op"}},
		domain.CustomerID(e.customer.Tenant)); err != nil {
		t.Fatal(err)
	}
	b = byEvent()
	for _, m := range b[erasedID] {
		if msg, erased := openedMessage(t, sealed, m); msg != nil || !erased {
			t.Errorf("after the erasure %s of %s opens to %q (erased %v), want null", m.EventID, m.Handler, m.Payload, erased)
		}
	}
	for _, m := range b[keptID] {
		if msg, _ := openedMessage(t, sealed, m); msg == nil || *msg != keptText {
			t.Errorf("the other customer's %s of %s opens to %v, want %q", m.EventID, m.Handler, msg, keptText)
		}
	}

	stop()
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{erasedText, keptText} {
		if in := fileHolds(t, path, text); len(in) > 0 {
			t.Errorf("%q in clear in %v after the managers stopped", text, in)
		}
	}
}

// poisonDDLv1 is process_poison as the versions that kept texts in clear
// made it.
const poisonDDLv1 = `CREATE TABLE process_poison (
	handler TEXT NOT NULL, event_id TEXT NOT NULL, event_type TEXT NOT NULL, stream TEXT NOT NULL,
	position INTEGER NOT NULL, reason TEXT NOT NULL, payload BLOB NOT NULL, metadata TEXT NOT NULL,
	count INTEGER NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
	PRIMARY KEY (handler, event_id))`

// A processes.db that earlier versions wrote, texts in clear in the poison
// queue (some of them only in its write-ahead log, some left over in the
// free space of its pages by the records' updates), is scrubbed at start:
// no text is left in any byte, the records stay with everything else.
func TestPoison_TextsInClearScrubbedAtStart(t *testing.T) {
	ctx := context.Background()
	e := newProcessEnv(t, nil)
	path := filepath.Join(t.TempDir(), "processes.db")
	const message, reason, later = "old-message-in-clear-9Kd", "old-reason-in-clear-4Tb", "old-message-in-the-wal-2Wm"
	// A message of the longest kind (2,000 code points, 3 bytes each)
	// spills into overflow pages, which an UPDATE frees whole: without
	// secure_delete their bytes stay in the file's free list.
	const long = "old-long-message-in-overflow-8Vn"
	longMessage := strings.Repeat("€", domain.MaxMessageLen-len(long)) + long
	old, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	old.SetMaxOpenConns(1)
	created := `{"customer_id":"c1","expires_at":"some day","message":"` + message + `","offer_id":"o1"}`
	rejected := `{"offer_id":"o2","reason":{"code":"price","text":"` + reason + `"}}`
	dispatched := `{"dispatch":1,"offer_id":"o3"}`
	for _, q := range []string{poisonDDLv1,
		`INSERT INTO process_poison VALUES ('process.expiry', 'e1', 'offer.created', 'offer-o1', 1, 'decode', '` + created + `', '{}', 1, 1, 1)`,
		`INSERT INTO process_poison VALUES ('process.reminder', 'e2', 'offer.rejected', 'offer-o2', 2, 'decode', '` + rejected + `', '{}', 1, 1, 1)`,
		`INSERT INTO process_poison VALUES ('process.expiry', 'e5', 'offer.created', 'offer-o5', 5, 'decode', '{"message":"` + longMessage + `"}', '{}', 1, 1, 1)`,
		`INSERT INTO process_poison VALUES ('process.delivery', 'e3', 'offer.dispatched', 'offer-o3', 3, 'decode', '` + dispatched + `', '{}', 1, 1, 1)`,
		// Set aside again after restarts: each update moves the record,
		// leaving its old bytes in the page's free space.
		`UPDATE process_poison SET reason = 'decode: a longer reason than before', count = 2 WHERE event_id = 'e1'`,
		`UPDATE process_poison SET reason = 'decode: and a longer reason still, set aside a third time', count = 3 WHERE event_id = 'e1'`,
	} {
		if _, err := old.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Checkpointed into the file; then one more record stays in the
	// write-ahead log only, as after a crash.
	if _, err := old.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`INSERT INTO process_poison VALUES ('process.expiry', 'e4', 'offer.superseded', 'offer-o4', 4, 'decode', '{"message":"` + later + `"}', '{}', 1, 1, 1)`); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{message, reason, later, long} {
		if len(fileHolds(t, path, text)) == 0 {
			t.Fatalf("the test's old file does not hold %q", text)
		}
	}

	db, err := process.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e.db = db
	p := e.start(t, process.ProcessConfig{})
	for _, text := range []string{message, reason, later, long} {
		if in := fileHolds(t, path, text); len(in) > 0 {
			t.Errorf("%q still in %v after the start", text, in)
		}
	}
	list, err := p.Poisoned(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"e1": `{"customer_id":"c1","expires_at":"some day","message":null,"offer_id":"o1"}`,
		"e2": `{"offer_id":"o2","reason":{"code":"price","text":null}}`,
		"e3": dispatched,
		"e4": `{"message":null}`,
		"e5": `{"message":null}`,
	}
	if len(list) != len(want) {
		t.Fatalf("%d poisoned messages after the scrub, want %d: %+v", len(list), len(want), list)
	}
	for _, m := range list {
		if string(m.Payload) != want[m.EventID] {
			t.Errorf("payload of %s = %s, want %s", m.EventID, m.Payload, want[m.EventID])
		}
		if m.EventID == "e1" && (m.Count != 3 || !strings.Contains(m.Reason, "third time")) {
			t.Errorf("e1 = %+v, want its count and reason kept", m)
		}
	}
	var owed int
	if err := db.QueryRow(`SELECT COUNT(*) FROM process_poison_wipe`).Scan(&owed); err != nil || owed != 0 {
		t.Errorf("%d vacuums owed (%v), want none", owed, err)
	}
}
