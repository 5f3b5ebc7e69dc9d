package host_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/host"
)

// TestDeviceVerifiesAggregatorCertificate: a device syncs with an
// aggregator serving TLS on 127.0.0.1 only when it trusts the CA that
// signed its certificate (WithRootCAs); one trusting another CA, or the
// system's roots, refuses it.
func TestDeviceVerifiesAggregatorCertificate(t *testing.T) {
	ctx := context.Background()
	ca := aggregatortest.NewCA(t, "aggregator CA")
	certFile, keyFile, _ := ca.Issue(t, t.TempDir())
	certs, err := aggregator.LoadCertFiles(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	agg := aggregatortest.StartHTTP(t, aggregator.Config{}, aggregator.HTTPOptions{TLS: certs.TLSConfig()}, nil)
	sync := func(cfg host.DeviceConfig) error {
		d, err := host.Open(ctx, t.TempDir(), cfg.WithAggregator(agg.URL, nil).WithCampaignKey(agg.SigningKey()))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close(ctx)
		return d.Sync(ctx)
	}
	if err := sync(host.NewDeviceConfig().WithRootCAs(ca.Pool)); err != nil {
		t.Fatalf("device trusting the aggregator's CA: %v", err)
	}
	var unknown x509.UnknownAuthorityError
	if err := sync(host.NewDeviceConfig().WithRootCAs(aggregatortest.NewCA(t, "another CA").Pool)); !errors.As(err, &unknown) {
		t.Errorf("device trusting another CA: %v, want x509.UnknownAuthorityError", err)
	}
	if err := sync(host.NewDeviceConfig()); !errors.As(err, &unknown) {
		t.Errorf("device trusting the system's roots: %v, want x509.UnknownAuthorityError", err)
	}
	cfg := host.NewDeviceConfig().WithRootCAs(ca.Pool).WithAggregator(agg.URL, &http.Client{})
	if d, err := host.Open(ctx, t.TempDir(), cfg); err == nil {
		d.Close(ctx)
		t.Error("Open with WithRootCAs and an HTTP client of its own: no error")
	}
}
