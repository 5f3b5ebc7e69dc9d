package sim_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/wisp-project/wisp/cmd/wisp/internal/sim"
	"github.com/wisp-project/wisp/plugins/fitness/scorer"
)

var end = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func TestPopulationIsReproducibleAndVaried(t *testing.T) {
	a, b := sim.Population(1, 500), sim.Population(1, 500)
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(a[7].Events(end), b[7].Events(end)) {
		t.Fatal("the same seed gave different populations")
	}
	if reflect.DeepEqual(a[7].Events(end), a[8].Events(end)) {
		t.Fatal("two devices got the same week")
	}
	if reflect.DeepEqual(sim.Population(2, 500), a) {
		t.Fatal("two seeds gave the same population")
	}
}

// TestClassesInTheirShares: every household has a phone; the other classes
// come at their Ownership share.
func TestClassesInTheirShares(t *testing.T) {
	pop := sim.Population(3, 20000)
	per := map[sim.Class]int{}
	households := map[int]bool{}
	for _, d := range pop {
		per[d.Class]++
		households[d.Household] = true
	}
	for _, o := range sim.Ownership {
		share := float64(per[o.Class]) / float64(len(households))
		if share < o.Share-0.03 || share > o.Share+0.03 {
			t.Errorf("%s: %.3f of households, want ≈ %.2f", o.Class, share, o.Share)
		}
	}
}

// TestEventsFollowTraits: a wearable's runner runs; an owner who does not
// run only now and then tries it once.
func TestEventsFollowTraits(t *testing.T) {
	runners, ran, others, othersRan := 0, 0, 0, 0
	for _, d := range sim.Population(7, 8000) {
		if d.Class != sim.Wearable {
			continue
		}
		runs := 0
		for _, e := range d.Events(end) {
			if e.Kind == scorer.KindWorkout && e.Code == scorer.WorkoutRun {
				runs++
			}
			if e.Time > end.UnixMilli() || e.Time < end.Add(-7*24*time.Hour).UnixMilli() {
				t.Fatalf("event at %v outside the week ending %v", time.UnixMilli(e.Time), end)
			}
		}
		if d.Owner.Has(sim.Runner) {
			runners++
			if runs > 0 {
				ran++
			}
		} else {
			others++
			if runs > 0 {
				othersRan++
			}
			if runs > 1 {
				t.Fatalf("a non-runner ran %d times", runs)
			}
		}
	}
	if share := float64(runners) / float64(runners+others); share < 0.22 || share > 0.28 {
		t.Errorf("%.3f of owners run, want ≈ 0.25", share)
	}
	if ran != runners {
		t.Errorf("%d of %d runners ran", ran, runners)
	}
	if share := float64(othersRan) / float64(others); share < 0.1 || share > 0.2 {
		t.Errorf("%.3f of non-runners tried a run, want ≈ 0.15", share)
	}
}

func TestMomentsAfterTheWeekInOrder(t *testing.T) {
	for _, d := range sim.Population(1, 200) {
		m := d.Moments(end)
		aisle := 0
		for i, at := range m {
			if !at.After(end) || (i > 0 && at.Before(m[i-1])) {
				t.Fatalf("%s: moments %v: want after %v, in order", d.Class, m, end)
			}
			if sim.IsAisleFour(at) {
				aisle++
			}
		}
		want := 0
		if d.Class == sim.Phone {
			want = 1
		}
		if aisle != want {
			t.Fatalf("%s: %d aisle-4 passes, want %d", d.Class, aisle, want)
		}
	}
}
