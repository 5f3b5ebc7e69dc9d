package ldp_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp"
)

func TestNormSub(t *testing.T) {
	tests := []struct {
		in    []float64
		total float64
		want  []float64
	}{
		{[]float64{5, 3, -2}, 6, []float64{4, 2, 0}},
		{[]float64{1, 1, 1}, 6, []float64{2, 2, 2}},
		{[]float64{10, -5, -5}, 4, []float64{4, 0, 0}},
		{[]float64{3, 1}, 0, []float64{0, 0}},
	}
	for _, tt := range tests {
		got := ldp.NormSub(tt.in, tt.total)
		for i := range got {
			if math.Abs(got[i]-tt.want[i]) > 1e-12 {
				t.Errorf("NormSub(%v, %v) = %v, want %v", tt.in, tt.total, got, tt.want)
				break
			}
		}
	}
	if got := ldp.ClipNonNegative([]float64{-1, 2}); got[0] != 0 || got[1] != 2 {
		t.Errorf("ClipNonNegative = %v", got)
	}
}

func TestCheckK(t *testing.T) {
	if err := ldp.CheckK(99, 100); !errors.Is(err, ldp.ErrBelowK) {
		t.Errorf("99 < 100: err = %v", err)
	}
	if err := ldp.CheckK(100, 100); err != nil {
		t.Errorf("100 ≥ 100: err = %v", err)
	}
}

// mapStore is an in-memory MemoStore for tests.
type mapStore struct {
	m    map[ldp.MemoKey][]byte
	fail error
}

func (s *mapStore) LoadMemo(_ context.Context, k ldp.MemoKey) ([]byte, bool, error) {
	a, ok := s.m[k]
	return a, ok, nil
}

func (s *mapStore) StoreMemo(_ context.Context, k ldp.MemoKey, a []byte) error {
	if s.fail != nil {
		return s.fail
	}
	s.m[k] = a
	return nil
}

// TestMemoReusesAnswer checks that repeated answers for one value are
// identical (so averaging over epochs learns nothing new), that a new value
// gets a fresh randomization, and that a failed store is an error, not a
// silently unmemoized answer.
func TestMemoReusesAnswer(t *testing.T) {
	fo, _ := ldp.NewOUE(1, 497)
	rng := ldp.NewSeededRand(3)
	store := &mapStore{m: map[ldp.MemoKey][]byte{}}
	memo := ldp.Memo{Store: store}
	answer := func(v int) ([]byte, bool) {
		a, reused, err := memo.Answer(context.Background(), ldp.MemoKey{Campaign: "c1", Value: ldp.ValueKey(v)},
			func() ([]byte, error) { return fo.AppendRandomized(nil, v, rng) })
		if err != nil {
			t.Fatal(err)
		}
		return a, reused
	}
	first, reused := answer(7)
	if reused {
		t.Fatal("first answer reported as reused")
	}
	for range 20 {
		again, reused := answer(7)
		if !reused || string(again) != string(first) {
			t.Fatal("memoized answer not reused")
		}
	}
	if other, reused := answer(8); reused || string(other) == string(first) {
		t.Error("a different value reused the memo")
	}
	store.fail = errors.New("disk full")
	_, _, err := memo.Answer(context.Background(), ldp.MemoKey{Campaign: "c1", Value: "9"},
		func() ([]byte, error) { return fo.AppendRandomized(nil, 9, rng) })
	if !errors.Is(err, ldp.ErrMemo) {
		t.Errorf("failed store: err = %v, want ErrMemo", err)
	}
	if ldp.SetKey([]int{3, 1, 2}) != ldp.SetKey([]int{2, 3, 1}) {
		t.Error("SetKey depends on order")
	}
}
