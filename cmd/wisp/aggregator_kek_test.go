package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/aggregator/store"
)

// serveOnce starts `wisp aggregator serve` with args, waits until it
// listens, and stops it.
func serveOnce(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runAggregatorCLI(t, ctx, pw, append([]string{"aggregator", "serve", "--addr", "127.0.0.1:0", "--log-level", "error"}, args...)...)
		pw.Close()
	}()
	if _, err := bufio.NewReader(pr).ReadString('\n'); err != nil {
		t.Fatalf("serve %v: %v", args, <-done)
	}
	go io.Copy(io.Discard, pr)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve %v: %v", args, err)
	}
}

// storedPrivate is every private value of the store at spec as stored.
func storedPrivate(t *testing.T, spec string) map[string][]byte {
	t.Helper()
	st, err := store.Open(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got := map[string][]byte{}
	err = st.Rewrap(context.Background(),
		func(id uint8, v []byte) ([]byte, error) { got["hpke key "+string('0'+id)] = v; return nil, nil },
		func(name string, v []byte) ([]byte, error) { got[name] = v; return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestServeSealsKeysByDefault (issue 15, row 8): a first `serve` on a new
// SQLite store makes the store 0600 and a key encryption key beside it,
// 0600, and stores no private key in the clear; the admin commands find
// the key; a wrong or missing key, or --insecure-plaintext-keys, is a
// clear error; a PostgreSQL store needs the key given.
func TestServeSealsKeysByDefault(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "agg.db")
	spec := "sqlite:" + db
	serveOnce(t, "--store", spec)
	for _, p := range []string{db, db + ".kek"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
	kek, _ := os.ReadFile(db + ".kek")
	if k, err := hex.DecodeString(strings.TrimSpace(string(kek))); err != nil || len(k) != 32 {
		t.Fatalf("key encryption key file %q: want 64 hex digits", kek)
	}
	private := storedPrivate(t, spec)
	for _, name := range []string{"hpke key 1", "campaign-signing-key-ed25519-v1", "ohttp-key/1"} {
		if v, ok := private[name]; !ok || !bytes.HasPrefix(v, []byte("wisp-kek1:")) {
			t.Errorf("%s stored as %q, want it sealed", name, v)
		}
	}
	serveOnce(t, "--store", spec) // a restart uses the key it made
	if _, err := runErr(t, "aggregator", "keys", "list", "--store", spec); err != nil {
		t.Fatalf("keys list with the key beside the store: %v", err)
	}

	other := filepath.Join(dir, "other.kek")
	os.WriteFile(other, []byte(strings.Repeat("ab", 32)), 0o600)
	os.Rename(db+".kek", filepath.Join(dir, "moved.kek"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--key-encryption-key-file", other}, "wrong key encryption key"},
		{nil, "a new key was made, and removed again"},
		{[]string{"--insecure-plaintext-keys"}, "instead of --insecure-plaintext-keys"},
		{[]string{"--insecure-plaintext-keys", "--key-encryption-key-file", other}, "give one"},
	} {
		_, err := runErr(t, append([]string{"aggregator", "keys", "list", "--store", spec}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("keys list %v: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(db + ".kek"); !os.IsNotExist(err) {
		t.Errorf("a failed start left a new key encryption key file behind: %v", err)
	}
	if _, err := runErr(t, "aggregator", "keys", "list", "--store", spec, "--key-encryption-key-file", filepath.Join(dir, "moved.kek")); err != nil {
		t.Errorf("keys list with the moved key file: %v", err)
	}

	_, err := runErr(t, "aggregator", "keys", "list", "--store", "postgres:postgres://nobody@127.0.0.1:1/x")
	if err == nil || !strings.Contains(err.Error(), "--key-encryption-key-file") || !strings.Contains(err.Error(), "--insecure-plaintext-keys") {
		t.Errorf("a postgres store without a key: %v, want an error naming both flags", err)
	}

	plain := "sqlite:" + filepath.Join(dir, "plain.db")
	serveOnce(t, "--store", plain, "--insecure-plaintext-keys")
	if _, err := os.Stat(filepath.Join(dir, "plain.db.kek")); !os.IsNotExist(err) {
		t.Errorf("--insecure-plaintext-keys made a key file: %v", err)
	}
	if v := storedPrivate(t, plain)["hpke key 1"]; len(v) != 32 {
		t.Errorf("with --insecure-plaintext-keys key 1 is stored as %d bytes, want the 32 in the clear", len(v))
	}
}

// TestKeysExpireAndRotateNow: expiring the only active key is refused
// with the way out, --replace does it in one step, rotate --now makes an
// active key at once.
func TestKeysExpireAndRotateNow(t *testing.T) {
	spec := "sqlite:" + filepath.Join(t.TempDir(), "agg.db")
	serveOnce(t, "--store", spec)
	_, err := runErr(t, "aggregator", "keys", "expire", "1", "--store", spec)
	if err == nil || !strings.Contains(err.Error(), "only active key") || !strings.Contains(err.Error(), "keys expire 1 --replace") {
		t.Fatalf("expiring the only active key: %v, want a refusal naming --replace", err)
	}
	out, err := runErr(t, "aggregator", "keys", "expire", "1", "--replace", "--store", spec)
	if err != nil || !strings.Contains(out, "key 2: new, active") || !strings.Contains(out, "key 1: expired") {
		t.Fatalf("expire --replace: %v\n%s", err, out)
	}
	out, err = runErr(t, "aggregator", "keys", "rotate", "--now", "--store", spec)
	if err != nil || !strings.Contains(out, "key 3: new, active") {
		t.Fatalf("rotate --now: %v\n%s", err, out)
	}
	var list bytes.Buffer
	if err := runAggregatorCLI(t, context.Background(), &list, "aggregator", "keys", "list", "--json", "--store", spec); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"id": 1,`, `"state": "expired"`, `"id": 3,`, `"state": "active"`} {
		if !strings.Contains(list.String(), want) {
			t.Errorf("keys list --json lacks %s:\n%s", want, list.String())
		}
	}
}
