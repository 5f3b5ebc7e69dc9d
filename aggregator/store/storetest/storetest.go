// Package storetest is the conformance suite every store.Store must pass.
// The same tests run against SQLite and PostgreSQL, so the aggregator can
// rely on one behaviour whichever it is given.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator/store"
)

// Run runs the suite. newSpec returns a store spec ("sqlite:PATH",
// "postgres:DSN") naming a fresh, empty store for the calling test; the
// suite opens it, sometimes twice at once (two nodes), and reopens it.
func Run(t *testing.T, newSpec func(t testing.TB) string) {
	tests := []struct {
		name string
		fn   func(t *testing.T, spec string)
	}{
		{"ReportsAndReplays", testReports},
		{"TallyGroupsAnswers", testTally},
		{"FieldsAtTheirLimits", testFieldLimits},
		{"ConcurrentNodesNoDoubleCount", testConcurrentNodes},
		{"Durable", testDurable},
		{"KeyRotationStates", testKeys},
		{"ReplaceKeyAtomic", testReplaceKey},
		{"LastActiveKeyAcrossNodes", testLastActiveKey},
		{"WatchKeysAcrossNodes", testWatchKeys},
		{"RewrapOneTransaction", testRewrap},
		{"CampaignRegistry", testCampaigns},
		{"ReleaseFirstWins", testReleases},
		{"Tokens", testTokens},
		{"SecretFirstWins", testSecret},
		{"SecretsByPrefix", testSecrets},
		{"Closed", testClosed},
		{"Prio3Leader", testPrio3Leader},
		{"Prio3HelperConcurrent", testPrio3Helper},
		{"ReportTokenClaims", testTokenClaims},
		{"IssuanceFirstWins", testIssuances},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newSpec(t)) })
	}
}

// Open opens spec and closes it when the test ends.
func Open(t testing.TB, spec string) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Report makes a one-bit RR report.
func Report(id uint64, campaign string, epoch uint32, answer byte) store.Report {
	r := store.Report{Campaign: campaign, Epoch: epoch, Mechanism: 1, Answer: []byte{answer}}
	for i := range 8 {
		r.ID[i] = byte(id >> (8 * i))
	}
	return r
}

