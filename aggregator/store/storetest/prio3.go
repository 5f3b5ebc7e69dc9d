package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator/store"
)

// prio3Report makes a pending prio3 report whose shares name its id.
func prio3Report(id uint64, campaign string, epoch uint32) store.Prio3Report {
	r := store.Prio3Report{ID: Report(id, campaign, epoch, 0).ID, Campaign: campaign, Epoch: epoch,
		Public: []byte{byte(id), 'p'}, Leader: []byte{byte(id), 'l'}, Helper: []byte{byte(id), 'h'}}
	if id%2 == 0 {
		r.Public = nil // Count and Sum have no public share
	}
	return r
}

// appendFresh is an AggregatePrio3 add function whose "share" is the
// concatenated ids of the fresh aggregated outcomes: what was added, and
// how often, can be read back.
func appendFresh(outcomes []store.Prio3Outcome) func([]bool, []byte, int64) ([]byte, int64, error) {
	return func(fresh []bool, share []byte, n int64) ([]byte, int64, error) {
		share = bytes.Clone(share)
		for i, o := range outcomes {
			if fresh[i] && o.State == store.Prio3Aggregated {
				share = append(share, o.ID[0])
				n++
			}
		}
		return share, n, nil
	}
}

func outcome(id uint64, state store.Prio3State) store.Prio3Outcome {
	o := store.Prio3Outcome{ID: Report(id, "", 0, 0).ID, State: state}
	if state == store.Prio3Aggregated {
		o.Message = []byte{byte(id), 'm'}
	}
	return o
}

