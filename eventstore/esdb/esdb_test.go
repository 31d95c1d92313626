package esdb_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/offerflow/offerflow/eventstore/esdb"
)

func TestConfig_Validate(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		if err := (esdb.Config{URL: "esdb://localhost:2113?tls=false", StreamPrefix: "staging-"}).Validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrNoURL", func(t *testing.T) {
		if err := (esdb.Config{}).Validate(); err == nil {
			t.Fatal("accepted a config without a connection string")
		}
	})
	t.Run("ErrSystemPrefix", func(t *testing.T) {
		if err := (esdb.Config{URL: "esdb://localhost:2113", StreamPrefix: "$x"}).Validate(); err == nil {
			t.Fatal("accepted a $ stream prefix")
		}
	})
}

func TestOpen(t *testing.T) {
	t.Run("ErrBadURLHidesPassword", func(t *testing.T) {
		_, err := esdb.Open(context.Background(), "esdb://admin:s3cret@host:notaport")
		if err == nil {
			t.Fatal("opened a malformed connection string")
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error repeats the password: %v", err)
		}
	})
	t.Run("ErrUnreachable", func(t *testing.T) {
		// Port 1 on the loopback refuses connections at once.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s, err := esdb.Open(ctx, "esdb://127.0.0.1:1?tls=false&maxDiscoverAttempts=1&discoveryInterval=10")
		if err == nil {
			s.Close()
			t.Fatal("opened a store on a port where nothing listens")
		}
		t.Logf("error: %v", err)
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Open did not give up before the deadline: %v", err)
		}
	})
}

func TestClientLogger(t *testing.T) {
	var buf bytes.Buffer
	log := esdb.ClientLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	log(esdbclient.LogError, "subscription has dropped. Reason: %v", "context canceled")
	log(esdbclient.LogDebug, "connecting to %s", "leader")
	if buf.Len() != 0 {
		t.Errorf("debug-level lines reached an info logger: %s", buf.String())
	}
	log(esdbclient.LogError, "unexpected exception: %v", "boom")
	if got := buf.String(); !strings.Contains(got, "level=ERROR") || !strings.Contains(got, "unexpected exception: boom") {
		t.Errorf("error line logged as %q", got)
	}
}
