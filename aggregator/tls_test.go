package aggregator_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
)

// startTLS serves an aggregator over TLS on 127.0.0.1 with a certificate
// from a CA made for the test.
func startTLS(t *testing.T) (*aggregatortest.Server, *aggregatortest.CA, *aggregator.CertFiles, string) {
	t.Helper()
	ca := aggregatortest.NewCA(t, "test CA")
	dir := t.TempDir()
	certFile, keyFile, _ := ca.Issue(t, dir)
	certs, err := aggregator.LoadCertFiles(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := aggregatortest.StartHTTP(t, aggregator.Config{}, aggregator.HTTPOptions{TLS: certs.TLSConfig()}, nil)
	return srv, ca, certs, dir
}

// client trusts only pool, with tc's settings on top.
func tlsClient(pool *x509.CertPool, tc *tls.Config) *http.Client {
	if tc == nil {
		tc = &tls.Config{}
	}
	tc.RootCAs = pool
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
}

// TestTLSServes: a node with a certificate speaks TLS 1.2+ only, with
// AEAD suites only, and sends HSTS on its answers.
func TestTLSServes(t *testing.T) {
	srv, ca, _, _ := startTLS(t)
	resp, err := tlsClient(ca.Pool, nil).Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("GET /healthz over TLS: %d, TLS %+v", resp.StatusCode, resp.TLS)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("Strict-Transport-Security = %q", got)
	}
	for name, tc := range map[string]*tls.Config{
		"TLS 1.1":      {MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11},
		"TLS 1.2 CBC":  {MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}},
		"TLS 1.2 SHA2": {MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}},
	} {
		if resp, err := tlsClient(ca.Pool, tc).Get(srv.URL + "/healthz"); err == nil {
			resp.Body.Close()
			t.Errorf("%s: the handshake succeeded (%x), want it refused", name, resp.TLS.CipherSuite)
		}
	}
	// The same suite list in TLS 1.2 is served.
	resp, err = tlsClient(ca.Pool, &tls.Config{MaxVersion: tls.VersionTLS12}).Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatalf("TLS 1.2: %v", err)
	}
	resp.Body.Close()
	if s := resp.TLS.CipherSuite; s != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 && s != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 &&
		s != tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 {
		t.Errorf("TLS 1.2 suite %s", tls.CipherSuiteName(s))
	}
	// A client that trusts another CA refuses the node.
	other := aggregatortest.NewCA(t, "another CA")
	_, err = tlsClient(other.Pool, nil).Get(srv.URL + "/healthz")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("client of another CA: %v, want x509.UnknownAuthorityError", err)
	}
}

// TestPlainHTTPHasNoHSTS: HSTS over plain HTTP is meaningless (RFC 6797
// §7.2); a node behind a TLS proxy leaves it to the proxy.
func TestPlainHTTPHasNoHSTS(t *testing.T) {
	srv := aggregatortest.Start(t, aggregator.Config{}, nil)
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("Strict-Transport-Security over plain HTTP: %q", got)
	}
}

// TestTLSReload: new files are served only after Reload, and a failed
// reload (a half-written pair) keeps the certificate in use.
func TestTLSReload(t *testing.T) {
	srv, ca, certs, dir := startTLS(t)
	serial := func() int64 {
		t.Helper()
		// A new connection each time: the certificate is chosen per handshake.
		resp, err := tlsClient(ca.Pool, nil).Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	first := serial()
	_, keyFile, renewed := ca.Issue(t, dir)
	if got := serial(); got != first {
		t.Fatalf("serial %d before Reload, want still %d", got, first)
	}
	if err := certs.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := serial(); got != renewed {
		t.Fatalf("serial %d after Reload, want %d", got, renewed)
	}
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := certs.Reload(); err == nil {
		t.Fatal("Reload of a broken key: no error")
	}
	if got := serial(); got != renewed {
		t.Fatalf("serial %d after a failed Reload, want %d kept", got, renewed)
	}
}
