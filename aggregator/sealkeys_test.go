package aggregator_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/aggregator/store/storetest"
	"github.com/wisp-project/wisp/internal/sqlitedb"
	"github.com/wisp-project/wisp/internal/wire"
)

// rawPrivate reads every private value of the SQLite store at path
// straight from its tables, by name ("hpke-key/1", or a secret's name).
func rawPrivate(t testing.TB, path string) map[string][]byte {
	t.Helper()
	db, err := sqlitedb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := map[string][]byte{}
	for _, q := range []string{`SELECT 'hpke-key/' || id, private FROM hpke_keys`, `SELECT name, value FROM secrets`} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			var v []byte
			if err := rows.Scan(&name, &v); err != nil {
				t.Fatal(err)
			}
			got[name] = v
		}
		rows.Close()
	}
	return got
}

// TestOldPlaintextStoreIsSealed (issue 15, row 8) opens a store written
// by the code before keys were sealed by default — every private key in
// the clear — with a key encryption key: it opens, every private value is
// sealed in place (none left in the clear in the file), the keys are the
// same ones (same HPKE configs, same signing key), and from then on it
// opens with that key only; a key in the clear slipped in afterwards is
// refused.
func TestOldPlaintextStoreIsSealed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := os.ReadFile("testdata/store-plaintext-v0.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	before := rawPrivate(t, path)
	if len(before) != 4 {
		t.Fatalf("the old store has %d private values, want 4 (2 keys, signing seed, OHTTP key)", len(before))
	}
	for name, v := range before {
		if bytes.HasPrefix(v, []byte("wisp-kek1:")) {
			t.Fatalf("%s in the old store is sealed already", name)
		}
	}
	wantPub := map[uint8][]byte{}
	for _, id := range []uint8{1, 2} {
		pair, err := wire.UnmarshalKeyPair(id, before["hpke-key/"+string('0'+id)])
		if err != nil {
			t.Fatal(err)
		}
		wantPub[id] = pair.Config.PublicKey
	}
	wantSigning := ed25519.NewKeyFromSeed(before["campaign-signing-key-ed25519-v1"]).Public().(ed25519.PublicKey)

	kek := bytes.Repeat([]byte{7}, 32)
	st, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := aggregator.New(aggregator.Config{Store: st, Taxonomy: mustTax(t), KeyEncryptionKey: kek})
	if err != nil {
		t.Fatalf("opening the old store with a key encryption key: %v", err)
	}
	if !bytes.Equal(srv.SigningKey(), wantSigning) {
		t.Error("the signing key changed in the migration")
	}
	after := rawPrivate(t, path)
	for name, v := range after {
		if !bytes.HasPrefix(v, []byte("wisp-kek1:")) {
			t.Errorf("%s is still in the clear", name)
		}
		if plain := before[name]; plain != nil && bytes.Contains(v, plain) {
			t.Errorf("%s: the sealed value contains the private key", name)
		}
	}
	if _, ok := after["ohttp-key/1/since"]; len(after) != len(before)+2 || !ok {
		t.Errorf("%d private values after, want the %d before, the sealed marker and the OHTTP key's time (stores before rotation had none)", len(after), len(before))
	}
	// Same HPKE keys: the active one is still advertised, and opens reports.
	f := newNode(t, st, newClock(), func(c *aggregator.Config) { c.KeyEncryptionKey = kek; c.Campaigns = append(c.Campaigns, runners) })
	if list := advertised(t, f); len(list) != 1 || list[0].ID != 1 || !bytes.Equal(list[0].PublicKey, wantPub[1]) {
		t.Fatalf("after sealing, advertised %v, want the old key 1", list)
	}
	if res := f.upload(t, f.report(t, true)).Results[0]; !res.Accepted {
		t.Fatalf("a report sealed to the old key 1: %+v", res)
	}

	for name, k := range map[string][]byte{"no key": nil, "another key": bytes.Repeat([]byte{8}, 32)} {
		if _, err := aggregator.New(aggregator.Config{Store: st, Taxonomy: mustTax(t), KeyEncryptionKey: k}); !errors.Is(err, aggregator.ErrKeyEncryption) {
			t.Errorf("reopening the sealed store with %s: %v, want ErrKeyEncryption", name, err)
		}
	}
	// A private key in the clear written now (by someone without the key
	// encryption key) is not adopted.
	pair, err := wire.GenerateKeyPair(9, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := pair.MarshalPrivateKey()
	if err := st.AddKey(context.Background(), store.Key{ID: 9, Private: priv, State: store.KeyActive}); err != nil {
		t.Fatal(err)
	}
	_, err = aggregator.New(aggregator.Config{Store: st, Taxonomy: mustTax(t), KeyEncryptionKey: kek})
	if !errors.Is(err, aggregator.ErrKeyEncryption) || !strings.Contains(err.Error(), "hpke-key/9") {
		t.Fatalf("a key in the clear in a sealed store: %v, want ErrKeyEncryption naming hpke-key/9", err)
	}
}

// TestPlaintextPostgresSealedByTwoNodesAtOnce: two nodes given the key
// encryption key start together on a PostgreSQL store whose keys are in
// the clear (written without one): both start, with the same keys, and
// every private value ends up sealed once.
func TestPlaintextPostgresSealedByTwoNodesAtOnce(t *testing.T) {
	spec := "postgres:" + storetest.PostgresDSN(t)
	ctx := context.Background()
	first, err := aggregator.New(aggregator.Config{Store: storetest.Open(t, spec), Taxonomy: mustTax(t)})
	if err != nil {
		t.Fatal(err)
	}
	kek := bytes.Repeat([]byte{7}, 32)
	nodes := make([]*aggregator.Server, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range nodes {
		st := storetest.Open(t, spec)
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i], errs[i] = aggregator.New(aggregator.Config{Store: st, Taxonomy: mustTax(t), KeyEncryptionKey: kek})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if !bytes.Equal(nodes[i].SigningKey(), first.SigningKey()) || !bytes.Equal(nodes[i].OHTTPKeyConfigs(), first.OHTTPKeyConfigs()) {
			t.Errorf("node %d has other keys than the store had", i)
		}
	}
	st := storetest.Open(t, spec)
	n := 0
	err = st.Rewrap(ctx, func(id uint8, v []byte) ([]byte, error) {
		n++
		if !bytes.HasPrefix(v, []byte("wisp-kek1:")) {
			t.Errorf("key %d is not sealed", id)
		}
		return nil, nil
	}, func(name string, v []byte) ([]byte, error) {
		n++
		if !bytes.HasPrefix(v, []byte("wisp-kek1:")) {
			t.Errorf("secret %s is not sealed", name)
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Sealed once, not twice: a value sealed twice would not open to a
	// key, and the nodes would have failed or differed above.
	if n != 5 { // key 1, signing seed, OHTTP key and its time, marker
		t.Errorf("%d private values, want 5", n)
	}
}
