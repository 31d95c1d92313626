package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore/faultstore"
)

// TestErasure_Interrupted breaks an erasure off where a crash would: after
// the customer's key was destroyed and before customer.erased is in the log
// (fail-before), or after the event committed but before the rest of the
// erasure ran (fail-after). At the next start serve completes it: the
// customer reads as erased with the time its key was destroyed, the reply
// kept for an Idempotency-Key (which held the offer's message) is gone, a
// repeated POST /v1/customers/{id}/erase answers 200 with that time, the
// log holds one customer.erased, no file of the data directory holds a
// text of the customer, and verify passes.
func TestErasure_Interrupted(t *testing.T) {
	for _, fault := range []faultstore.Fault{faultstore.FailBefore, faultstore.FailAfter} {
		t.Run(fault.String(), func(t *testing.T) {
			dir := t.TempDir()
			const opToken = "ofr_erasure-crash-test-operator-token-0123456789"
			const (
				name = "Zyxwvu Interrupted Kundin GmbH"
				ref  = "REF-Crashpoint-0815"
				msg  = "Msg-Crashpoint-Plughxyzzy for Frau Interrupted"
			)
			secrets := []string{name, ref, msg}
			s := MustServe(t, dir, "--operator-token", opToken)
			op := apiClient{t, s.url, opToken}
			res, tid := op.newReseller("Lernwerk")
			c, _ := res.must(201, "POST", "/v1/customers", map[string]string{"name": name, "external_ref": ref})
			cid := c["id"].(string)
			offer := map[string]string{"template_id": tid, "message": msg}
			idemKey := []string{"Idempotency-Key", "interrupted-erasure-offer"}
			o, _ := res.must(202, "POST", "/v1/customers/"+cid+"/offers", offer, idemKey...)
			if _, b, _ := res.do("POST", "/v1/customers/"+cid+"/offers", offer, idemKey...); !strings.Contains(string(b), msg) {
				t.Fatalf("before the erasure the replay should hold the message (else the check below cannot fail): %s", b)
			}
			res.waitStatus(o["id"].(string), "waiting_for_confirmation")
			s.stop(t)

			// The operator's erasure, through the stores as serve opens
			// them, with the log failing the customer.erased append.
			destroyed := interruptErasure(t, dir, cid, fault)
			if found := scanDir(t, dir, secrets); len(found) == 0 {
				t.Fatal("before the restart the read models should still hold the texts (else the scan below cannot fail)")
			}

			s = MustServe(t, dir, "--operator-token", opToken)
			op = apiClient{t, s.url, opToken}
			res.url = s.url
			var cust map[string]any
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if cust, _ = res.must(200, "GET", "/v1/customers/"+cid, nil); cust["erased"] == true {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after the restart the customer is not erased: %v", cust)
				}
			}
			if cust["name"] != nil || cust["external_ref"] != nil {
				t.Errorf("erased customer: %v", cust)
			}
			// Before any erasure request of this run: the completion at the
			// start must have dropped the reply by itself.
			if status, b, _ := res.do("POST", "/v1/customers/"+cid+"/offers", offer, idemKey...); strings.Contains(string(b), msg) {
				t.Errorf("the Idempotency-Key reply still holds the message: %d %s", status, b)
			}
			for _, c := range []apiClient{res, op} {
				e, _ := c.must(200, "POST", "/v1/customers/"+cid+"/erase", nil)
				if at, err := time.Parse(time.RFC3339Nano, e["erased_at"].(string)); err != nil || !at.Equal(destroyed) {
					t.Errorf("erase again: erased_at %v, want the key's destruction %v", e["erased_at"], destroyed)
				}
			}
			if _, b, _ := res.do("GET", "/v1/offers/"+o["id"].(string), nil); strings.Contains(string(b), msg) {
				t.Errorf("the offer still shows its message: %s", b)
			}
			s.stop(t)

			if found := scanDir(t, dir, secrets); len(found) > 0 {
				t.Errorf("after the completed erasure the data directory holds: %v", found)
			}
			export, errOut, code := runCLI("export", "--data", dir)
			if code != 0 {
				t.Fatalf("export: exit %d: %s", code, errOut)
			}
			if n := strings.Count(export, `"type":"customer.erased"`); n != 1 {
				t.Errorf("the log holds %d customer.erased, want 1", n)
			}
			if out, errOut, code := runCLI("verify", "--data", dir); code != 0 || !strings.Contains(out, "log ok") {
				t.Errorf("verify: exit %d\n%s\n%s", code, out, errOut)
			}
		})
	}
}

// interruptErasure runs the operator's erasure of customer on the data
// directory with the customer.erased append disturbed by fault, and
// returns the time the customer's key was destroyed.
func interruptErasure(t *testing.T, dir, customer string, fault faultstore.Fault) time.Time {
	t.Helper()
	ctx := context.Background()
	sf := storeFlags{data: dir}
	raw, err := sf.openLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	faults := faultstore.New(raw, faultstore.Rule{Fault: fault, Type: domain.TypeCustomerErased})
	sealed, err := sf.seal(ctx, faults)
	if err != nil {
		_ = raw.Close()
		t.Fatal(err)
	}
	defer sealed.Close()
	svc := command.NewService(command.NewHandler(sealed, command.Config{})).WithKeys(sealed.Keys())
	operator := command.Meta{Actor: domain.Actor{Role: domain.RoleOperator, Tenant: "*", Subject: "operator"}}
	if _, _, err := svc.EraseCustomer(ctx, operator, domain.CustomerID(customer)); !errors.Is(err, faultstore.ErrInjected) {
		t.Fatalf("erasure with %s: %v, want the injected fault", fault, err)
	}
	pending, err := sealed.Keys().Unrecorded(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at, ok := pending[customer]
	if len(pending) != 1 || !ok {
		t.Fatalf("unrecorded erasures %+v, want the customer's", pending)
	}
	return at
}
