package http_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

func TestIdempotencyKey(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	_, r := ts.NewReseller(t, "R")
	_, other := ts.NewReseller(t, "Other")

	first := r.Must(t, 201, "POST", "/v1/templates", `{"name":"Onboarding"}`, "Idempotency-Key", "k1")
	head := ts.Head(t)

	t.Run("ReplayOfJSONEqualBody", func(t *testing.T) {
		again := r.Must(t, 201, "POST", "/v1/templates", "{ \"name\" : \"Onboarding\" }\n", "Idempotency-Key", "k1")
		if !bytes.Equal(again.Body, first.Body) {
			t.Fatalf("replayed body %s, want %s", again.Body, first.Body)
		}
		for _, h := range []string{"ETag", "X-Log-Position", "Location", "Content-Type"} {
			if again.Header.Get(h) != first.Header.Get(h) || first.Header.Get(h) == "" {
				t.Errorf("%s: replayed %q, first %q", h, again.Header.Get(h), first.Header.Get(h))
			}
		}
		if again.Header.Get("Idempotency-Replayed") != "true" {
			t.Error("a replay is not marked as one")
		}
		if ts.Head(t) != head {
			t.Fatal("a replay wrote to the log")
		}
	})
	t.Run("ErrDifferentBody", func(t *testing.T) {
		got := r.Do(t, "POST", "/v1/templates", `{"name":"Other"}`, "Idempotency-Key", "k1")
		if got.Status != 422 || got.Code() != "idempotency_key_reused" {
			t.Fatalf("got %s", got)
		}
		if ts.Head(t) != head {
			t.Fatal("a refused reuse wrote to the log")
		}
	})
	t.Run("ScopedToPathAndTenant", func(t *testing.T) {
		r.Must(t, 201, "POST", "/v1/customers", `{"name":"Onboarding"}`, "Idempotency-Key", "k1")
		theirs := other.Must(t, 201, "POST", "/v1/templates", `{"name":"Onboarding"}`, "Idempotency-Key", "k1")
		if bytes.Equal(theirs.Body, first.Body) {
			t.Fatal("another tenant got the first tenant's response")
		}
	})
	t.Run("ErrorsAreNotStored", func(t *testing.T) {
		r.Must(t, 422, "POST", "/v1/templates", `{"name":""}`, "Idempotency-Key", "k2")
		r.Must(t, 201, "POST", "/v1/templates", `{"name":"Second"}`, "Idempotency-Key", "k2")
	})
	t.Run("MalformedBeforeReuse", func(t *testing.T) {
		if got := r.Do(t, "POST", "/v1/templates", `{"name":"Onboarding","x":1}`, "Idempotency-Key", "k1"); got.Status != 400 {
			t.Fatalf("got %s, want 400", got)
		}
	})
	t.Run("ConcurrentRequestsCreateOnce", func(t *testing.T) {
		before := ts.Head(t)
		var wg sync.WaitGroup
		results := make(chan Response, 8)
		for range 8 {
			wg.Go(func() { results <- r.Do(t, "POST", "/v1/templates", `{"name":"Race"}`, "Idempotency-Key", "k3") })
		}
		wg.Wait()
		close(results)
		var body []byte
		for got := range results {
			switch {
			case got.Status == 201 && body == nil:
				body = got.Body
			case got.Status == 201:
				if !bytes.Equal(got.Body, body) {
					t.Fatalf("two different creations: %s and %s", body, got.Body)
				}
			case got.Status == 409 && got.Code() == "idempotency_in_progress":
			default:
				t.Fatalf("got %s", got)
			}
		}
		// One creation appends two events: the name's reservation and
		// template.created; a second creation would append at least two more.
		if n := ts.Head(t) - before; n != 2 {
			t.Fatalf("%d events written, want the 2 of one creation", n)
		}
	})
	t.Run("TokensReplayedButNeverStoredInTheClear", func(t *testing.T) {
		op := ts.Operator()
		body := map[string]string{"role": "auditor", "tenant": "*"}
		first := op.Must(t, 201, "POST", "/v1/tokens", body, "Idempotency-Key", "tok")
		again := op.Must(t, 201, "POST", "/v1/tokens", body, "Idempotency-Key", "tok")
		if !bytes.Equal(first.Body, again.Body) {
			t.Fatalf("replayed %s, want %s", again.Body, first.Body)
		}
		token := str(t, first.Map(t), "token")
		ts.As(token).Must(t, 200, "GET", "/v1/offers", nil)
		files, _ := filepath.Glob(filepath.Join(filepath.Dir(ts.Reads.Path()), "idempotency.db*"))
		if len(files) == 0 {
			t.Fatal("no idempotency database found")
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(token)) || bytes.Contains(b, []byte("tok")) && bytes.Contains(b, []byte("auditor")) {
				t.Fatalf("%s holds the token or the key in the clear", f)
			}
		}
	})
}

// TestIdempotencyKey_EveryCommand reuses a key on commands that create
// nothing: the same body replays the first answer, another body is 422
// idempotency_key_reused, and neither writes; what a 2xx shows is what is
// stored.
func TestIdempotencyKey_EveryCommand(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	_, r := ts.NewReseller(t, "R")
	_, c := r.CreateCustomer(t, "C")
	tmpl := r.CreateTemplate(t, "T")
	item := r.AddItem(t, tmpl, r.CreateProduct(t, "P", 12), 12)

	cases := []struct {
		name         string
		client       Client
		method, path string
		first, other string
		get          string // where the stored state is read, "" for none
	}{
		{"Webhook", c, "PUT", "/v1/webhook", `{"url":"http://127.0.0.1:1/first"}`, `{"url":"http://127.0.0.1:1/second"}`, "/v1/webhook"},
		{"ItemToggle", r, "PATCH", "/v1/templates/" + tmpl + "/items/" + item, `{"license_mode":"relative"}`, `{"license_mode":"absolute"}`, "/v1/templates/" + tmpl},
		{"WebhookRemove", c, "DELETE", "/v1/webhook", ``, `{"x":1}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			first := tc.client.Do(t, tc.method, tc.path, tc.first, "Idempotency-Key", "42")
			if first.Status/100 != 2 {
				t.Fatalf("first: %s", first)
			}
			head := ts.Head(t)
			again := tc.client.Do(t, tc.method, tc.path, tc.first, "Idempotency-Key", "42")
			if again.Status != first.Status || !bytes.Equal(again.Body, first.Body) || again.Header.Get("ETag") != first.Header.Get("ETag") {
				t.Fatalf("same body again: %s, want the first answer %s", again, first)
			}
			other := tc.client.Do(t, tc.method, tc.path, tc.other, "Idempotency-Key", "42")
			if tc.name == "WebhookRemove" {
				// An unknown field is malformed before the key is looked at.
				if other.Status != 400 {
					t.Fatalf("another body: %s, want 400", other)
				}
				return
			}
			if other.Status != 422 || other.Code() != "idempotency_key_reused" {
				t.Fatalf("another body: %s, want 422 idempotency_key_reused", other)
			}
			if ts.Head(t) != head {
				t.Fatal("a replay or a refused reuse wrote to the log")
			}
			stored := tc.client.Must(t, 200, "GET", tc.get+"?min_position="+strconv.FormatUint(head, 10), nil).Map(t)
			firstState := first.Map(t)
			for k, v := range stored {
				if k == "secret" || k == "version" {
					continue
				}
				if fmt.Sprint(firstState[k]) != fmt.Sprint(v) {
					t.Fatalf("stored %s = %v, the first answer showed %v", k, v, firstState[k])
				}
			}
		})
	}
}
