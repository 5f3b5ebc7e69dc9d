package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/privpass"
)

// TestDeviceCredential: `device credential` writes a credential that the
// maker's public key verifies, for the device key stored beside it, and
// the device's settings load it; a credential file whose key is not the
// credential's is refused.
func TestDeviceCredential(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	runWisp(t, "device", "init", "--dir", dir, "--allow-unsigned")
	pub, maker, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(maker)
	if err != nil {
		t.Fatal(err)
	}
	makerFile := filepath.Join(t.TempDir(), "maker.pem")
	if err := os.WriteFile(makerFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := runWisp(t, "device", "credential", "--dir", dir, "--maker-key", makerFile, "--id", "device-0001"); !strings.Contains(out, "device-0001") {
		t.Fatalf("output %q", out)
	}
	path := filepath.Join(dir, deviceCredentialFile)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credential file: %v %v, want mode 600", fi, err)
	}
	b, _ := os.ReadFile(path)
	blk, rest := pem.Decode(b)
	cred, err := privpass.ParseCredential(blk.Bytes)
	if err != nil || cred.DeviceID != "device-0001" {
		t.Fatalf("credential %+v: %v", cred, err)
	}
	if err := cred.Verify([]ed25519.PublicKey{pub}); err != nil {
		t.Fatalf("the maker's key does not verify the credential: %v", err)
	}
	s, err := readDeviceSettings(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.config(dir, nil); err != nil {
		t.Fatalf("settings with the credential: %v", err)
	}

	// Another device's key beside this credential: refused.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	od, _ := x509.MarshalPKCS8PrivateKey(other)
	keyBlk, _ := pem.Decode(rest)
	if keyBlk == nil {
		t.Fatal("no device key in the file")
	}
	swapped := append(pem.EncodeToMemory(blk), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: od})...)
	if err := os.WriteFile(path, swapped, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := withCredential(host.NewDeviceConfig(), dir); err == nil {
		t.Fatal("a credential with another device's key was taken")
	}
}
