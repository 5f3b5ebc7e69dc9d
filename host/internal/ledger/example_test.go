package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wisp-project/wisp/host/internal/ledger"
	"github.com/wisp-project/wisp/internal/ldp"
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

// The device side of one campaign over three epochs: pay first, then take
// the memoized answer (randomized once, stored durably before first use),
// then queue. The owner's value does not change, so every epoch re-sends
// the same answer and averaging learns nothing new.
func Example_deviceFlow() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "ledger")
	defer os.RemoveAll(dir)
	l, err := ledger.Open(ctx, filepath.Join(dir, "ledger.db"), ledger.NewConfig(4))
	if err != nil {
		panic(err)
	}
	defer l.Close()

	const campaign, eps, d = "interests-2026-11", 1.0, 497
	choice, _ := ldp.Choose(eps, d) // the campaign config states choice.Mechanism and choice.Reason
	fo, _ := ldp.NewOracle(choice.Mechanism, eps, d)
	memo := ldp.Memo{Store: l}
	trueItem := 42 // from the plugin's scores

	var first []byte
	for epoch := uint32(1); epoch <= 3; epoch++ {
		if _, err := l.Spend(ctx, ledger.Charge{Campaign: campaign, Epoch: epoch, Epsilon: eps, EpochBudget: eps}); err != nil {
			fmt.Println("epoch", epoch, "not sent:", err)
			continue
		}
		answer, reused, err := memo.Answer(ctx, ldp.MemoKey{Campaign: campaign, Value: ldp.ValueKey(trueItem)},
			func() ([]byte, error) { return fo.AppendRandomized(nil, trueItem, ldp.NewCryptoRand()) })
		if err != nil {
			fmt.Println("epoch", epoch, "not sent:", err) // budget spent, no report: safe
			continue
		}
		if first == nil {
			first = answer
		}
		fmt.Printf("epoch %d: queue %d-byte %v answer (memoized: %v, same as epoch 1: %v)\n",
			epoch, len(answer), choice.Mechanism, reused, string(answer) == string(first))
	}
	// Output:
	// epoch 1: queue 63-byte oue answer (memoized: false, same as epoch 1: true)
	// epoch 2: queue 63-byte oue answer (memoized: true, same as epoch 1: true)
	// epoch 3: queue 63-byte oue answer (memoized: true, same as epoch 1: true)
}
