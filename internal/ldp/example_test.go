package ldp_test

import (
	"fmt"

	"github.com/wisp-project/wisp/internal/ldp"
)

// A campaign over the 497 Interest categories at ε = 1: devices randomize,
// the aggregator accumulates and estimates.
func ExampleEstimateCounts() {
	choice, _ := ldp.Choose(1, 497)
	fo, _ := ldp.NewOracle(choice.Mechanism, 1, 497)

	rng := ldp.NewSeededRand(1) // devices use ldp.NewCryptoRand()
	acc := fo.NewAccumulator()
	for i := range 200_000 {
		answer, _ := fo.AppendRandomized(nil, i%4, rng) // items 0–3 held by 50,000 each
		if err := acc.Add(answer); err != nil {
			panic(err)
		}
	}
	est := ldp.EstimateCounts(fo, acc)
	fmt.Printf("%v, %d-byte answers\n", fo.Params().Mechanism, fo.Params().AnswerSize)
	for _, v := range []int{0, 100} {
		e := est[v]
		fmt.Printf("item %d: covered by 95%% interval: %v (sd %.0f)\n", v, e.Low <= float64(50_000*(1-v/100)) && float64(50_000*(1-v/100)) <= e.High, e.StdErr())
	}
	// Output:
	// oue, 63-byte answers
	// item 0: covered by 95% interval: true (sd 887)
	// item 100: covered by 95% interval: true (sd 858)
}
