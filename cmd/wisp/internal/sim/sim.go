// Package sim makes synthetic wearable owners for the demo and the tests: a
// week of steps, heart-rate samples and workouts per device, drawn from a
// few personas with a fixed seed, so a whole population is reproducible and
// its ground truth is known.
package sim

import (
	"math/rand/v2"

	"github.com/wisp-project/wisp/plugins/fitness/scorer"
	"github.com/wisp-project/wisp/sdk/abi"
)

// Persona is how likely an owner is to do each activity in a week, and for
// how long.
type persona struct {
	prob       float64 // share of owners who do it
	sessions   [2]int  // sessions per week, min and max
	minutes    [2]float64
	workoutTag uint32
}

var personas = []persona{
	{0.25, [2]int{1, 5}, [2]float64{20, 60}, scorer.WorkoutRun},
	{0.15, [2]int{1, 4}, [2]float64{30, 120}, scorer.WorkoutRide},
	{0.10, [2]int{1, 3}, [2]float64{20, 60}, scorer.WorkoutSwim},
	{0.15, [2]int{1, 4}, [2]float64{30, 75}, scorer.WorkoutYoga},
	{0.20, [2]int{1, 4}, [2]float64{30, 60}, scorer.WorkoutStrength},
	{0.40, [2]int{2, 7}, [2]float64{20, 60}, scorer.WorkoutWalk},
}

const day = 24 * 3600 * 1000 // ms

// Week returns device i's events for the week starting at start (Unix ms).
// The same (seed, i) always gives the same week.
func Week(seed uint64, i int, start int64) []abi.Event {
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	var events []abi.Event
	active := 0.0
	for _, p := range personas {
		if rng.Float64() >= p.prob {
			continue
		}
		n := p.sessions[0] + rng.IntN(p.sessions[1]-p.sessions[0]+1)
		for range n {
			m := p.minutes[0] + rng.Float64()*(p.minutes[1]-p.minutes[0])
			active += m
			events = append(events, abi.Event{Kind: scorer.KindWorkout, Code: p.workoutTag,
				Time: start + rng.Int64N(7*day), Value: float64(int(m))})
		}
	}
	baseSteps := 2500 + rng.Float64()*6000 + active*15
	for d := range 7 {
		events = append(events, abi.Event{Kind: scorer.KindSteps, Time: start + int64(d)*day,
			Value: float64(int(baseSteps * (0.7 + 0.6*rng.Float64())))})
		for range 2 {
			hr := 60 + rng.Float64()*30
			if active > 0 && rng.Float64() < active/600 {
				hr = 120 + rng.Float64()*50
			}
			events = append(events, abi.Event{Kind: scorer.KindHeartRate, Time: start + int64(d)*day + rng.Int64N(day), Value: float64(int(hr))})
		}
	}
	return events
}
