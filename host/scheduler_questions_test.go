package host

import (
	"bytes"
	"context"
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
// answer is the memo stored under (campaign, true value) and spent in the
// ledger; in the next epoch, the memo of that epoch's true value is what
// is sent, not fresh noise.
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
			out[camps[i].ID] = ldp.MemoKey{Campaign: camps[i].ID, Value: codec.Truth(scores).Key}
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

	keys := truthKeys()
	if sum, err := d.Flush(ctx); err != nil || sum.Answered != 3 || sum.Sent != 3 {
		t.Fatalf("first epoch: %+v %v", sum, err)
	}
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
		if err != nil || !ok || !bytes.Equal(stored, sent(c.ID, epoch1[c.ID])) {
			t.Errorf("%s: memo %x (%v %v) is not the answer sent", c.ID, stored, ok, err)
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
	if sum, err := d.Flush(ctx); err != nil || sum.Answered != 3 {
		t.Fatalf("second epoch: %+v %v", sum, err)
	}
	for _, c := range camps {
		epoch2 := c.Epoch(clock.Now())
		if epoch2 == epoch1[c.ID] {
			t.Fatalf("%s: still epoch %d", c.ID, epoch2)
		}
		if got := sent(c.ID, epoch2); !bytes.Equal(got, want[c.ID]) {
			t.Errorf("%s: sent %x, want the memo %x of the true value %q", c.ID, got, want[c.ID], keys2[c.ID].Value)
		}
		if keys2[c.ID] == keys[c.ID] && !bytes.Equal(sent(c.ID, epoch2), sent(c.ID, epoch1[c.ID])) {
			t.Errorf("%s: same true value, different answers across epochs", c.ID)
		}
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