func testReports(t *testing.T, spec string) {
	s := Open(t, spec)
	ctx := context.Background()
	cases := []struct {
		batch []store.Report
		want  []bool
	}{
		{[]store.Report{Report(1, "a", 5, 1), Report(2, "a", 5, 0), Report(3, "a", 6, 1), Report(4, "b", 5, 1), Report(1, "b", 9, 1)},
			[]bool{true, true, true, true, false}}, // the same id later in one batch is a replay
		{[]store.Report{Report(2, "a", 5, 1), Report(7, "a", 5, 1)}, []bool{false, true}}, // replay across batches
		{nil, []bool{}},
	}
	for i, c := range cases {
		got, err := s.Insert(ctx, c.batch)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("batch %d: fresh = %v, want %v", i, got, c.want)
		}
	}
	epochs, err := s.Epochs(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint32{5, 6}; !slices.Equal(epochs, want) {
		t.Errorf("epochs = %v, want %v", epochs, want)
	}
	var answers []byte
	if err := s.Scan(ctx, "a", 5, func(mech store.Mechanism, answer []byte) error {
		answers = append(answers, answer...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(answers)
	if want := []byte{0, 1, 1}; !bytes.Equal(answers, want) {
		t.Errorf("answers of a/5 = %v, want %v (the replay must not have changed report 2)", answers, want)
	}

	// Deleting an epoch's reports touches only that campaign and epoch.
	if n, err := s.DeleteReports(ctx, "a", 5); err != nil || n != 3 {
		t.Fatalf("DeleteReports(a, 5) = %d, %v; want 3", n, err)
	}
	if n, err := s.DeleteReports(ctx, "a", 5); err != nil || n != 0 {
		t.Fatalf("second DeleteReports(a, 5) = %d, %v; want 0", n, err)
	}
	if epochs, err := s.Epochs(ctx, "a"); err != nil || !slices.Equal(epochs, []uint32{6}) {
		t.Errorf("epochs of a after deleting 5 = %v, %v; want [6]", epochs, err)
	}
	if epochs, err := s.Epochs(ctx, "b"); err != nil || !slices.Equal(epochs, []uint32{5}) {
		t.Errorf("epochs of b = %v, %v; want [5]", epochs, err)
	}
}

func testTally(t *testing.T, spec string) {
	s := Open(t, spec)
	ctx := context.Background()
	var batch []store.Report
	for i := range 100 {
		r := Report(uint64(i), "c", 1, byte(i%3))
		if i%10 == 0 {
			r.Mechanism, r.Answer = 3, []byte{0xff, byte(i % 2)} // another mechanism, multi-byte answers
		}
		batch = append(batch, r)
	}
	if _, err := s.Insert(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	if err := s.Tally(ctx, "c", 1, func(mech store.Mechanism, answer []byte, n int64) error {
		got[fmt.Sprintf("%d:%x", mech, answer)] += n
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"1:00": 30, "1:01": 30, "1:02": 30, "3:ff00": 10}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tally = %v, want %v", got, want)
	}
}

// testFieldLimits stores reports whose fields are at the edges of their
// types — the largest epoch, a campaign id of multi-byte UTF-8, the largest
// mechanism, an empty and a long answer — and reads each back as written
// (PostgreSQL's COPY data is encoded by the store itself).
func testFieldLimits(t *testing.T, spec string) {
	s := Open(t, spec)
	ctx := context.Background()
	const campaign, epoch = "café-日本-ü", uint32(1<<32 - 1)
	long := bytes.Repeat([]byte{0xa5}, 300)
	batch := []store.Report{Report(1, campaign, epoch, 1), Report(2, campaign, epoch, 0), Report(3, campaign, epoch, 0)}
	batch[1].Mechanism, batch[1].Answer = 255, []byte{}
	batch[2].Mechanism, batch[2].Answer = 7, long
	fresh, err := s.Insert(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fresh, []bool{true, true, true}) {
		t.Fatalf("fresh = %v", fresh)
	}
	if epochs, err := s.Epochs(ctx, campaign); err != nil || !slices.Equal(epochs, []uint32{epoch}) {
		t.Fatalf("epochs = %v, %v; want [%d]", epochs, err, epoch)
	}
	got := map[string]int64{}
	if err := s.Tally(ctx, campaign, epoch, func(mech store.Mechanism, answer []byte, n int64) error {
		got[fmt.Sprintf("%d:%x", mech, answer)] += n
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"1:01": 1, "255:": 1, fmt.Sprintf("7:%x", long): 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tally = %v, want %v", got, want)
	}
}

// testConcurrentNodes has two store handles (two nodes) insert overlapping
// batches at once: every id is fresh exactly once.
func testConcurrentNodes(t *testing.T, spec string) {
	nodes := []store.Store{Open(t, spec), Open(t, spec)}
	ctx := context.Background()
	exactlyOnce(t, 2000, 8, 250, 31, func(w int, keys []uint64) ([]bool, error) {
		batch := make([]store.Report, len(keys))
		for i, id := range keys {
			batch[i] = Report(id, "n", 1, 1)
		}
		return nodes[w%2].Insert(ctx, batch)
	})
}

// exactlyOnce runs writers goroutines at once, each writing every id below
// ids in batches of per (overlapping, each writer in its own order: id
// (start + 7i + stride·w) mod ids) with write, which reports for each id
// whether this write was the one that stored it; every id must be fresh
// exactly once across all writers. It returns how many ids were stored.
func exactlyOnce(t *testing.T, ids, writers, per, stride int, write func(w int, keys []uint64) ([]bool, error)) int {
	t.Helper()
	var mu sync.Mutex
	freshCount := map[uint64]int{}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for start := 0; start < ids; start += per {
				keys := make([]uint64, per)
				for i := range keys {
					keys[i] = uint64((start + i*7 + w*stride) % ids)
				}
				fresh, err := write(w, keys)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for i, f := range fresh {
					if f {
						freshCount[keys[i]]++
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for id, n := range freshCount {
		if n != 1 {
			t.Fatalf("id %d fresh %d times", id, n)
		}
	}
	return len(freshCount)
}

func testDurable(t *testing.T, spec string) {
	ctx := context.Background()
	s, err := store.Open(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Insert(ctx, []store.Report{Report(1, "d", 1, 1)}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddToken(ctx, store.Token{Hash: []byte("h"), Role: "operator", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = Open(t, spec) // reopening runs the migrations again: a no-op
	fresh, err := s.Insert(ctx, []store.Report{Report(1, "d", 1, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if fresh[0] {
		t.Error("a report stored before reopening was accepted again")
	}
	if _, err := s.Token(ctx, []byte("h")); err != nil {
		t.Error(err)
	}
}

func testKeys(t *testing.T, spec string) {
	s := Open(t, spec)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.AddKey(ctx, store.Key{ID: 1, Private: []byte("k1"), State: store.KeyActive, CreatedAt: t0, ChangedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKey(ctx, store.Key{ID: 1, Private: []byte("other"), State: store.KeyPending, CreatedAt: t0, ChangedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("adding over an active key: %v, want ErrConflict", err)
	}
	if err := s.SetKeyState(ctx, 9, store.KeyActive, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing key: %v, want ErrNotFound", err)
	}
	t1 := t0.Add(time.Hour)
	if err := s.SetKeyState(ctx, 1, store.KeyExpired, t1); !errors.Is(err, store.ErrLastActiveKey) {
		t.Fatalf("expiring the only active key: %v, want ErrLastActiveKey", err)
	}
	if err := s.AddKey(ctx, store.Key{ID: 255, Private: []byte("k255"), State: store.KeyActive, CreatedAt: t0, ChangedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetKeyState(ctx, 1, store.KeyExpired, t1); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKey(ctx, store.Key{ID: 1, Private: []byte("k1b"), State: store.KeyPending, CreatedAt: t1, ChangedAt: t1}); err != nil {
		t.Fatalf("reusing an expired key's id: %v", err)
	}
	keys, err := s.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Key{
		{ID: 1, Private: []byte("k1b"), State: store.KeyPending, CreatedAt: t1, ChangedAt: t1},
		{ID: 255, Private: []byte("k255"), State: store.KeyActive, CreatedAt: t0, ChangedAt: t0},
	}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
}

func testReplaceKey(t *testing.T, spec string) {
	s := Open(t, spec)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t1 := t0.Add(time.Minute)
	if err := s.AddKey(ctx, store.Key{ID: 1, Private: []byte("k1"), State: store.KeyActive, CreatedAt: t0, ChangedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceKey(ctx, store.Key{ID: 2, Private: []byte("k2"), State: store.KeyActive, CreatedAt: t1, ChangedAt: t1}, 9); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("replacing a missing key: %v, want ErrNotFound", err)
	}
	if keys := keyStates(t, s); keys != "1:active" {
		t.Fatalf("after a failed replace: keys %s, want 1:active (nothing added)", keys)
	}
	if err := s.ReplaceKey(ctx, store.Key{ID: 2, Private: []byte("k2"), State: store.KeyActive, CreatedAt: t1, ChangedAt: t1}, 1); err != nil {
		t.Fatal(err)
	}
	if keys := keyStates(t, s); keys != "1:expired 2:active" {
		t.Fatalf("after replacing 1 by 2: keys %s", keys)
	}
}

// keyStates is "id:state …" of s's keys.
func keyStates(t testing.TB, s store.Store) string {
	t.Helper()
	keys, err := s.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%d:%s", k.ID, k.State))
	}
	return strings.Join(out, " ")
}

// testLastActiveKey expires two active keys from two nodes at once: one
// wins, the other is refused, and one key stays active.
func testLastActiveKey(t *testing.T, spec string) {
	nodes := []store.Store{Open(t, spec), Open(t, spec)}
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	survivor := -1
	for round := range 5 {
		pair := []uint8{uint8(2*round + 1), uint8(2*round + 2)}
		for _, id := range pair {
			if err := nodes[0].AddKey(ctx, store.Key{ID: id, Private: []byte{id}, State: store.KeyActive, CreatedAt: t0, ChangedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		if survivor >= 0 {
			if err := nodes[0].SetKeyState(ctx, uint8(survivor), store.KeyExpired, t0); err != nil {
				t.Fatal(err)
			}
		}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = n.SetKeyState(ctx, pair[i], store.KeyExpired, t0)
			}()
		}
		wg.Wait()
		refused := 0
		for i, err := range errs {
			switch {
			case errors.Is(err, store.ErrLastActiveKey):
				refused++
				survivor = int(pair[i])
			case err != nil:
				t.Fatal(err)
			}
		}
		if refused != 1 {
			t.Fatalf("round %d: %d of 2 concurrent expiries refused, want 1 (keys %s)", round, refused, keyStates(t, nodes[0]))
		}
	}
}

// testWatchKeys watches keys on one node while another changes them: the
// watcher hears each key change, not report inserts, and stops with its
// context.
func testWatchKeys(t *testing.T, spec string) {
	watcher, writer := Open(t, spec), Open(t, spec)
	ctx, cancel := context.WithCancel(context.Background())
	calls := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() { done <- watcher.WatchKeys(ctx, func() { calls <- struct{}{} }) }()
	wait := func(what string) {
		t.Helper()
		select {
		case <-calls:
		case err := <-done:
			t.Fatalf("%s: watch ended: %v", what, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no call within 10 s", what)
		}
	}
	wait("start")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := writer.AddKey(ctx, store.Key{ID: 1, Private: []byte("k1"), State: store.KeyActive, CreatedAt: t0, ChangedAt: t0}); err != nil {
		t.Fatal(err)
	}
	wait("a new key")
	if err := writer.AddKey(ctx, store.Key{ID: 2, Private: []byte("k2"), State: store.KeyPending, CreatedAt: t0, ChangedAt: t0}); err != nil {
		t.Fatal(err)
	}
	wait("a second key")
	if err := writer.SetKeyState(ctx, 2, store.KeyActive, t0); err != nil {
		t.Fatal(err)
	}
	wait("a state change")
	if _, err := writer.Insert(ctx, []store.Report{Report(1, "c", 1, 1)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-calls:
		t.Fatal("a report insert was taken for a key change")
	case <-time.After(600 * time.Millisecond):
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("watch ended with %v, want context.Canceled", err)
	}
}

// testRewrap rewrites some private values; a failing callback leaves
// every row as it was.
func testRewrap(t *testing.T, spec string) {
	s := Open(t, spec)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for id := uint8(1); id <= 2; id++ {
		if err := s.AddKey(ctx, store.Key{ID: id, Private: []byte{'k', '0' + id}, State: store.KeyActive, CreatedAt: t0, ChangedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"a", "b"} {
		if _, err := s.Secret(ctx, name, []byte("s"+name)); err != nil {
			t.Fatal(err)
		}
	}
	boom := errors.New("boom")
	err := s.Rewrap(ctx, func(id uint8, v []byte) ([]byte, error) { return append([]byte("x"), v...), nil },
		func(string, []byte) ([]byte, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("rewrap with a failing callback: %v, want it", err)
	}
	err = s.Rewrap(ctx, func(id uint8, v []byte) ([]byte, error) {
		if id == 2 {
			return nil, nil
		}
		return append([]byte("x"), v...), nil
	}, func(name string, v []byte) ([]byte, error) {
		if name == "b" {
			return nil, nil
		}
		return append([]byte("x"), v...), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := s.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.Secret(ctx, "a", []byte("?"))
	b, _ := s.Secret(ctx, "b", []byte("?"))
	if got := fmt.Sprintf("%s %s %s %s", keys[0].Private, keys[1].Private, a, b); got != "xk1 k2 xsa sb" {
		t.Fatalf("after rewrap: %s, want xk1 k2 xsa sb (the failed one rolled back)", got)
	}
}

func testCampaigns(t *testing.T, spec string) {
	s := Open(t, spec)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := store.Campaign{ID: "a", Tenant: "acme", Config: []byte(`{"id":"a"}`), Signature: []byte("sig"), CreatedAt: t0}
	b := store.Campaign{ID: "b", Tenant: "globex", Config: []byte(`{"id":"b"}`), Signature: []byte("sig2"), CreatedAt: t0}
	for _, c := range []store.Campaign{b, a} {
		if err := s.AddCampaign(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddCampaign(ctx, store.Campaign{ID: "a", Tenant: "globex", Config: []byte("x"), Signature: []byte("y"), CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate campaign: %v, want ErrConflict", err)
	}
	got, err := s.Campaigns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.State, b.State = store.CampaignActive, store.CampaignActive
	if want := []store.Campaign{a, b}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("campaigns = %v, want %v", got, want)
	}

	// Lifecycle: active → paused → active → archived; a move from a state
	// the campaign is not in is a conflict, an unknown id not found.
	t1 := t0.Add(time.Hour)
	for _, step := range []struct {
		from []store.CampaignState
		to   store.CampaignState
		err  error
	}{
		{[]store.CampaignState{store.CampaignActive}, store.CampaignPaused, nil},
		{[]store.CampaignState{store.CampaignActive}, store.CampaignPaused, store.ErrConflict},
		{[]store.CampaignState{store.CampaignPaused}, store.CampaignActive, nil},
		{[]store.CampaignState{store.CampaignActive, store.CampaignPaused}, store.CampaignArchived, nil},
		{[]store.CampaignState{store.CampaignActive, store.CampaignPaused}, store.CampaignActive, store.ErrConflict},
	} {
		if err := s.SetCampaignState(ctx, "a", step.from, step.to, t1); !errors.Is(err, step.err) || (err == nil) != (step.err == nil) {
			t.Fatalf("a %v → %s: %v, want %v", step.from, step.to, err, step.err)
		}
	}
	if err := s.SetCampaignState(ctx, "nope", []store.CampaignState{store.CampaignActive}, store.CampaignPaused, t1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown campaign: %v, want ErrNotFound", err)
	}
	got, err = s.Campaigns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].State != store.CampaignArchived || !got[0].StateChangedAt.Equal(t1) || got[1].State != store.CampaignActive || !got[1].StateChangedAt.IsZero() {
		t.Errorf("after the moves: %+v", got)
	}
}

func testReleases(t *testing.T, spec string) {
	nodes := []store.Store{Open(t, spec), Open(t, spec)}
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	first, err := nodes[0].Release(ctx, store.Release{Campaign: "a", Epoch: 7, ReleasedAt: t0, Body: []byte("first")})
	if err != nil {
		t.Fatal(err)
	}
	second, err := nodes[1].Release(ctx, store.Release{Campaign: "a", Epoch: 7, ReleasedAt: t0.Add(time.Hour), Body: []byte("second")})
	if err != nil {
		t.Fatal(err)
	}
	want := store.Release{Campaign: "a", Epoch: 7, ReleasedAt: t0, Body: []byte("first")}
	for i, got := range []store.Release{first, second} {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("release %d = %v, want %v (released results are immutable)", i, got, want)
		}
	}
	if _, err := nodes[1].Release(ctx, store.Release{Campaign: "a", Epoch: 3, ReleasedAt: t0, Body: []byte("three")}); err != nil {
		t.Fatal(err)
	}
	list, err := nodes[0].Releases(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Epoch != 3 || list[1].Epoch != 7 || string(list[1].Body) != "first" {
		t.Errorf("releases = %v", list)
	}
}

func testTokens(t *testing.T, spec string) {
	s := Open(t, spec)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tok := store.Token{Hash: []byte{1, 2, 3}, Role: "marketer", Tenant: "acme", Name: "ci", CreatedAt: t0}
	if err := s.AddToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.AddToken(ctx, tok); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate token: %v, want ErrConflict", err)
	}
	got, err := s.Token(ctx, tok.Hash)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(tok) {
		t.Fatalf("token = %v, %v; want %v", got, err, tok)
	}
	if _, err := s.Token(ctx, []byte{9}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown token: %v, want ErrNotFound", err)
	}
	// An expiring token keeps its expiry, to the microsecond (PostgreSQL's
	// resolution); the one without stays without.
	expiring := store.Token{Hash: []byte{4, 5, 6}, Role: "operator", Name: "ttl", CreatedAt: t0.Add(time.Second),
		ExpiresAt: t0.Add(720*time.Hour + 123456*time.Microsecond)}
	if err := s.AddToken(ctx, expiring); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Token(ctx, expiring.Hash); err != nil || !got.ExpiresAt.Equal(expiring.ExpiresAt) {
		t.Fatalf("expiring token = %v, %v; want expiry %v", got, err, expiring.ExpiresAt)
	}
	if list, err := s.Tokens(ctx); err != nil || len(list) != 2 || !list[0].ExpiresAt.IsZero() || !list[1].ExpiresAt.Equal(expiring.ExpiresAt) {
		t.Fatalf("tokens = %v, %v; want %v, %v", list, err, tok, expiring)
	}
	if err := s.DeleteToken(ctx, tok.Hash); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteToken(ctx, tok.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting twice: %v, want ErrNotFound", err)
	}
}

func testSecret(t *testing.T, spec string) {
	nodes := []store.Store{Open(t, spec), Open(t, spec)}
	ctx := context.Background()
	a, err := nodes[0].Secret(ctx, "signing", []byte("A"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := nodes[1].Secret(ctx, "signing", []byte("B"))
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != "A" || string(b) != "A" {
		t.Errorf("secret = %q, %q; want the first writer's on both nodes", a, b)
	}
	if got, err := nodes[1].LookupSecret(ctx, "signing"); err != nil || string(got) != "A" {
		t.Errorf("LookupSecret = %q, %v; want A", got, err)
	}
	if _, err := nodes[0].LookupSecret(ctx, "other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LookupSecret of a missing secret: %v, want ErrNotFound", err)
	}
}

// testSecrets: the listing is by exact prefix — a LIKE wildcard in it
// matches only itself — and sees other nodes' secrets.
func testSecrets(t *testing.T, spec string) {
	nodes := []store.Store{Open(t, spec), Open(t, spec)}
	ctx := context.Background()
	for _, name := range []string{"ohttp-key/1", "ohttp-key/2", "ohttp-keyx", "signing", "a_b/1", "axb/1"} {
		if _, err := nodes[0].Secret(ctx, name, []byte("v-"+name)); err != nil {
			t.Fatal(err)
		}
	}
	for prefix, want := range map[string]string{"ohttp-key/": "ohttp-key/1 ohttp-key/2", "a_b/": "a_b/1", "none/": ""} {
		got, err := nodes[1].Secrets(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		names := slices.Sorted(maps.Keys(got))
		if strings.Join(names, " ") != want {
			t.Errorf("Secrets(%q) = %v, want %s", prefix, names, want)
		}
		for _, n := range names {
			if string(got[n]) != "v-"+n {
				t.Errorf("Secrets(%q)[%s] = %q", prefix, n, got[n])
			}
		}
	}
}

func testClosed(t *testing.T, spec string) {
	s, err := store.Open(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.Insert(context.Background(), []store.Report{Report(1, "a", 1, 1)}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("insert after close: %v, want ErrClosed", err)
	}
}
