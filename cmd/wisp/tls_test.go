package main

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/proctest"
)

// cliEnv makes this test binary run as the wisp command (its arguments
// after the program name), so a test can signal a real wisp process.
const cliEnv = "WISP_TEST_RUN_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(cliEnv) == "1" {
		root := newRootCmd()
		root.SetArgs(os.Args[1:])
		if err := root.Execute(); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startWisp runs wisp args in a subprocess and returns it with the first
// line it printed.
func startWisp(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	c := proctest.Start(t, []string{cliEnv + "=1"}, args...)
	line := c.Line(t, "")
	c.Drain()
	return c.Cmd, line
}

// TestServeTLSReloadsOnSIGHUP: `wisp aggregator serve --tls-cert --tls-key`
// serves HTTPS with HSTS; after the files are replaced and the process
// gets SIGHUP, new connections get the new certificate, and the process
// keeps serving (SIGHUP's default would have killed it). A device
// initialized with --ca-file pins the campaign key over that TLS.
func TestServeTLSReloadsOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	ca := aggregatortest.NewCA(t, "operator CA")
	certFile, keyFile, first := ca.Issue(t, dir)
	srv, line := startWisp(t, "aggregator", "serve", "--store", "sqlite:"+filepath.Join(dir, "agg.db"), "--addr", "127.0.0.1:0",
		"--tls-cert", certFile, "--tls-key", keyFile, "--log-level", "error")
	url, ok := strings.CutPrefix(line, "listening on ")
	if !ok || !strings.HasPrefix(url, "https://") {
		t.Fatalf("serve printed %q, want listening on https://…", line)
	}
	serial := func() int64 {
		t.Helper()
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}
		resp, err := c.Get(url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Strict-Transport-Security") == "" {
			t.Error("no Strict-Transport-Security header over TLS")
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != first {
		t.Fatalf("serial %d, want %d", got, first)
	}
	_, _, renewed := ca.Issue(t, dir)
	if err := srv.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// The signal is handled asynchronously: wait (bounded) for the swap.
	got := serial()
	for deadline := time.Now().Add(10 * time.Second); got != renewed && time.Now().Before(deadline); got = serial() {
		time.Sleep(20 * time.Millisecond)
	}
	if got != renewed {
		t.Fatalf("serial %d after SIGHUP, want %d", got, renewed)
	}

	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	out := execute(t, "device", "init", "--dir", filepath.Join(dir, "device"), "--aggregator", url, "--ca-file", caFile, "--allow-unsigned")
	if !strings.Contains(out, "pinned the aggregator's campaign-signing key") {
		t.Errorf("device init over TLS printed:\n%s", out)
	}
	root := newRootCmd()
	root.SetArgs([]string{"device", "init", "--dir", filepath.Join(dir, "device2"), "--aggregator", url, "--allow-unsigned"})
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("device init without --ca-file: %v, want a certificate error", err)
	}

	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v", err)
	}
}

// TestRelayVerifiesGatewayCertificate: `wisp relay serve` forwards to an
// HTTPS gateway only if it trusts the gateway's CA (--gateway-ca-file);
// without it the system's roots refuse the test CA and nothing gets through.
func TestRelayVerifiesGatewayCertificate(t *testing.T) {
	ca := aggregatortest.NewCA(t, "operator CA")
	dir := t.TempDir()
	certFile, keyFile, _ := ca.Issue(t, dir)
	certs, err := aggregator.LoadCertFiles(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	agg := aggregatortest.StartHTTP(t, aggregator.Config{}, aggregator.HTTPOptions{TLS: certs.TLSConfig()}, nil)
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, trust := range []bool{true, false} {
		args := []string{"--gateway", agg.URL + "/v1/ohttp"}
		if trust {
			args = append(args, "--gateway-ca-file", caFile)
		}
		ctx, cancel := context.WithCancel(context.Background())
		relayURL, done := startRelay(t, ctx, args...)
		// The device trusts the CA for its direct key fetch either way.
		c := &host.Client{BaseURL: agg.URL, Relay: relayURL, HTTP: host.NewHTTPClient(ca.Pool)}
		_, err = c.KeyConfigs(ctx)
		if trust && err != nil {
			t.Errorf("relay trusting the gateway's CA: %v", err)
		}
		if !trust && (err == nil || !strings.Contains(err.Error(), "502")) {
			t.Errorf("relay trusting the system's roots: %v, want its 502 (the gateway's certificate refused)", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("relay serve: %v", err)
		}
	}
}
