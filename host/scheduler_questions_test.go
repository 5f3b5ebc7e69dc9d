package host

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/taxonomy"
)

// questionCampaigns ask the workouts plugin's categories one question of
// each type.
var questionCampaigns = []campaign.Campaign{
	testCampaigns[0],
	{ID: "top-sport", Name: "Top sport", Question: campaign.Question{Type: campaign.QuestionTopK, Categories: []uint32{410, 625}, K: 1},
		Epsilon: 1, EpochSeconds: 7 * 86400, K: 1},
	{ID: "run-mean", Name: "Mean running score", Question: campaign.Question{Type: campaign.QuestionMean, Category: 410},
		Epsilon: 1, EpochSeconds: 7 * 86400, K: 1},
}

// TestSchedulerAnswersEveryQuestionTypeMemoized: the device answers a
// threshold, a top_k and a mean campaign through the real aggregator; each
// answer is drawn from the memo stored under (question digest, true value)
// and spent in the ledger; in the next epoch, the memo of that epoch's
// true value is what the answer is drawn from, not fresh permanent noise.
// Since issue 14 a threshold or top_k answer is fresh instantaneous noise
// on the memo (not the memo byte for byte); a mean's is still the memo.
func TestSchedulerAnswersEveryQuestionTypeMemoized(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregatorWith(t, clock, questionCampaigns)
	d, _ := readyDevice(t, t.TempDir(), clock, agg)
	for _, c := range questionCampaigns[1:] {
		if err := d.Grant(ctx, CampaignPurpose(c.ID)); err != nil {
			t.Fatal(err)
		}
	}
	tax, err := taxonomy.ParseBytes(taxonomy.DefaultTSV())
	if err != nil {
		t.Fatal(err)
	}
	camps := make([]campaign.Campaign, len(questionCampaigns))
	copy(camps, questionCampaigns)
	for i := range camps {
		if err := camps[i].Validate(tax); err != nil {
			t.Fatal(err)
		}
	}
	memo := ldp.Memo{Store: d.ledger}
	// truthKeys are the memo keys of the device's true values now.
	truthKeys := func() map[string]ldp.MemoKey {
		if _, err := d.scorePlugins(ctx, clock.Now()); err != nil {
			t.Fatal(err)
		}
		scores, err := d.localScores(ctx, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]ldp.MemoKey{}
		for i := range camps {
			codec, err := camps[i].Codec()
			if err != nil {
				t.Fatal(err)
			}
			truth := codec.Truth(scores)
			if codec.NeedsOffset() { // the device's offset, drawn at its first answer
				b, ok, err := d.ledger.LoadMemo(ctx, codec.OffsetKey())
				if err != nil || !ok {
					t.Fatalf("%s: no rounding offset stored (%v)", camps[i].ID, err)
				}
				alpha, _ := campaign.Offset(b)
				if truth, err = codec.Round(truth, alpha); err != nil {
					t.Fatal(err)
				}
			}
			if out[camps[i].ID], err = codec.MemoKey(truth); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out[camps[i].ID].Campaign, "q:") {
				t.Errorf("%s: memo key %+v is not scoped by the question digest", camps[i].ID, out[camps[i].ID])
			}
		}
		return out
	}
	sent := func(id string, epoch uint32) []byte {
		var got [][]byte
		if err := agg.store.Scan(ctx, id, epoch, func(_ ldp.Mechanism, answer []byte) error {
			got = append(got, bytes.Clone(answer))
			return nil
		}); err != nil || len(got) != 1 {
			t.Fatalf("%s epoch %d: %d answers stored, %v", id, epoch, len(got), err)
		}
		return got[0]
	}

	if sum, err := d.Flush(ctx); err != nil || sum.Answered != 3 || sum.Sent != 3 {
		t.Fatalf("first epoch: %+v %v", sum, err)
	}
	keys := truthKeys()
	if keys["top-sport"].Value != "grr:0" || keys["run-mean"].Value == "" {
		t.Errorf("truth keys %v: want running on top", keys)
	}
	// The owner's view names what a top_k campaign asks about and knows
	// the device can answer it (its first category is scored here).
	st, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Campaigns {
		if c.ID == "top-sport" && (!c.Answerable || c.Category != "your top 1 among Running and Jogging, Cycling" || c.Spent != 1) {
			t.Errorf("status of top-sport: %+v", c)
		}
	}
	epoch1 := map[string]uint32{}
	for _, c := range camps {
		epoch1[c.ID] = c.Epoch(clock.Now())
		stored, ok, err := d.ledger.LoadMemo(ctx, keys[c.ID])
		codec, _ := c.Codec()
		switch got := sent(c.ID, epoch1[c.ID]); {
		case err != nil || !ok:
			t.Errorf("%s: no memo under %+v (%v)", c.ID, keys[c.ID], err)
		case codec.CheckAnswer(codec.Mechanism(), got) != nil:
			t.Errorf("%s: sent %x does not decode", c.ID, got)
		case c.Question.Type == campaign.QuestionMean && !bytes.Equal(stored, got):
			t.Errorf("%s: memo %x is not the mean answer sent %x", c.ID, stored, got)
		}
		if spent, _ := d.spentPerCampaign(ctx); spent[c.ID] != c.Epsilon {
			t.Errorf("%s: ledger holds %v, want %v", c.ID, spent[c.ID], c.Epsilon)
		}
	}

	// Next epoch. Whatever the true values are then, the answers sent must
	// be their memos: plant one for every value not memoized yet (a value
	// already seen keeps its first answer — StoreMemo is first-writer-wins).
	clock.Advance(7 * 24 * time.Hour)
	recordRuns(t, d, clock.Now(), 5, 40)
	keys2 := truthKeys()
	want := map[string][]byte{}
	for _, c := range camps {
		codec, _ := c.Codec()
		fresh, err := codec.Randomize(campaign.Truth{Bit: true, Set: []int{0}, Score: 0.5}, ldp.NewSeededRand(7))
		if err != nil {
			t.Fatal(err)
		}
		if want[c.ID], _, err = memo.Answer(ctx, keys2[c.ID], func() ([]byte, error) { return fresh, nil }); err != nil {
			t.Fatal(err)
		}
	}
	// Counted after planting: a true value that moved (the mean's rounding
	// can land on the other level) gets its memo from the test, not the device.
	memos, _ := d.ledger.MemoCount(ctx)
	if sum, err := d.Flush(ctx); err != nil || sum.Answered != 3 {
		t.Fatalf("second epoch: %+v %v", sum, err)
	}
	for _, c := range camps {
		epoch2 := c.Epoch(clock.Now())
		if epoch2 == epoch1[c.ID] {
			t.Fatalf("%s: still epoch %d", c.ID, epoch2)
		}
		if got := sent(c.ID, epoch2); c.Question.Type == campaign.QuestionMean && !bytes.Equal(got, want[c.ID]) {
			t.Errorf("%s: sent %x, want the memo %x of the true value %q", c.ID, got, want[c.ID], keys2[c.ID].Value)
		}
		if stored, _, _ := d.ledger.LoadMemo(ctx, keys2[c.ID]); !bytes.Equal(stored, want[c.ID]) {
			t.Errorf("%s: memo of %q replaced: %x, planted %x", c.ID, keys2[c.ID].Value, stored, want[c.ID])
		}
		if c.Question.Type == campaign.QuestionMean && keys2[c.ID] == keys[c.ID] && !bytes.Equal(sent(c.ID, epoch2), sent(c.ID, epoch1[c.ID])) {
			t.Errorf("%s: same true value, different answers across epochs", c.ID)
		}
	}
	// Every answer came from a memo the test planted or the device stored
	// before: the second epoch drew no permanent noise of its own.
	if after, _ := d.ledger.MemoCount(ctx); after != memos {
		t.Errorf("%d memos after the second epoch, %d before: the device memoized under keys of its own", after, memos)
	}
}

