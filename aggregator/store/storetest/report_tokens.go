package storetest

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator/store"
)

// testTokenClaims: a token nonce is held by the first report that claims
// it, on every node and across a reopen; the same report may claim it
// again, no other report can, and the same nonce in another campaign
// epoch is another token. The leader keeps a pending prio3 report's token.
func testTokenClaims(t *testing.T, spec string) {
	ctx := context.Background()
	s := Open(t, spec)
	n1, n2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	r1, r2 := Report(1, "c", 1, 0).ID, Report(2, "c", 1, 0).ID
	held, err := s.ClaimReportTokens(ctx, []store.TokenClaim{
		{Campaign: "c", Epoch: 1, Nonce: n1, Report: r1},
		{Campaign: "c", Epoch: 1, Nonce: n1, Report: r2}, // reused in the same batch
		{Campaign: "c", Epoch: 2, Nonce: n1, Report: r2}, // another epoch
		{Campaign: "d", Epoch: 1, Nonce: n2, Report: r2},
	})
	if err != nil || !slices.Equal(held, []bool{true, false, true, true}) {
		t.Fatalf("first claims: %v %v", held, err)
	}
	other := Open(t, spec) // another node
	held, err = other.ClaimReportTokens(ctx, []store.TokenClaim{
		{Campaign: "c", Epoch: 1, Nonce: n1, Report: r1}, // the same report again (a resend)
		{Campaign: "c", Epoch: 1, Nonce: n1, Report: r2},
		{Campaign: "d", Epoch: 1, Nonce: n2, Report: r1},
	})
	if err != nil || !slices.Equal(held, []bool{true, false, false}) {
		t.Fatalf("claims on another node: %v %v", held, err)
	}
	// Concurrent claims of one nonce by many reports: exactly one holds it.
	var wg sync.WaitGroup
	wins := make([]bool, 8)
	errs := make([]error, 8)
	n3 := bytes.Repeat([]byte{3}, 32)
	for w := range wins {
		wg.Go(func() {
			st := []store.Store{s, other}[w%2]
			h, err := st.ClaimReportTokens(ctx, []store.TokenClaim{{Campaign: "c", Epoch: 1, Nonce: n3, Report: Report(uint64(10+w), "c", 1, 0).ID}})
			errs[w] = err
			if err == nil {
				wins[w] = h[0]
			}
		})
	}
	wg.Wait()
	count := 0
	for w, won := range wins {
		if errs[w] != nil {
			t.Fatal(errs[w])
		}
		if won {
			count++
		}
	}
	if count != 1 {
		t.Fatalf("%d concurrent claimants hold one nonce, want 1", count)
	}
	// Deleting an epoch's reports (after its release) forgets its nonces,
	// and only its own.
	if _, err := s.DeleteReports(ctx, "c", 1); err != nil {
		t.Fatal(err)
	}
	held, err = other.ClaimReportTokens(ctx, []store.TokenClaim{
		{Campaign: "c", Epoch: 1, Nonce: n1, Report: r2},
		{Campaign: "c", Epoch: 2, Nonce: n1, Report: r1},
	})
	if err != nil || !slices.Equal(held, []bool{true, false}) {
		t.Fatalf("claims after the epoch's reports were deleted: %v %v, want c/1 forgotten, c/2 kept", held, err)
	}

	tok := []byte("a token")
	p := prio3Report(40, "p", 7)
	p.Token = tok
	if _, err := s.InsertPrio3(ctx, []store.Prio3Report{p, prio3Report(41, "p", 7)}); err != nil {
		t.Fatal(err)
	}
	pending, err := s.PendingPrio3(ctx, "p", 7, 10)
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending: %v %v", pending, err)
	}
	if !bytes.Equal(pending[0].Token, tok) || pending[1].Token != nil {
		t.Fatalf("stored tokens %q %q, want %q and none", pending[0].Token, pending[1].Token, tok)
	}
}

// testIssuances: the first issuance of a (device, campaign, epoch) wins on
// every node; another device, campaign or epoch is another issuance.
func testIssuances(t *testing.T, spec string) {
	ctx := context.Background()
	s, other := Open(t, spec), Open(t, spec)
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	first := store.Issuance{Device: "dev", Campaign: "c", Epoch: 3, Blinded: []byte("one"), IssuedAt: at}
	got, err := s.RecordIssuance(ctx, first)
	if err != nil || !bytes.Equal(got.Blinded, first.Blinded) || !got.IssuedAt.Equal(at) {
		t.Fatalf("first issuance: %+v %v", got, err)
	}
	got, err = other.RecordIssuance(ctx, store.Issuance{Device: "dev", Campaign: "c", Epoch: 3, Blinded: []byte("two"), IssuedAt: at.Add(time.Hour)})
	if err != nil || !bytes.Equal(got.Blinded, first.Blinded) || !got.IssuedAt.Equal(at) {
		t.Fatalf("second issuance on another node: %+v %v, want the first", got, err)
	}
	for _, i := range []store.Issuance{
		{Device: "dev2", Campaign: "c", Epoch: 3}, {Device: "dev", Campaign: "d", Epoch: 3}, {Device: "dev", Campaign: "c", Epoch: 4},
	} {
		i.Blinded, i.IssuedAt = []byte("fresh"), at
		got, err := s.RecordIssuance(ctx, i)
		if err != nil || string(got.Blinded) != "fresh" {
			t.Fatalf("%+v: %+v %v", i, got, err)
		}
	}
}
