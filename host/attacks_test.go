package host

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/attack"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/ldp"
)

// The attacks of an operator who defines every campaign against one
// device over its life (issue 14), each run twice: through a real Device
// (the workouts plugin in the sandbox, scheduler, ledger, memo, outbox,
// a real aggregator on 127.0.0.1), to check what one device sends and
// refuses; and through host/attack, which answers with the same code path
// for a population of simulated devices, to measure the attacker's
// success against the bound the long-term ε allows. The simulation's
// budget comes from the real ledger too; each test checks that the real
// device was allowed and refused exactly what the simulation assumes.

// attackDevices is the simulated population of each attack: the
// attacker's measured success has a standard error of at most 0.5/√500 ≈
// 0.022, and an attack at its bound may exceed it by chance; the tests
// allow three standard errors.
const attackDevices = 500

// runAttack runs one simulated attack with host's default budgets.
func runAttack(t *testing.T, f func(context.Context, attack.Config) (attack.Result, error)) attack.Result {
	t.Helper()
	cfg := attack.DefaultConfig()
	cfg.Devices = attackDevices
	r, err := f(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: attacker success %.3f, bound %.3g (long-term ε %g), %d answers, %d refused, fresh randomizations median %g max %d",
		r.Attack, r.AttackerSuccess, r.Bound, r.Epsilon, r.Answers, r.Refused, r.FreshMedian, r.FreshMax)
	return r
}

// withinBound checks the measured success against the bound, allowing
// three standard errors of the measurement.
func withinBound(t *testing.T, r attack.Result) {
	t.Helper()
	se := math.Sqrt(r.Bound * (1 - r.Bound) / float64(r.Devices))
	if r.AttackerSuccess > r.Bound+3*se {
		t.Errorf("%s: attacker success %.4f above the bound %.4f (+3σ = %.4f) the long-term ε %g allows",
			r.Attack, r.AttackerSuccess, r.Bound, r.Bound+3*se, r.Epsilon)
	}
}

// attackDevice is a workoutsDevice that consents to camps, talking to a
// real aggregator serving them.
func attackDevice(t *testing.T, camps []campaign.Campaign) (*Device, *testAggregator, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	agg := startTestAggregatorWith(t, clock, camps)
	d := workoutsDevice(t, clock, agg)
	for _, c := range camps {
		if err := d.Grant(context.Background(), CampaignPurpose(c.ID)); err != nil {
			t.Fatal(err)
		}
	}
	return d, agg, clock
}

// workoutsDevice is a device with the workouts plugin, consent to it and a
// week of running (Running scores high), talking to agg.
func workoutsDevice(t *testing.T, clock *fakeClock, agg *testAggregator) *Device {
	t.Helper()
	ctx := context.Background()
	a := newAuthor(t)
	d := testDevice(t, t.TempDir(), clock, a, agg)
	if _, err := d.Install(ctx, a.signedManifest, workoutsWasm); err != nil {
		t.Fatal(err)
	}
	if err := d.Grant(ctx, PluginPurpose("workouts")); err != nil {
		t.Fatal(err)
	}
	recordRuns(t, d, clock.Now(), 5, 40)
	return d
}

// daily runs one pass a day for days, the owner running 40 minutes
// before each, and returns the answers per day.
func daily(t *testing.T, d *Device, clock *fakeClock, days int) []int {
	t.Helper()
	var out []int
	for day := range days {
		recordRuns(t, d, clock.Now(), 1, 40)
		sum, err := d.Flush(context.Background())
		if err != nil {
			t.Fatalf("day %d: %v", day, err)
		}
		out = append(out, sum.Answered)
		clock.Advance(24 * time.Hour)
	}
	return out
}

