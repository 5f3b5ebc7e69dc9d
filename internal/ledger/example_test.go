package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wisp-project/wisp/internal/ledger"
)

// A device spends before it queues: only a nil error from Spend lets the
// report go to the outbox.
func ExampleLedger_SpendThen() {
	dir, _ := os.MkdirTemp("", "ledger")
	defer os.RemoveAll(dir)
	l, err := ledger.Open(context.Background(), filepath.Join(dir, "ledger.db"), ledger.NewConfig(2))
	if err != nil {
		panic(err)
	}
	defer l.Close()
	charge := ledger.Charge{Campaign: "fitness-2026-11", Epoch: 7, Epsilon: 1, EpochBudget: 1}
	queue := func(e ledger.Entry) error { fmt.Println("queued report for entry", e.ID); return nil }
	for range 2 {
		if _, err := l.SpendThen(context.Background(), charge, queue); errors.Is(err, ledger.ErrOverBudget) {
			fmt.Println("refused:", err)
		}
	}
	b, _ := l.Remaining(context.Background(), charge.Campaign, charge.Epoch, charge.EpochBudget)
	fmt.Printf("left this epoch %.1f, left today %.1f\n", b.EpochLeft, b.DailyLeft)
	// Output:
	// queued report for entry 1
	// refused: ledger: over privacy budget: campaign-epoch: spent 1 + 1 > 1
	// left this epoch 0.0, left today 1.0
}
