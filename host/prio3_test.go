package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/prio"
	"github.com/wisp-project/wisp/internal/wire"
)

// prio3Campaigns ask the workouts plugin's categories one prio3 question
// of each type, and one about Running's neighbour 408, which no plugin on
// the test device scores (a null report).
func prio3Campaigns(t testing.TB, helper *wire.KeyPair) []campaign.Campaign {
	t.Helper()
	keys, err := wire.Marshal(wire.KeyConfigList{Configs: []wire.KeyConfig{helper.Config}})
	if err != nil {
		t.Fatal(err)
	}
	p3 := func(id string, q campaign.Question) campaign.Campaign {
		return campaign.Campaign{ID: id, Name: id, Question: q, EpochSeconds: 7 * 86400, K: 1, Mode: campaign.ModePrio3,
			Prio3: &campaign.Prio3{CentralEpsilon: 0.5, MinBatch: 1, HelperURL: "https://helper.test", HelperKeys: keys}}
	}
	return []campaign.Campaign{
		p3("p3-runners", campaign.Question{Type: campaign.QuestionThreshold, Category: 410, MinScore: 0.5}),
		p3("p3-top", campaign.Question{Type: campaign.QuestionTopK, Categories: []uint32{625, 410, 408}, K: 2}),
		p3("p3-mean", campaign.Question{Type: campaign.QuestionMean, Category: 410}),
		p3("p3-null", campaign.Question{Type: campaign.QuestionThreshold, Category: 408, MinScore: 0.5}),
	}
}

