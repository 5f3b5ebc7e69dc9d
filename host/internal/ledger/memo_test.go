package ledger_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/wisp-project/wisp/host/internal/ledger"
	"github.com/wisp-project/wisp/internal/ldp"
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

// TestMemoImportCount: imported memos keep an answer the ledger already
// has (importing twice changes nothing) and are counted.
func TestMemoImportCount(t *testing.T) {
	ctx := context.Background()
	l := mustOpen(t, filepath.Join(t.TempDir(), "ledger.db"), ledger.NewConfig(1))
	have := ldp.MemoKey{Campaign: "c", Value: "1"}
	if err := l.StoreMemo(ctx, have, []byte{7}); err != nil {
		t.Fatal(err)
	}
	in := []ledger.Memo{{Key: have, Answer: []byte{9}}, {Key: ldp.MemoKey{Campaign: "c", Value: "2"}, Answer: []byte{2}}}
	for range 2 {
		if err := l.ImportMemos(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if got, _, _ := l.LoadMemo(ctx, have); string(got) != "\x07" {
		t.Errorf("import replaced a memo: %x", got)
	}
	if n, err := l.MemoCount(ctx); err != nil || n != 2 {
		t.Errorf("MemoCount = %d, %v; want 2", n, err)
	}
}
