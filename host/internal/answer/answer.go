// Package answer draws a device's answer to a campaign's question from its
// memo: the one code path both the device's scheduler and the attack
// simulations (host/attack) answer through, so what the simulations
// measure is what devices send.
package answer

import (
	"context"
	"math/rand/v2"

	"github.com/wisp-project/wisp/host/internal/ledger"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/ldp"
)

// Charge is what one answer to c in epoch, drawn from memo, costs: the
// campaign's ε∞, within its per-epoch budget (one answer per epoch) and
// the 24-hour cap, and — once per memo and long-term period — against the
// long-term caps of the device and of every category the answer depends
// on: a threshold's or a mean's category, each candidate of a top_k
// question (a top-k set says something about each; Validate fills in the
// list of an "all categories" question).
func Charge(c *campaign.Campaign, epoch uint32, memo ldp.MemoKey) ledger.Charge {
	cats := []uint32{c.Question.Category}
	if c.Question.Type == campaign.QuestionTopK {
		cats = c.Question.Categories
	}
	return ledger.Charge{Campaign: c.ID, Epoch: epoch, Epsilon: c.Epsilon, EpochBudget: c.Epsilon, Categories: cats, Memo: memo}
}

// Key returns the true value codec's question asks about in scores and
// the key of its memoized answer. The memo is keyed by the question's
// digest and the true value (the bit, the top-K set, a mean score's
// α-rounded grid point), so the same question under any campaign id, in
// any epoch, gets the same permanent answer and no fresh permanent noise;
// a campaign signed before two layers keeps its memos under its id
// (Codec.Legacy). A mean score is rounded with an offset drawn with rng
// once per device and question and kept in store beside the memos
// (random, independent of the owner's data), so a drifting score
// re-randomizes only when it crosses a grid point's threshold. With
// readOnly an offset not drawn yet is not drawn, and the key is zero (no
// memo can exist without it).
//
// The key is known before the answer is drawn, so the ledger can charge
// the long-term caps once per memo.
func Key(ctx context.Context, store ldp.MemoStore, codec *campaign.Codec, scores map[uint32]float32, rng *rand.Rand, readOnly bool) (campaign.Truth, ldp.MemoKey, error) {
	truth := codec.Truth(scores)
	if codec.NeedsOffset() {
		b, ok, err := store.LoadMemo(ctx, codec.OffsetKey())
		switch {
		case err != nil || (!ok && readOnly):
			return truth, ldp.MemoKey{}, err
		case !ok:
			memo := ldp.Memo{Store: store}
			if b, _, err = memo.Answer(ctx, codec.OffsetKey(), func() ([]byte, error) { return campaign.NewOffset(rng), nil }); err != nil {
				return truth, ldp.MemoKey{}, err
			}
		}
		alpha, err := campaign.Offset(b)
		if err != nil {
			return truth, ldp.MemoKey{}, err
		}
		if truth, err = codec.Round(truth, alpha); err != nil {
			return truth, ldp.MemoKey{}, err
		}
	}
	key, err := codec.MemoKey(truth)
	return truth, key, err
}

// Draw returns one report's answer: fresh instantaneous noise
// (Codec.Instant, at the campaign's report_epsilon) on the permanent
// answer memoized under key for truth, which is drawn (Codec.Permanent)
// and stored first if there is none. It reports whether the permanent
// answer was drawn now.
func Draw(ctx context.Context, store ldp.MemoStore, codec *campaign.Codec, truth campaign.Truth, key ldp.MemoKey, rng *rand.Rand) (answer []byte, fresh bool, err error) {
	memo := ldp.Memo{Store: store}
	perm, reused, err := memo.Answer(ctx, key, func() ([]byte, error) { return codec.Permanent(truth, rng) })
	if err != nil {
		return nil, false, err
	}
	answer, err = codec.Instant(perm, rng)
	return answer, !reused, err
}
