package http

import (
	"net"
	"sync"
)

// capListener closes, as soon as they are accepted, connections from an
// address that already holds max open ones. Every open connection holds a
// descriptor, whatever it sends; the request limits only see requests, so
// without this one address could hold all of the process's descriptors.
type capListener struct {
	net.Listener
	max     int
	refused func()

	mu   sync.Mutex
	open map[string]int
}

func newCapListener(ln net.Listener, max int, refused func()) net.Listener {
	if max <= 0 {
		return ln
	}
	return &capListener{Listener: ln, max: max, refused: refused, open: map[string]int{}}
}

// Accept returns the next connection whose address is under the cap.
func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := connAddress(c)
		l.mu.Lock()
		full := l.open[key] >= l.max
		if !full {
			l.open[key]++
		}
		l.mu.Unlock()
		if full {
			l.refused()
			_ = c.Close()
			continue
		}
		return &cappedConn{Conn: c, release: func() { l.release(key) }}, nil
	}
}

func (l *capListener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

// connAddress is the key of a connection's peer, as clientAddress has it
// for requests.
func connAddress(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return canonicalIP(host)
}

// cappedConn gives its slot back when it is closed, once.
type cappedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *cappedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// CloseWrite lets net/http half-close the connection before closing it,
// which keeps a reply from being lost to a reset.
func (c *cappedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
