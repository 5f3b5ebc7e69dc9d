package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wisp-project/wisp/internal/privpass"
)

// TestServeIssuer: `serve --role issuer` with a maker's PEM public key
// signs a token for that maker's device once per campaign epoch, refuses
// the second, and stops cleanly; without --issuer-name or a maker key, or
// with a negative --new-keys-per-device, it does not start.
func TestServeIssuer(t *testing.T) {
	pub, maker, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	makerFile := filepath.Join(dir, "maker.pub")
	if err := os.WriteFile(makerFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := "sqlite:" + filepath.Join(dir, "issuer.db")
	if err := runAggregatorCLI(t, context.Background(), io.Discard, "aggregator", "serve", "--role", "issuer", "--store", spec,
		"--insecure-plaintext-keys", "--addr", "127.0.0.1:0", "--device-maker-key", makerFile); err == nil || !strings.Contains(err.Error(), "--issuer-name") {
		t.Fatalf("without --issuer-name: %v", err)
	}
	if err := runAggregatorCLI(t, context.Background(), io.Discard, "aggregator", "serve", "--role", "issuer", "--store", spec, "--issuer-name", "issuer.test",
		"--insecure-plaintext-keys", "--addr", "127.0.0.1:0", "--device-maker-key", makerFile, "--new-keys-per-device", "-1"); err == nil || !strings.Contains(err.Error(), "new keys per device") {
		t.Fatalf("--new-keys-per-device -1: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runAggregatorCLI(t, ctx, pw, "aggregator", "serve", "--role", "issuer", "--issuer-name", "issuer.test", "--device-maker-key", makerFile,
			"--store", spec, "--insecure-plaintext-keys", "--addr", "127.0.0.1:0", "--log-level", "error")
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("serve output: %v", err)
	}
	_, url, ok := strings.Cut(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("serve said %q", line)
	}
	go io.Copy(io.Discard, pr)
	cred, key, err := privpass.Provision(maker, "device-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := privpass.FetchToken(ctx, http.DefaultClient, url, "issuer.test", cred, key, "runners", 9, time.Now()); err != nil {
		t.Fatalf("token: %v", err)
	}
	_, err = privpass.FetchToken(ctx, http.DefaultClient, url, "issuer.test", cred, key, "runners", 9, time.Now())
	var se *privpass.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusConflict {
		t.Fatalf("second token of the epoch: %v, want 409", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve after shutdown: %v", err)
	}
}
