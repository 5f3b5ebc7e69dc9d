package aggregator

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// HTTPOptions bound what one client connection may make a node hold. Zero
// fields take the defaults.
type HTTPOptions struct {
	// MaxHeaderBytes bounds a request's header block; larger requests get
	// 431 before they are buffered. 0 means 16 KiB (a device's requests
	// carry a few hundred bytes of headers, a marketer's a token more).
	MaxHeaderBytes int
	// MaxConns bounds the connections served at once; more wait in the
	// listen backlog until one closes. 0 means 1024.
	MaxConns int
	// ReadHeaderTimeout bounds reading a request's headers; 0 means 10 s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request; 0 means 1 minute. A
	// report batch's body has a tighter deadline of its own
	// (Admission.BodyTimeout).
	ReadTimeout time.Duration
	// WriteTimeout bounds writing an answer; 0 means 2 minutes.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle this long; 0 means
	// 2 minutes.
	IdleTimeout time.Duration
	// TLS, if set, serves HTTPS with it (CertFiles.TLSConfig) and sends
	// HSTS; nil serves plain HTTP (behind a proxy that terminates TLS).
	TLS *tls.Config
}

func (o HTTPOptions) withDefaults() HTTPOptions {
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 16 << 10
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 1024
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 10 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = time.Minute
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 2 * time.Minute
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 2 * time.Minute
	}
	return o
}

// HTTPServer is the http.Server a node runs, with its connection cap. The
// serve command and aggregatortest both build it with NewHTTPServer.
type HTTPServer struct {
	*http.Server
	maxConns int
}

// NewHTTPServer returns a server for h (usually Server.Handler) with the
// limits of o.
func NewHTTPServer(h http.Handler, o HTTPOptions) *HTTPServer {
	o = o.withDefaults()
	return &HTTPServer{Server: &http.Server{Handler: withHSTS(h), MaxHeaderBytes: o.MaxHeaderBytes, ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout, IdleTimeout: o.IdleTimeout, TLSConfig: o.TLS,
		ErrorLog: log.New(io.Discard, "", 0)}, maxConns: o.MaxConns} // its messages ("TLS handshake error from ADDR") carry client addresses
}

// Serve accepts connections on ln, at most MaxConns open at once, until
// Shutdown or Close; with HTTPOptions.TLS, it speaks TLS on them.
func (s *HTTPServer) Serve(ln net.Listener) error {
	ln = limitListener(ln, s.maxConns)
	if s.TLSConfig != nil {
		return s.Server.ServeTLS(ln, "", "")
	}
	return s.Server.Serve(ln)
}

// limitListener accepts at most n connections at once: Accept waits for
// one of them to close (as golang.org/x/net/netutil.LimitListener).
func limitListener(ln net.Listener, n int) net.Listener {
	return &limitedListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

type limitedListener struct {
	net.Listener
	sem       chan struct{}
	closeOnce sync.Once
	done      chan struct{}
}

func (l *limitedListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitedListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
