package aggregator

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"sync/atomic"
)

// CertFiles is a TLS certificate chain and private key read from two PEM
// files. Reload reads them again and swaps the pair in atomically, so an
// operator renews a certificate (certbot, cert-manager) by replacing the
// files and sending SIGHUP: connections being set up keep the pair they
// started with, new ones get the new pair, none is dropped.
type CertFiles struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
}

// LoadCertFiles reads the pair at certFile and keyFile.
func LoadCertFiles(certFile, keyFile string) (*CertFiles, error) {
	c := &CertFiles{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again. On an error the pair in use stays.
func (c *CertFiles) Reload() error {
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("aggregator: TLS certificate %s, key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert.Store(&pair)
	return nil
}

// GetCertificate is for tls.Config.GetCertificate: the current pair.
func (c *CertFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cert.Load(), nil
}

// TLSConfig is the server side of TLS for c: TLS 1.2 or 1.3 only, and in
// TLS 1.2 only ECDHE key exchange with AEAD ciphers (forward secrecy, no
// CBC): Go's defaults without the CBC suites it still offers. (TLS 1.3's
// suites are all AEAD and not configurable.)
func (c *CertFiles) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: c.GetCertificate,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}

// hstsValue asks browsers (the dashboard's) to use only HTTPS for this
// host for a year: a node serving TLS means it.
const hstsValue = "max-age=31536000"

// withHSTS sets Strict-Transport-Security on every answer sent over TLS
// (RFC 6797 forbids it on plain HTTP, where an attacker could forge it).
func withHSTS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", hstsValue)
		}
		next.ServeHTTP(w, r)
	})
}
