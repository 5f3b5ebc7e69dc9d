package scorer_test

import (
	"math"
	"testing"

	"github.com/wisp-project/wisp/plugins/fitness/scorer"
	"github.com/wisp-project/wisp/sdk/guest"
)

func score(t *testing.T, events ...guest.Event) map[uint32]float32 {
	t.Helper()
	var out guest.Scores
	if err := scorer.Score(events, &out); err != nil {
		t.Fatal(err)
	}
	got := map[uint32]float32{}
	for _, s := range out.List() {
		if _, dup := got[s.Category]; dup {
			t.Fatalf("category %d reported twice", s.Category)
		}
		if s.Value < 0 || s.Value > 1 {
			t.Fatalf("category %d score %v outside [0,1]", s.Category, s.Value)
		}
		got[s.Category] = s.Value
	}
	return got
}

func workout(code uint32, minutes float64) guest.Event {
	return guest.Event{Kind: scorer.KindWorkout, Code: code, Value: minutes}
}

func TestNoEventsNoScores(t *testing.T) {
	if got := score(t); len(got) != 0 {
		t.Fatalf("got %v, want no scores", got)
	}
}

func TestRunnerScoresRunningHigh(t *testing.T) {
	got := score(t, workout(scorer.WorkoutRun, 45), workout(scorer.WorkoutRun, 40), workout(scorer.WorkoutRun, 50))
	want := 1 - math.Exp(-135.0/60)
	if math.Abs(float64(got[scorer.Running])-want) > 1e-6 {
		t.Fatalf("running = %v, want %v", got[scorer.Running], want)
	}
	if got[scorer.Running] < 0.6 {
		t.Fatalf("three runs a week should score ≥ 0.6, got %v", got[scorer.Running])
	}
	if _, ok := got[scorer.Cycling]; ok {
		t.Fatal("a runner got a cycling score")
	}
	if got[scorer.Fitness] <= 0 {
		t.Fatal("a runner got no fitness score")
	}
}

func TestMoreMinutesNeverScoreLess(t *testing.T) {
	prev := float32(0)
	for m := 0.0; m <= 600; m += 15 {
		got := score(t, workout(scorer.WorkoutRide, m))[scorer.Cycling]
		if got < prev {
			t.Fatalf("cycling score fell from %v to %v at %v minutes", prev, got, m)
		}
		prev = got
	}
	if prev < 0.99 {
		t.Fatalf("10 hours of cycling scored only %v", prev)
	}
}

func TestEachWorkoutMapsToItsCategory(t *testing.T) {
	for code, cat := range map[uint32]uint32{
		scorer.WorkoutRun: scorer.Running, scorer.WorkoutRide: scorer.Cycling,
		scorer.WorkoutSwim: scorer.Swimming, scorer.WorkoutYoga: scorer.Wellness,
		scorer.WorkoutStrength: scorer.Weightlifting, scorer.WorkoutWalk: scorer.Walking,
	} {
		got := score(t, workout(code, 30))
		if got[cat] <= 0 {
			t.Errorf("workout %d: category %d not scored (%v)", code, cat, got)
		}
		if len(got) != 2 { // the workout's category and fitness
			t.Errorf("workout %d: scored %v, want exactly its category and fitness", code, got)
		}
	}
}

func TestStepsAndHeartRateRaiseFitness(t *testing.T) {
	sedentary := score(t, guest.Event{Kind: scorer.KindSteps, Value: 2000})[scorer.Fitness]
	walker := score(t, guest.Event{Kind: scorer.KindSteps, Value: 12000})[scorer.Fitness]
	if !(walker > sedentary) {
		t.Fatalf("12k steps/day fitness %v not above 2k steps/day %v", walker, sedentary)
	}
	calm := score(t, guest.Event{Kind: scorer.KindHeartRate, Value: 70})[scorer.Fitness]
	active := score(t, guest.Event{Kind: scorer.KindHeartRate, Value: 150})[scorer.Fitness]
	if calm != 0 || !(active > 0) {
		t.Fatalf("heart rate 70 → %v, 150 → %v; want 0 and > 0", calm, active)
	}
}

func TestBrokenReadingsIgnored(t *testing.T) {
	got := score(t,
		workout(scorer.WorkoutRun, math.NaN()), workout(scorer.WorkoutRun, math.Inf(1)),
		workout(scorer.WorkoutRun, -30), workout(99, 30), guest.Event{Kind: 42, Value: 1})
	if len(got) != 0 {
		t.Fatalf("broken readings produced scores %v", got)
	}
}

func TestDeclaredCategoriesCoverOutput(t *testing.T) {
	declared := map[uint32]bool{}
	for _, c := range scorer.Categories {
		declared[c] = true
	}
	all := score(t, workout(1, 60), workout(2, 60), workout(3, 60), workout(4, 60), workout(5, 60), workout(6, 60),
		guest.Event{Kind: scorer.KindSteps, Value: 9000}, guest.Event{Kind: scorer.KindHeartRate, Value: 130})
	for c := range all {
		if !declared[c] {
			t.Errorf("category %d is scored but not declared", c)
		}
	}
	if len(all) != len(declared) {
		t.Errorf("scored %d categories, declared %d", len(all), len(declared))
	}
}
