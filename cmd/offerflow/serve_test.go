package main

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	ohttp "github.com/offerflow/offerflow/http"
)

func TestServe_LimitFlags(t *testing.T) {
	parse := func(args ...string) (ohttp.Limits, error) {
		m := NewMain(env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }})
		err := m.ParseFlags(args)
		return m.cfg.limits, err
	}
	for _, tc := range []struct {
		name string
		args []string
		want ohttp.Limits
	}{
		{"Defaults", nil, ohttp.DefaultLimits},
		{"Off", []string{"--limits=false"}, ohttp.Limits{}},
		{"OneChanged", []string{"--rate-limit-token", "3", "--streams-per-token", "0"},
			ohttp.Limits{TokenRate: 3, AddressRate: ohttp.DefaultLimits.AddressRate, AuthFailures: ohttp.DefaultLimits.AuthFailures,
				ConnectionsPerAddress: ohttp.DefaultLimits.ConnectionsPerAddress}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parse(tc.args...)
			if err != nil || got != tc.want {
				t.Fatalf("limits %+v, error %v; want %+v", got, err, tc.want)
			}
		})
	}
	if _, err := parse("--auth-failure-limit", "-1"); err == nil {
		t.Fatal("a negative limit was accepted")
	}
}

// TestServe_SecretFileOnEventStoreDB: the nodes on an EventStoreDB log keep
// their Idempotency-Key replies in the cluster, sealed with the server's
// secret, so serve refuses to start there without the --secret-file they
// all share; the logs on SQLite keep their default.
func TestServe_SecretFileOnEventStoreDB(t *testing.T) {
	parse := func(args ...string) error {
		m := NewMain(env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }})
		return m.ParseFlags(args)
	}
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"Embedded", nil, true},
		{"SharedSQLite", []string{"--eventstore", "sqlite:///tmp/log.db"}, true},
		{"EventStoreDBWithSecret", []string{"--eventstore", "esdb://localhost:2113", "--secret-file", "/run/secrets/s"}, true},
		{"EventStoreDBWithout", []string{"--eventstore", "esdb://localhost:2113"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := parse(tc.args...)
			var usage usageError
			if tc.ok != (err == nil) || (err != nil && !errors.As(err, &usage)) {
				t.Fatalf("ParseFlags(%q) = %v, want ok %v or a usage error", tc.args, err, tc.ok)
			}
		})
	}
}

// TestServe_AuthFailureLimit: the served binary refuses token guesses from
// an address beyond --auth-failure-limit.
func TestServe_AuthFailureLimit(t *testing.T) {
	s := MustServe(t, t.TempDir(), "--processes=false", "--auth-failure-limit", "2")
	status := func() int {
		req, err := http.NewRequest("GET", s.url+"/v1/products", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer ofr_a-guess")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, want := range []int{401, 401, 429, 429} {
		if got := status(); got != want {
			t.Fatalf("guess %d: %d, want %d", i+1, got, want)
		}
	}
}