func newHelperKey(t *testing.T) *wire.KeyPair {
	t.Helper()
	k, err := wire.GenerateKeyPair(7, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// prio3Device is readyDevice with camps served by agg and consented to.
func prio3Device(t *testing.T, dir string, clock *fakeClock, agg *testAggregator, camps []campaign.Campaign) (*Device, author) {
	t.Helper()
	agg.serve(t, camps...)
	d, a := readyDevice(t, dir, clock, agg)
	for _, c := range camps {
		if err := d.Grant(context.Background(), CampaignPurpose(c.ID)); err != nil {
			t.Fatal(err)
		}
	}
	return d, a
}

// prio3Uploads decodes every Prio3 report the aggregator received from
// the upload at index from on, by campaign.
func prio3Uploads(t *testing.T, agg *testAggregator, from int) map[string][]wire.Prio3Report {
	t.Helper()
	out := map[string][]wire.Prio3Report{}
	for _, p := range agg.uploadsSeen()[from:] {
		batch, err := wire.DecodeBatch(p.body)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range batch.Reports {
			mode, err := wire.PeekMode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if mode != wire.ModePrio3 {
				t.Fatalf("an LDP envelope left for a prio3-only device")
			}
			r, err := wire.DecodePrio3Report(raw)
			if err != nil {
				t.Fatal(err)
			}
			out[r.Campaign] = append(out[r.Campaign], r)
		}
	}
	return out
}

// aggregatePrio3 is what leader and helper do, in process: each opens its
// share with its own private key and prepares it; the helper combines the
// prep shares; both add their output shares; the collector unshards (no
// noise, to check the totals exactly).
func aggregatePrio3(t *testing.T, c *campaign.Campaign, reports []wire.Prio3Report, leaderKey, helperKey *wire.KeyPair) []int64 {
	t.Helper()
	p, err := c.Instance()
	if err != nil {
		t.Fatal(err)
	}
	vk := prio.NewVerifyKey()
	leader, err := prio.NewAggregator(p, prio.AppContext(c.ID), prio.Leader, vk)
	if err != nil {
		t.Fatal(err)
	}
	helper, err := prio.NewAggregator(p, prio.AppContext(c.ID), prio.Helper, vk)
	if err != nil {
		t.Fatal(err)
	}
	lsum, _ := prio.NewAggShare(p)
	hsum, _ := prio.NewAggShare(p)
	for _, r := range reports {
		lin, err := leaderKey.OpenShare(r.Leader, r.AAD(prio.Leader))
		if err != nil {
			t.Fatalf("leader share: %v", err)
		}
		hin, err := helperKey.OpenShare(r.Helper, r.AAD(prio.Helper))
		if err != nil {
			t.Fatalf("helper share: %v", err)
		}
		ls, lps, err := leader.PrepInit(prio.Nonce(r.ID), r.Public, lin)
		if err != nil {
			t.Fatal(err)
		}
		hs, hps, err := helper.PrepInit(prio.Nonce(r.ID), r.Public, hin)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := helper.PrepSharesToPrep(lps, hps)
		if err != nil {
			t.Fatalf("%s: the report's proof does not verify: %v", c.ID, err)
		}
		lo, err := leader.PrepNext(ls, msg)
		if err != nil {
			t.Fatal(err)
		}
		ho, err := helper.PrepNext(hs, msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := errorsJoin(lsum.Add(lo), hsum.Add(ho)); err != nil {
			t.Fatal(err)
		}
	}
	total, err := prio.Unshard(p, lsum, hsum)
	if err != nil {
		t.Fatal(err)
	}
	return total
}

func errorsJoin(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// TestPrio3DeviceAnswers: a device answering prio3 campaigns uploads one
// Prio3 report per consented campaign and epoch — a null one for the
// campaign no plugin scores — whose shares, opened with the leader's and
// the helper's private keys and prepared by both, add up to the true
// measurement exactly. The ledger is charged the central ε on the
// question's categories, no memo is written, the owner's view names both
// aggregators, and revoking a campaign stops its reports.
func TestPrio3DeviceAnswers(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregator(t, clock)
	helperKey := newHelperKey(t)
	camps := prio3Campaigns(t, helperKey)
	d, _ := prio3Device(t, t.TempDir(), clock, agg, camps)
	sum, err := d.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Answered != len(camps) || sum.Dummies != 0 {
		t.Fatalf("answered %d campaigns (%d dummies), want %d and none", sum.Answered, sum.Dummies, len(camps))
	}
	scores, err := d.localScores(ctx, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	run := float64(scores[410])
	if run < 0.5 || scores[408] != 0 || scores[625] != 0 {
		t.Fatalf("the test device's scores are %v; the expectations below assume running ≥ 0.5 only", scores)
	}
	want := map[string][]int64{
		"p3-runners": {1},
		"p3-top":     {0, 1, 0}, // Running only, of Cycling, Running, 408
		"p3-mean":    {int64(math.Round(run * 255))},
		"p3-null":    {0}, // no plugin scores 408: a null report
	}
	got := prio3Uploads(t, agg, 0)
	epoch := camps[0].Epoch(clock.Now())
	for i := range camps {
		c := &camps[i]
		if err := c.Validate(DefaultTaxonomy()); err != nil {
			t.Fatal(err)
		}
		reps := got[c.ID]
		if len(reps) != 1 || reps[0].Epoch != epoch {
			t.Fatalf("%s: %d reports, want one for epoch %d", c.ID, len(reps), epoch)
		}
		if total := aggregatePrio3(t, c, reps, agg.pair, helperKey); !reflect.DeepEqual(total, want[c.ID]) {
			t.Errorf("%s: aggregate %v, want the true measurement %v", c.ID, total, want[c.ID])
		}
	}

	entries, err := d.ledger.Entries(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	charged := map[string][]uint32{}
	for _, e := range entries {
		if e.Epsilon != 0.5 || e.Epoch != epoch {
			t.Errorf("ledger entry %+v, want ε 0.5 (the central ε) in epoch %d", e, epoch)
		}
		charged[e.Campaign] = e.Categories
	}
	wantCharged := map[string][]uint32{"p3-runners": {410}, "p3-top": {408, 410, 625}, "p3-mean": {410}, "p3-null": {408}}
	if !reflect.DeepEqual(charged, wantCharged) {
		t.Errorf("ledger charged %v, want %v", charged, wantCharged)
	}
	if _, err := (&Reporter{Key: agg.pair.Config}).Report(&camps[0], epoch, scores); err == nil {
		t.Error("Reporter randomized a prio3 campaign's answer")
	}
	if n, err := d.ledger.MemoCount(ctx); err != nil || n != 0 {
		t.Errorf("%d memos stored (%v): a prio3 answer is not memoized", n, err)
	}

	st, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Campaigns {
		if c.Mode != campaign.ModePrio3 || len(c.SharedWith) != 2 || c.SharedWith[1] != "helper.test" || !strings.HasPrefix(c.SharedWith[0], "127.0.0.1:") {
			t.Errorf("status of %s: mode %q shared with %v", c.ID, c.Mode, c.SharedWith)
		}
	}
	var text bytes.Buffer
	if err := st.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "a secret-shared answer about Interest | Healthy Living | Fitness and Exercise | Running and Jogging, sent to 127.0.0.1:") ||
		!strings.Contains(text.String(), " and helper.test: ") ||
		strings.Contains(text.String(), "no plugin you allowed scores this interest") {
		t.Errorf("the owner's view does not say where prio3 answers go:\n%s", text.String())
	}

	// Once per epoch: a second pass sends nothing more.
	seen := len(agg.uploadsSeen())
	if _, err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(prio3Uploads(t, agg, seen)); n != 0 {
		t.Fatalf("a second pass in the same epoch sent reports for %d campaigns", n)
	}

	// Next epoch, with p3-runners revoked: every other campaign answers again, it does not.
	if err := d.Revoke(ctx, CampaignPurpose("p3-runners"), false); err != nil {
		t.Fatal(err)
	}
	clock.Advance(7 * 24 * time.Hour)
	if _, err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	next := prio3Uploads(t, agg, seen)
	if _, ok := next["p3-runners"]; ok {
		t.Error("a revoked prio3 campaign was answered")
	}
	for _, id := range []string{"p3-top", "p3-mean", "p3-null"} {
		if len(next[id]) != 1 || next[id][0].Epoch != epoch+1 {
			t.Errorf("%s: %d reports in the next epoch, want one", id, len(next[id]))
		}
	}
}

// TestPrio3ConsentCoversHelper: the owner's consent to a prio3 campaign
// is bound to its helper and instance, and an LDP campaign's question
// digest is what it was before campaigns had modes.
const ldpTwinDigest = "7d5cbd99237b9221c4097e32104c1239936acc40fd78ba82eadb3aea44677da1"

func TestPrio3ConsentCoversHelper(t *testing.T) {
	helperKey := newHelperKey(t)
	base := prio3Campaigns(t, helperKey)[0]
	digest := func(c campaign.Campaign) []byte {
		if err := c.Validate(DefaultTaxonomy()); err != nil {
			t.Fatal(err)
		}
		return questionDigest(&c)
	}
	d := digest(base)
	other := base
	p := *base.Prio3
	other.Prio3 = &p
	other.Prio3.HelperURL = "https://another-helper.test"
	ldpTwin := base
	ldpTwin.Mode, ldpTwin.Prio3, ldpTwin.Epsilon = "", nil, 0.5
	for name, c := range map[string]campaign.Campaign{"another helper": other, "the LDP question": ldpTwin} {
		if bytes.Equal(digest(c), d) {
			t.Errorf("consent to the prio3 campaign covers %s", name)
		}
	}
	// An LDP campaign's digest is what it was before modes existed
	// (computed by questionDigest as of commit 00fc0da): stored consents
	// stay valid.
	if got := hex.EncodeToString(digest(ldpTwin)); got != ldpTwinDigest {
		t.Errorf("an LDP campaign's question digest changed: %s", got)
	}
}

// TestPrio3CrashAfterSpend: the ledger entry is durable before a prio3
// report exists. A crash after the spend loses that epoch's report and
// never answers it twice; a crash after the report is queued sends it
// once after the device restarts. Either way the ε is spent exactly once.
func TestPrio3CrashAfterSpend(t *testing.T) {
	for _, tt := range []struct {
		step    string
		reports int
	}{{"after-spend", 0}, {"after-enqueue", 1}} {
		t.Run(tt.step, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			agg := startTestAggregator(t, clock)
			helperKey := newHelperKey(t)
			camps := prio3Campaigns(t, helperKey)[3:] // p3-null: answered whatever the plugins score
			dir := t.TempDir()
			d, a := prio3Device(t, dir, clock, agg, camps)
			d.fault = crashOnceAt(tt.step)
			if _, err := d.Flush(ctx); !errors.Is(err, errCrash) {
				t.Fatalf("Flush = %v, want the injected crash", err)
			}
			d.Close(ctx)
			d = testDevice(t, dir, clock, a, agg)
			for range 2 {
				if _, err := d.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if got := len(prio3Uploads(t, agg, 0)[camps[0].ID]); got != tt.reports {
				t.Errorf("%d reports left, want %d", got, tt.reports)
			}
			spent, err := d.spentPerCampaign(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if spent[camps[0].ID] != 0.5 {
				t.Errorf("ε spent %v, want exactly the central ε 0.5", spent[camps[0].ID])
			}
		})
	}
}
