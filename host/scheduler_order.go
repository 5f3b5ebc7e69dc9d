package host

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"sort"

	"github.com/wisp-project/wisp/host/internal/devicestore"
)

// metaOrderSeed is the device's secret for breaking ties in the answering
// order (32 random bytes, drawn once).
const metaOrderSeed = "order-seed"

// fairOrder is the order in which a pass offers campaigns the budget:
// least recently answered first (never answered counts as longest ago);
// among campaigns last answered at the same time (in the same pass), the
// one answered fewer times first; then a per-device random permutation
// (HMAC-SHA256 of the id under the device's order seed). A campaign's id
// or how often it asks gives it no precedence: an hourly campaign that
// was just answered comes after every campaign that has waited longer.
// Together with answer's rule that the first campaign the daily budget
// cannot pay for keeps its turn, every consented campaign gets its turn
// when the 24-hour budget is short. The permutation differs between
// devices, so across a population no campaign is systematically first
// when several have never been answered (also after Forget, which erases
// the answer records this order reads).
func (d *Device) fairOrder(ctx context.Context, list []pinnedCampaign) ([]pinnedCampaign, error) {
	count, err := d.store.AnswerCounts(ctx)
	if err != nil {
		return nil, err
	}
	seed, err := d.orderSeed(ctx)
	if err != nil {
		return nil, err
	}
	tie := make(map[string][]byte, len(list))
	for _, c := range list {
		m := hmac.New(sha256.New, seed)
		m.Write([]byte(c.ID))
		tie[c.ID] = m.Sum(nil)
	}
	out := append([]pinnedCampaign(nil), list...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := count[out[i].ID], count[out[j].ID]
		switch {
		case !a.Last.Equal(b.Last):
			return a.Last.Before(b.Last)
		case a.N != b.N:
			return a.N < b.N
		}
		return bytes.Compare(tie[out[i].ID], tie[out[j].ID]) < 0
	})
	return out, nil
}

// orderSeed returns the device's order seed, drawing it on first use.
func (d *Device) orderSeed(ctx context.Context) ([]byte, error) {
	b, err := d.store.Meta(ctx, metaOrderSeed)
	if err == nil && len(b) == sha256.Size {
		return b, nil
	}
	if err != nil && !errors.Is(err, devicestore.ErrNotFound) {
		return nil, err
	}
	b = make([]byte, sha256.Size)
	if err := d.readEntropy(b); err != nil {
		return nil, err
	}
	return b, d.store.SetMeta(ctx, metaOrderSeed, b)
}

// keepsItsTurn reports whether a spend refused with err should stop the
// pass: the device's 24-hour budget cannot pay for the campaign now but
// will once older spends leave the window. Letting later campaigns spend
// instead would let small or frequent campaigns take, pass after pass, the
// ε a larger one is waiting for. A campaign whose ε exceeds the cap itself
// (it can never be paid for) or that another scope refuses is skipped.
func keepsItsTurn(err error) bool {
	var be *BudgetError
	return errors.As(err, &be) && be.Budget == BudgetDaily && be.Cost <= be.Limit
}
