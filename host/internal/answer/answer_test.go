package answer_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/wisp-project/wisp/host/internal/answer"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/taxonomy"
)

type store map[ldp.MemoKey][]byte

func (s store) LoadMemo(_ context.Context, k ldp.MemoKey) ([]byte, bool, error) {
	b, ok := s[k]
	return b, ok, nil
}

func (s store) StoreMemo(_ context.Context, k ldp.MemoKey, b []byte) error {
	if _, ok := s[k]; ok {
		return errors.New("exists")
	}
	s[k] = b
	return nil
}

func codec(t *testing.T, c campaign.Campaign) *campaign.Codec {
	t.Helper()
	tax, err := taxonomy.ParseBytes(taxonomy.DefaultTSV())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(tax); err != nil {
		t.Fatal(err)
	}
	k, err := c.Codec()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKeyAndDraw: two ids asking one question share a key and a memo, drawn
// once; re-sends differ from the memo; a mean's key needs the device's
// rounding offset, which readOnly does not draw; Charge names the memo.
func TestKeyAndDraw(t *testing.T) {
	ctx := context.Background()
	q := campaign.Question{Type: campaign.QuestionThreshold, Category: 410, MinScore: 0.5}
	a := codec(t, campaign.Campaign{ID: "a", Question: q, Epsilon: 1, EpochSeconds: 86400, K: 1})
	b := codec(t, campaign.Campaign{ID: "b", Question: q, Epsilon: 1, EpochSeconds: 86400, K: 1})
	s, rng := store{}, ldp.NewSeededRand(1)
	scores := map[uint32]float32{410: 0.9}
	ta, ka, err := answer.Key(ctx, s, a, scores, rng, false)
	if err != nil {
		t.Fatal(err)
	}
	tb, kb, _ := answer.Key(ctx, s, b, scores, rng, false)
	if ka != kb || !ta.Bit || !tb.Bit {
		t.Fatalf("keys %v and %v for one question", ka, kb)
	}
	if _, fresh, err := answer.Draw(ctx, s, a, ta, ka, rng); err != nil || !fresh {
		t.Fatalf("first draw: fresh %v, %v", fresh, err)
	}
	if _, fresh, _ := answer.Draw(ctx, s, b, tb, kb, rng); fresh || len(s) != 1 {
		t.Fatalf("the second id drew a memo of its own (%d memos)", len(s))
	}

	mean := codec(t, campaign.Campaign{ID: "m", Question: campaign.Question{Type: campaign.QuestionMean, Category: 410},
		Epsilon: 1, EpochSeconds: 86400, K: 1})
	if _, k, err := answer.Key(ctx, s, mean, scores, nil, true); err != nil || k != (ldp.MemoKey{}) || len(s) != 1 {
		t.Fatalf("read-only mean key %v (%v), %d memos: want none and no offset drawn", k, err, len(s))
	}
	tm, km, err := answer.Key(ctx, s, mean, scores, rng, false)
	if err != nil || km == (ldp.MemoKey{}) || len(s) != 2 {
		t.Fatalf("mean key %v (%v), %d memos: want a key and the offset stored", km, err, len(s))
	}
	if _, again, _ := answer.Key(ctx, s, mean, scores, nil, true); again != km {
		t.Errorf("read-only key %v, want %v once the offset exists", again, km)
	}
	first, _, _ := answer.Draw(ctx, s, mean, tm, km, rng)
	second, fresh, _ := answer.Draw(ctx, s, mean, tm, km, rng)
	if fresh || !bytes.Equal(first, second) {
		t.Errorf("a mean's re-send %x differs from %x (one layer)", second, first)
	}

	ch := answer.Charge(&campaign.Campaign{ID: "a", Question: q, Epsilon: 1}, 7, ka)
	if ch.Memo != ka || ch.Epsilon != 1 || ch.EpochBudget != 1 || len(ch.Categories) != 1 || ch.Categories[0] != 410 || ch.Epoch != 7 {
		t.Errorf("charge %+v", ch)
	}
}
