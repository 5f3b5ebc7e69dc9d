package ledger_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/ledger"
)

// TestMemoSurvivesReopen checks that a memoized answer stored through the
// ledger is reused after the database is closed and reopened (a reboot),
// and that a second store for the same key is refused rather than
// overwriting the first.
func TestMemoSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	fo, _ := ldp.NewOUE(1, 497)
	rng := ldp.NewSeededRand(1)
	key := ldp.MemoKey{Campaign: "c", Value: ldp.ValueKey(42)}
	randomize := func() ([]byte, error) { return fo.AppendRandomized(nil, 42, rng) }

	l := mustOpen(t, path, ledger.NewConfig(1))
	first, reused, err := ldp.Memo{Store: l}.Answer(ctx, key, randomize)
	if err != nil || reused {
		t.Fatalf("first answer: reused=%v err=%v", reused, err)
	}
	l.Close()

	l = mustOpen(t, path, ledger.NewConfig(1))
	again, reused, err := ldp.Memo{Store: l}.Answer(ctx, key, randomize)
	if err != nil || !reused || string(again) != string(first) {
		t.Fatalf("after reopen: reused=%v equal=%v err=%v", reused, string(again) == string(first), err)
	}
	if err := l.StoreMemo(ctx, key, []byte{1}); !errors.Is(err, ledger.ErrMemoExists) {
		t.Errorf("overwriting a memo: err = %v, want ErrMemoExists", err)
	}
}