// sentAnswers are the answers the aggregator holds for campaign in epoch:
// what the attacker sees.
func sentAnswers(t *testing.T, agg *testAggregator, campaign string, epoch uint32) [][]byte {
	t.Helper()
	var out [][]byte
	if err := agg.store.Scan(context.Background(), campaign, epoch, func(_ ldp.Mechanism, a []byte) error {
		out = append(out, bytes.Clone(a))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// TestAttackSameQuestionUnder100Ids: the same threshold question under 100
// campaign ids, and a majority vote over the device's reports. The device
// answers all 100 (4 a day: the 24-hour cap refuses the rest of each day)
// from one memo, which the long-term caps charge once: ε∞ = 1 on Running.
// The majority recovers the memo's permanent bit, not the owner's — so
// across devices the attacker is right with probability at most
// e/(1+e) ≈ 0.731, where the attack (a memo per id) was never
// wrong.
func TestAttackSameQuestionUnder100Ids(t *testing.T) {
	ctx := context.Background()
	camps := attack.SameQuestionCampaigns()
	d, agg, clock := attackDevice(t, camps)
	start := clock.Now()
	perDay := daily(t, d, clock, attack.SameQuestionDays)
	for day, n := range perDay {
		want := 4
		if day >= 25 {
			want = 0
		}
		if n != want {
			t.Fatalf("answers per day %v: want 4 a day (the 24-hour cap at ε 1) for 25 days", perDay)
		}
	}
	ones := 0
	for _, c := range camps {
		got := sentAnswers(t, agg, c.ID, c.Epoch(start))
		if len(got) != 1 {
			t.Fatalf("%s: %d answers at the aggregator, want 1", c.ID, len(got))
		}
		ones += int(got[0][0])
	}
	if n, _ := d.ledger.MemoCount(ctx); n != 1 {
		t.Errorf("%d memos for one question under 100 ids, want 1", n)
	}
	lt, err := d.ledger.LongTerm(ctx)
	if err != nil || lt.Category(attack.Running) != 1 || lt.Total != 1 {
		t.Fatalf("long-term spend %+v (%v): want ε∞ 1 once, on Running", lt, err)
	}
	// The attacker's vote is the memo's bit (100 reports at keep
	// probability 0.76 leave no doubt), not necessarily the owner's.
	asked := camps[0]
	if err := asked.Validate(DefaultTaxonomy()); err != nil {
		t.Fatal(err)
	}
	codec, err := asked.Codec()
	if err != nil {
		t.Fatal(err)
	}
	scores, _ := d.localScores(ctx, clock.Now())
	key, _ := codec.MemoKey(codec.Truth(scores))
	perm, ok, err := d.ledger.LoadMemo(ctx, key)
	if err != nil || !ok {
		t.Fatalf("no memo under %+v: %v", key, err)
	}
	if vote := ones > 50; vote != (perm[0] == 1) {
		t.Errorf("majority %d of 100 disagrees with the memo's bit %d", ones, perm[0])
	}

	r := runAttack(t, attack.SameQuestion)
	if r.Answers != sum(perDay) || r.Refused != 0 || r.Epsilon != lt.Category(attack.Running) {
		t.Errorf("the simulation's ledger allowed %d (refused %d) at ε %g; the device %d at ε %g", r.Answers, r.Refused, r.Epsilon, sum(perDay), lt.Category(attack.Running))
	}
	if r.Bound != attack.BinaryBound(1) || r.FreshMax != 1 {
		t.Errorf("bound %v, fresh max %d: want e/(1+e) and one memo per device", r.Bound, r.FreshMax)
	}
	withinBound(t, r)
	if r.AttackerSuccess < r.Bound-0.1 {
		t.Errorf("attacker success %.3f: the majority should recover the memo's bit (≈ %.3f)", r.AttackerSuccess, r.Bound)
	}
}

// TestAttack100Thresholds: min_score j/100 on Running for j = 1…100, each a
// question of its own. The device answers 8 (the category's long-term cap
// of ε 8 at ε∞ 1 each; the 24-hour cap would allow 40 over ten days) and
// refuses the other 92 with the category's cap; the attacker estimates
// each device's score by maximum likelihood and names its tenth no more
// often than an ε 8 view allows.
func TestAttack100Thresholds(t *testing.T) {
	ctx := context.Background()
	camps := attack.ThresholdCampaigns()
	d, agg, clock := attackDevice(t, camps)
	start := clock.Now()
	perDay := daily(t, d, clock, attack.ThresholdDays)
	if sum(perDay) != 8 || perDay[0] != 4 || perDay[1] != 4 {
		t.Fatalf("answers per day %v: want 4, 4 and then none (ε 8 on Running)", perDay)
	}
	reached := 0
	for _, c := range camps {
		reached += len(sentAnswers(t, agg, c.ID, c.Epoch(start)))
	}
	s, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, c := range s.Campaigns {
		if e := c.OverBudget; e != nil && e.Budget == BudgetCategory && e.Category == attack.Running && e.Left == 0 {
			refused++
		}
	}
	if reached != 8 || refused != 92 {
		t.Fatalf("%d answers at the aggregator and %d campaigns refused by Running's cap; want 8 and 92", reached, refused)
	}

	r := runAttack(t, attack.Thresholds)
	if r.Answers != 8 || r.Refused != 92 || r.Epsilon != s.Budget.Categories[0].Spent || r.Epsilon != 8 {
		t.Errorf("the simulation's ledger allowed %d (refused %d) at ε %g; the device 8 (92) at ε %g", r.Answers, r.Refused, r.Epsilon, s.Budget.Categories[0].Spent)
	}
	withinBound(t, r)
}

// TestAttackDailyMeanDecayingScore: a daily mean of the Running score over
// 60 epochs while the score decays (no new runs). α-rounding keeps the
// memo while the score drifts: the real device draws at most 2 permanent
// randomizations (Duchi's grid has two points) and the ledger charges the
// category once per memo. In the simulation (a 7-day half-life from s0
// uniform on [0, 1]) the attacker who averages a device's 60 linked
// reports names s0's tenth no more often than the charged ε allows.
func TestAttackDailyMeanDecayingScore(t *testing.T) {
	ctx := context.Background()
	c := attack.DailyMeanCampaign()
	d, agg, clock := attackDevice(t, []campaign.Campaign{c})
	var scores []float32
	for day := range attack.MeanEpochs {
		if sum, err := d.Flush(ctx); err != nil || sum.Answered != 1 {
			t.Fatalf("day %d: %+v %v", day, sum, err)
		}
		s, _ := d.localScores(ctx, clock.Now())
		scores = append(scores, s[attack.Running])
		if got := sentAnswers(t, agg, c.ID, c.Epoch(clock.Now())); len(got) != 1 {
			t.Fatalf("day %d: %d answers at the aggregator", day, len(got))
		}
		clock.Advance(24 * time.Hour)
	}
	if !(scores[0] > 2*scores[len(scores)-1]) {
		t.Fatalf("the score did not decay: %v … %v", scores[0], scores[len(scores)-1])
	}
	entries, err := d.ledger.Entries(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	memos := map[ldp.MemoKey]bool{}
	for _, e := range entries {
		memos[e.Memo] = true
	}
	lt, _ := d.ledger.LongTerm(ctx)
	t.Logf("real device: score %.3f → %.3f over %d epochs, %d fresh randomizations, long-term ε %g", scores[0], scores[len(scores)-1], attack.MeanEpochs, len(memos), lt.Category(attack.Running))
	if len(entries) != attack.MeanEpochs || len(memos) > 2 || lt.Category(attack.Running) != float64(len(memos)) {
		t.Errorf("%d spends, %d memos, long-term ε %g: want 60 spends, at most 2 memos, each charged once", len(entries), len(memos), lt.Category(attack.Running))
	}

	r := runAttack(t, attack.DailyMean)
	if r.Answers != attack.MeanEpochs || r.Refused != 0 || r.FreshMax > 2 || r.Epsilon != float64(r.FreshMax) {
		t.Errorf("simulation: %d answers, %d refused, fresh max %d at ε %g: want 60, 0, ≤ 2 memos each charged ε 1", r.Answers, r.Refused, r.FreshMax, r.Epsilon)
	}
	withinBound(t, r)
}

// TestAttackResendByteForByte: the top interest among every Interest
// category (OUE, 497 bits) answered daily for 30 days from one memo. No
// two of the device's reports are equal byte for byte (each is fresh
// instantaneous noise on the memo), every one decodes, and the long-term
// caps are charged once. In the simulation no re-send of any device equals
// an earlier one; the bound, the union bound on two reports of one memo
// colliding, is below 10⁻⁹⁰.
func TestAttackResendByteForByte(t *testing.T) {
	ctx := context.Background()
	c := attack.ResendCampaign()
	d, agg, clock := attackDevice(t, []campaign.Campaign{c})
	if err := c.Validate(DefaultTaxonomy()); err != nil {
		t.Fatal(err)
	}
	codec, err := c.Codec()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for day := range attack.ResendEpochs {
		if sum, err := d.Flush(ctx); err != nil || sum.Answered != 1 {
			t.Fatalf("day %d: %+v %v", day, sum, err)
		}
		got := sentAnswers(t, agg, c.ID, c.Epoch(clock.Now()))
		if len(got) != 1 || codec.CheckAnswer(ldp.MechanismOUE, got[0]) != nil {
			t.Fatalf("day %d: %d answers, not one OUE answer", day, len(got))
		}
		if earlier, ok := seen[string(got[0])]; ok {
			t.Fatalf("day %d re-sent day %d's answer byte for byte", day, earlier)
		}
		seen[string(got[0])] = day
		clock.Advance(24 * time.Hour)
	}
	lt, _ := d.ledger.LongTerm(ctx)
	if n, _ := d.ledger.MemoCount(ctx); n != 1 || lt.Total != 1 || lt.Category(attack.Running) != 1 {
		t.Errorf("%d memos, long-term %v (Running %v): want one memo charged once", n, lt.Total, lt.Category(attack.Running))
	}

	r := runAttack(t, attack.Resend)
	if r.Answers != attack.ResendEpochs || r.Refused != 0 || r.FreshMax != 1 || r.Epsilon != 1 {
		t.Errorf("simulation: %+v", r)
	}
	if r.AttackerSuccess != 0 || !(r.Bound < 1e-90) {
		t.Errorf("re-sends equal to an earlier report: %v (bound %v)", r.AttackerSuccess, r.Bound)
	}
}
