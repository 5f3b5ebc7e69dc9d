package sim_test

import (
	"reflect"
	"testing"

	"github.com/wisp-project/wisp/cmd/wisp/internal/sim"
	"github.com/wisp-project/wisp/plugins/fitness/scorer"
)

func TestWeekIsReproducibleAndVaried(t *testing.T) {
	if !reflect.DeepEqual(sim.Week(1, 5, 0), sim.Week(1, 5, 0)) {
		t.Fatal("same seed and device gave different weeks")
	}
	if reflect.DeepEqual(sim.Week(1, 5, 0), sim.Week(1, 6, 0)) {
		t.Fatal("two devices got the same week")
	}
	runners := 0
	const n = 4000
	for i := range n {
		for _, e := range sim.Week(7, i, 0) {
			if e.Kind == scorer.KindWorkout && e.Code == scorer.WorkoutRun {
				runners++
				break
			}
		}
	}
	if share := float64(runners) / n; share < 0.22 || share > 0.28 {
		t.Fatalf("%.3f of owners run, want ≈ 0.25", share)
	}
}
