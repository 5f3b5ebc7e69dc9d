package ldp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ErrMemo reports a memo store failure; the caller must not send a report,
// since answering without the durable memo could later randomize the same
// value twice.
var ErrMemo = errors.New("ldp: memo store failed")

// MemoKey names one memoized answer: its scope and the canonical encoding
// of the true value (ValueKey, SetKey). The scope is what fixes the
// answer's distribution: "q:" and the question's digest
// (campaign.Codec.MemoKey — the same question under any campaign id shares
// one permanent answer), or, for campaigns signed before two-layer answers,
// the campaign id (whose signed config never changes).
type MemoKey struct {
	Campaign string // the scope: "q:<digest>", "alpha:<digest>" or a legacy campaign id
	Value    string
}

// MemoStore is durable storage for memoized answers, e.g. the device's
// ledger database. StoreMemo must be durable when it returns.
type MemoStore interface {
	LoadMemo(ctx context.Context, key MemoKey) (answer []byte, ok bool, err error)
	StoreMemo(ctx context.Context, key MemoKey, answer []byte) error
}

// Memo is RAPPOR's permanent randomized response (Erlingsson, Pihur,
// Korolova, CCS 2014, §3): the first time a device answers a campaign with
// a given true value it randomizes and stores the answer durably; every
// later epoch with the same true value re-sends the stored answer instead of
// drawing fresh noise. Averaging a device's answers over epochs then
// converges to its one memoized answer, not to the truth.
//
// Guarantee: across any number of epochs, what the reports of one memo
// scope reveal about the values a device held is at most one ε-LDP answer
// per distinct true value memoized — loss ≤ ε·(number of distinct values)
// until the memos are erased; when the value changed is not covered.
// Limits (see docs/PRIVACY.md): it does not hide changes of the value (a
// new answer appears when the value changes); identical answers let
// whoever sees them link a device's reports across epochs (RAPPOR adds an
// instantaneous randomization for that; Wisp relies on HPKE sealing and no
// transport metadata at the aggregator); and a value that flips back and
// forth between two states still spends at most 2ε, never more.
type Memo struct {
	Store MemoStore
}

// Answer returns the memoized answer for key, or calls randomize, stores its
// answer durably and returns it. reused reports which happened.
func (m Memo) Answer(ctx context.Context, key MemoKey, randomize func() ([]byte, error)) (answer []byte, reused bool, err error) {
	answer, ok, err := m.Store.LoadMemo(ctx, key)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrMemo, err)
	}
	if ok {
		return answer, true, nil
	}
	if answer, err = randomize(); err != nil {
		return nil, false, err
	}
	if err := m.Store.StoreMemo(ctx, key, answer); err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrMemo, err)
	}
	return answer, false, nil
}

// ValueKey is the canonical memo value for a single item or bit.
func ValueKey(v int) string { return strconv.Itoa(v) }

// SetKey is the canonical memo value for a set: sorted, comma-separated.
func SetKey(set []int) string {
	s := slices.Clone(set)
	slices.Sort(s)
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}
