package http_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	ofhttp "github.com/offerflow/offerflow/http"
)

// rawRequest writes head (request line and headers, without the blank line
// that ends them) and then body to a new connection, and returns the
// connection.
func rawRequest(t *testing.T, ts *TestServer, head, body string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", ts.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if _, err := io.WriteString(conn, strings.ReplaceAll(head, "\n", "\r\n")+"\r\n\r\n"+body); err != nil {
		t.Fatal(err)
	}
	return conn
}

// readReply reads one response from conn, failing the test when none comes
// within wait.
func readReply(t *testing.T, conn net.Conn, br *bufio.Reader, wait time.Duration) (*http.Response, []byte) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no reply within %s: %v", wait, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the reply's body: %v", err)
	}
	_ = resp.Body.Close()
	return resp, b
}

// assertClosed fails unless the server closes conn within wait.
func assertClosed(t *testing.T, conn net.Conn, br *bufio.Reader, wait time.Duration) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	// Closed is an end of file, or a reset when the server closed it with
	// a request unread; a byte or a timeout means it is still open.
	if _, err := br.ReadByte(); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the connection is still open after %s (read: %v)", wait, err)
	}
}

// TestBodyDeadline: a request that declares a body and never sends it (in
// full) is answered, and its connection closed, once the body deadline
// passes, whether its handler reads the body or not. Before, neither
// happened: the connection stayed open for ever.
func TestBodyDeadline(t *testing.T) {
	const timeout = 500 * time.Millisecond
	ts := MustOpenServer(t, func(o *Options) {
		o.NoProcesses = true
		o.Configure = func(c *ofhttp.Config) { c.BodyTimeout = timeout }
	})
	_, reseller := ts.NewReseller(t, "Slow bodies")
	auth := "\nAuthorization: Bearer " + reseller.Token

	t.Run("HandlerThatReadsNoBody", func(t *testing.T) {
		conn := rawRequest(t, ts, "GET /healthz HTTP/1.1\nHost: x\nContent-Length: 10", "")
		br := bufio.NewReader(conn)
		resp, _ := readReply(t, conn, br, 5*time.Second)
		if resp.StatusCode != http.StatusOK || !resp.Close {
			t.Fatalf("got %d (close %v), want 200 with the connection closed", resp.StatusCode, resp.Close)
		}
		assertClosed(t, conn, br, 5*time.Second)
	})
	for name, body := range map[string]string{"NoByteOfTheBody": "", "PartOfTheBody": `{"na`} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			conn := rawRequest(t, ts, "POST /v1/products HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: 60"+auth, body)
			br := bufio.NewReader(conn)
			resp, b := readReply(t, conn, br, 5*time.Second)
			if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), `"code":"request_timeout"`) ||
				resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("got %d %s, want 408 request_timeout problem+json", resp.StatusCode, b)
			}
			if waited := time.Since(start); waited < timeout {
				t.Fatalf("answered after %s, before the deadline of %s", waited, timeout)
			}
			assertClosed(t, conn, br, 5*time.Second)
		})
	}
	t.Run("ChunkedBodyThatNeverEnds", func(t *testing.T) {
		conn := rawRequest(t, ts, "POST /v1/products HTTP/1.1\nHost: x\nTransfer-Encoding: chunked"+auth, "2\r\n{\"\r\n")
		br := bufio.NewReader(conn)
		resp, b := readReply(t, conn, br, 5*time.Second)
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("got %d %s, want 408", resp.StatusCode, b)
		}
		assertClosed(t, conn, br, 5*time.Second)
	})
	t.Run("WithoutToken", func(t *testing.T) {
		conn := rawRequest(t, ts, "POST /v1/products HTTP/1.1\nHost: x\nContent-Length: 10", "")
		br := bufio.NewReader(conn)
		resp, _ := readReply(t, conn, br, 5*time.Second)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("got %d, want 401", resp.StatusCode)
		}
		assertClosed(t, conn, br, 5*time.Second)
	})
	t.Run("BodyInTimeKeepsTheConnection", func(t *testing.T) {
		body := `{"name":"On time","kind":"module","license_terms_months":[12]}`
		conn := rawRequest(t, ts, "POST /v1/products HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: "+
			strconv.Itoa(len(body))+auth, body)
		br := bufio.NewReader(conn)
		if resp, b := readReply(t, conn, br, 5*time.Second); resp.StatusCode != http.StatusCreated || resp.Close {
			t.Fatalf("got %d %s (close %v), want 201 on a kept connection", resp.StatusCode, b, resp.Close)
		}
		// The deadline was lifted with the body: the next request on the
		// connection, after it would have passed, is served.
		time.Sleep(2 * timeout)
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if resp, _ := readReply(t, conn, br, 5*time.Second); resp.StatusCode != http.StatusOK {
			t.Fatalf("second request: %d", resp.StatusCode)
		}
	})
}