// TestSameQuestionSharesMemo (issue 14, item 1): two campaigns asking the
// same question get one permanent answer — one memo under the question's
// digest, not one per campaign id.
func TestSameQuestionSharesMemo(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	twin := questionCampaigns[2]
	twin.ID, twin.Name = "run-mean-again", "Mean running score, again"
	twinTop := questionCampaigns[1]
	twinTop.ID = "top-sport-again"
	camps := append(append([]campaign.Campaign(nil), questionCampaigns[1:]...), twin, twinTop)
	agg := startTestAggregatorWith(t, clock, camps)
	d, _ := readyDevice(t, t.TempDir(), clock, agg)
	for _, c := range camps {
		if err := d.Grant(ctx, CampaignPurpose(c.ID)); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := d.ledger.MemoCount(ctx)
	if sum, err := d.Flush(ctx); err != nil || sum.Answered != 4 {
		t.Fatalf("%+v %v", sum, err)
	}
	// Two questions: one memo each, plus the mean's rounding offset.
	if after, _ := d.ledger.MemoCount(ctx); after-before != 3 {
		t.Errorf("%d memos for 4 campaigns asking 2 questions, want 2 and an offset", after-before)
	}
}

// TestRevokingPluginDropsQueuedTopK: a queued top_k answer derives from
// every score the device compared, so revoking any plugin drops it, as it
// drops the plugin's own categories' reports.
func TestRevokingPluginDropsQueuedTopK(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregatorWith(t, clock, questionCampaigns)
	d, _ := readyDevice(t, t.TempDir(), clock, agg)
	if err := d.Grant(ctx, CampaignPurpose("top-sport")); err != nil {
		t.Fatal(err)
	}
	if err := d.sync(ctx, clock.Now(), true); err != nil { // campaigns and keys, then offline
		t.Fatal(err)
	}
	agg.down.Store(true) // keep the reports queued
	if sum, _ := d.RunOnce(ctx); sum.Answered != 2 || sum.Remaining != 2 {
		t.Fatalf("%+v: want runners and top-sport queued", sum)
	}
	if err := d.Revoke(ctx, PluginPurpose("workouts"), false); err != nil {
		t.Fatal(err)
	}
	q, err := d.store.Queued(ctx)
	if err != nil || len(q) != 0 {
		t.Fatalf("after revoking the plugin, %d reports still queued (%v)", len(q), err)
	}
}