// testPrio3Leader walks a batch through the leader's life: accepted
// (replays refused), pending, prepared (each report once), collected once.
func testPrio3Leader(t *testing.T, spec string) {
	s := Open(t, spec)
	ctx := context.Background()
	fresh, err := s.InsertPrio3(ctx, []store.Prio3Report{prio3Report(1, "p", 7), prio3Report(2, "p", 7), prio3Report(3, "p", 7),
		prio3Report(1, "p", 7), prio3Report(4, "p", 8), prio3Report(5, "q", 7)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, true, false, true, true}; !slices.Equal(fresh, want) {
		t.Errorf("fresh = %v, want %v", fresh, want)
	}
	if fresh, err := s.InsertPrio3(ctx, []store.Prio3Report{prio3Report(2, "q", 9), prio3Report(6, "p", 7)}); err != nil || !slices.Equal(fresh, []bool{false, true}) {
		t.Errorf("second batch: fresh = %v, %v; want [false true] (a replay across batches and campaigns)", fresh, err)
	}
	s.Close()
	s = Open(t, spec) // durable
	pending, err := s.PendingPrio3(ctx, "p", 7, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 3 {
		t.Fatalf("PendingPrio3(limit 3) = %d reports", len(pending))
	}
	for i, id := range []uint64{1, 2, 3} {
		want := prio3Report(id, "p", 7)
		got := pending[i]
		if got.ID != want.ID || got.Campaign != "p" || got.Epoch != 7 || !bytes.Equal(got.Public, want.Public) ||
			!bytes.Equal(got.Leader, want.Leader) || !bytes.Equal(got.Helper, want.Helper) {
			t.Errorf("pending[%d] = %+v, want %+v", i, got, want)
		}
	}

	// Prepare 1 and 2 (2 rejected); 9 was never stored here (a helper records it).
	outs := []store.Prio3Outcome{outcome(1, store.Prio3Aggregated), outcome(2, store.Prio3Rejected), outcome(4, store.Prio3Aggregated)}
	fresh, err = s.AggregatePrio3(ctx, "p", 7, outs, func(fresh []bool, share []byte, n int64) ([]byte, int64, error) {
		if len(share) != 0 || n != 0 {
			t.Errorf("first add got share %x, %d reports; want none", share, n)
		}
		return appendFresh(outs)(fresh, share, n)
	})
	if err != nil {
		t.Fatal(err)
	}
	// Report 4 is pending in epoch 8, not 7: not recorded here.
	if want := []bool{true, true, false}; !slices.Equal(fresh, want) {
		t.Errorf("aggregate fresh = %v, want %v", fresh, want)
	}
	// A repeated job records nothing and adds nothing.
	fresh, err = s.AggregatePrio3(ctx, "p", 7, outs[:2], appendFresh(outs[:2]))
	if err != nil || !slices.Equal(fresh, []bool{false, false}) {
		t.Errorf("repeated aggregate: fresh = %v, %v; want none", fresh, err)
	}
	got, err := s.Prio3Outcomes(ctx, "p", 7, []store.ReportID{outs[0].ID, outs[1].ID, prio3Report(3, "p", 7).ID, outs[2].ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[outs[0].ID].State != store.Prio3Aggregated || !bytes.Equal(got[outs[0].ID].Message, outs[0].Message) ||
		got[outs[1].ID].State != store.Prio3Rejected || got[outs[1].ID].Message != nil {
		t.Errorf("outcomes = %+v, want 1 aggregated with its message and 2 rejected (3 and 4 pending)", got)
	}
	if pending, err := s.PendingPrio3(ctx, "p", 7, 100); err != nil || len(pending) != 2 || pending[0].ID != prio3Report(3, "p", 7).ID {
		t.Errorf("pending after the job = %+v, %v; want 3 and 6", pending, err)
	}
	batches, err := s.Prio3Batches(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Prio3Batch{{Epoch: 7, Pending: 2, Aggregated: 1, Rejected: 1}, {Epoch: 8, Pending: 1}}
	if !slices.Equal(batches, want) {
		t.Errorf("batches = %+v, want %+v", batches, want)
	}

	// Collection noises once; later calls return the stored noised share.
	at := time.Unix(1_700_000_000, 0).UTC()
	calls := 0
	noise := func(share []byte, n int64) ([]byte, error) {
		calls++
		if !bytes.Equal(share, []byte{1}) || n != 1 {
			t.Errorf("noise got %x, %d; want 01, 1", share, n)
		}
		return append(bytes.Clone(share), 0xee), nil
	}
	a, err := s.CollectPrio3(ctx, "p", 7, at, noise)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.CollectPrio3(ctx, "p", 7, at.Add(time.Hour), noise)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || !bytes.Equal(a.Noised, []byte{1, 0xee}) || !bytes.Equal(again.Noised, a.Noised) ||
		a.Reports != 1 || !bytes.Equal(a.Share, []byte{1}) || !again.CollectedAt.Equal(at) {
		t.Errorf("collect = %+v then %+v with %d noise calls; want one noising at %v", a, again, calls, at)
	}
	if _, err := s.AggregatePrio3(ctx, "p", 7, []store.Prio3Outcome{outcome(3, store.Prio3Aggregated)}, appendFresh(nil)); !errors.Is(err, store.ErrCollected) {
		t.Errorf("aggregate into a collected batch: %v, want ErrCollected", err)
	}
	if pending, _ := s.PendingPrio3(ctx, "p", 7, 100); len(pending) != 2 {
		t.Errorf("a refused job changed the pending reports: %d left", len(pending))
	}
	if _, err := s.CollectPrio3(ctx, "p", 8, at, noise); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("collect a batch without aggregate: %v, want ErrNotFound", err)
	}
	refuse := errors.New("below min batch")
	if _, err := s.AggregatePrio3(ctx, "q", 7, nil, appendFresh(nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CollectPrio3(ctx, "q", 7, at, func([]byte, int64) ([]byte, error) { return nil, refuse }); !errors.Is(err, refuse) {
		t.Errorf("a refusing noise: %v", err)
	}
	if b, _ := s.Prio3Batches(ctx, "q"); len(b) != 1 || b[0].Collected {
		t.Errorf("a refused collection left %+v", b)
	}
}

// testPrio3Helper: the helper records outcomes of reports it never stored
// pending, and refuses none twice — also when two nodes run the same jobs
// at once.
func testPrio3Helper(t *testing.T, spec string) {
	nodes := []store.Store{Open(t, spec), Open(t, spec)}
	ctx := context.Background()
	const ids = 400
	stored := exactlyOnce(t, ids, 6, 50, 13, func(w int, keys []uint64) ([]bool, error) {
		outs := make([]store.Prio3Outcome, len(keys))
		for i, id := range keys {
			state := store.Prio3Aggregated
			if id%5 == 0 {
				state = store.Prio3Rejected
			}
			outs[i] = outcome(id, state)
		}
		return nodes[w%2].AggregatePrio3(ctx, "h", 3, outs, func(fresh []bool, share []byte, n int64) ([]byte, int64, error) {
			for i, o := range outs {
				if fresh[i] && o.State == store.Prio3Aggregated {
					n++
				}
			}
			return []byte{byte(n)}, n, nil
		})
	})
	batches, err := nodes[0].Prio3Batches(ctx, "h")
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.Prio3Batch{{Epoch: 3, Aggregated: int64(stored) * 4 / 5, Rejected: int64(stored) / 5}}; stored != ids || !slices.Equal(batches, want) {
		t.Errorf("batches = %+v over %d ids, want %+v", batches, stored, want)
	}
	// A report prepared in one batch is not recorded in another.
	fresh, err := nodes[1].AggregatePrio3(ctx, "h", 4, []store.Prio3Outcome{outcome(1, store.Prio3Aggregated), outcome(ids+1, store.Prio3Aggregated)}, appendFresh(nil))
	if err != nil || !slices.Equal(fresh, []bool{false, true}) {
		t.Errorf("cross-batch: fresh = %v, %v; want [false true]", fresh, err)
	}
	if _, err := nodes[0].AggregatePrio3(ctx, "h", 4, []store.Prio3Outcome{{ID: outcome(9999, "").ID, State: store.Prio3Pending}}, appendFresh(nil)); err == nil {
		t.Error("a pending outcome was accepted")
	}
}
