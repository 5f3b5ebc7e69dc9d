// Package scorer is the scoring logic of the wearable fitness plugin: a week
// of steps, heart-rate samples and workouts in, IAB Audience Taxonomy 1.1
// Interest scores out. It is plain Go so it is tested natively and compiled
// unchanged into the plugin (../main.go).
package scorer

import (
	"math"

	"github.com/wisp-project/wisp/sdk/guest"
)

// Event kinds this plugin understands (declared in its manifest).
const (
	KindSteps     = 1 // Value: steps counted in one day
	KindHeartRate = 2 // Value: a resting or active heart-rate sample in bpm
	KindWorkout   = 3 // Code: one of the Workout* codes; Value: minutes
)

// Workout codes for KindWorkout events.
const (
	WorkoutRun = iota + 1
	WorkoutRide
	WorkoutSwim
	WorkoutYoga
	WorkoutStrength
	WorkoutWalk
)

// IAB Audience Taxonomy 1.1 Interest categories this plugin scores.
const (
	Fitness       = 408 // Interest | Healthy Living | Fitness and Exercise
	Running       = 410 // Interest | Healthy Living | Running and Jogging
	Wellness      = 415 // Interest | Healthy Living | Wellness
	Cycling       = 625 // Interest | Sports | Cycling
	Swimming      = 667 // Interest | Sports | Swimming
	Walking       = 672 // Interest | Sports | Walking
	Weightlifting = 674 // Interest | Sports | Weightlifting
)

// Categories lists every category Score may set, for the manifest.
var Categories = []uint32{Fitness, Running, Wellness, Cycling, Swimming, Walking, Weightlifting}

// Minutes per week at which a workout type's score reaches 1-1/e ≈ 0.63.
// Chosen so that one typical session a week scores about 0.3 and three or
// more score above 0.6.
var halfLife = map[uint32]float64{
	WorkoutRun:      60,
	WorkoutRide:     90,
	WorkoutSwim:     45,
	WorkoutYoga:     60,
	WorkoutStrength: 60,
	WorkoutWalk:     120,
}

var category = map[uint32]uint32{
	WorkoutRun:      Running,
	WorkoutRide:     Cycling,
	WorkoutSwim:     Swimming,
	WorkoutYoga:     Wellness,
	WorkoutStrength: Weightlifting,
	WorkoutWalk:     Walking,
}

// Score scores one batch, normally a week of a wearer's events. Each workout
// type saturates with minutes per week; overall fitness combines all active
// minutes with daily steps; elevated heart rate during the week nudges
// fitness up a little. Unknown kinds and codes are ignored.
func Score(events []guest.Event, out *guest.Scores) error {
	var minutes [WorkoutWalk + 1]float64
	var steps, stepDays, hrHigh, hrSamples float64
	for _, e := range events {
		if !(e.Value >= 0) || math.IsInf(e.Value, 0) {
			continue // a broken sensor reading is not evidence
		}
		switch e.Kind {
		case KindSteps:
			steps += e.Value
			stepDays++
		case KindHeartRate:
			hrSamples++
			if e.Value >= 120 {
				hrHigh++
			}
		case KindWorkout:
			if e.Code >= WorkoutRun && e.Code <= WorkoutWalk {
				minutes[e.Code] += e.Value
			}
		}
	}
	var active float64
	for code := uint32(WorkoutRun); code <= WorkoutWalk; code++ {
		m := minutes[code]
		active += m
		if m > 0 {
			out.Set(category[code], saturate(m, halfLife[code]))
		}
	}
	fitness := 0.7 * saturate(active, 150) // WHO: 150 active minutes a week
	if stepDays > 0 {
		fitness += 0.2 * math.Min(steps/stepDays/10000, 1)
	}
	if hrSamples > 0 {
		fitness += 0.1 * hrHigh / hrSamples
	}
	if fitness > 0 {
		out.Set(Fitness, fitness)
	}
	return nil
}

// saturate maps x ≥ 0 to [0, 1): 1 - e^(-x/scale).
func saturate(x, scale float64) float64 { return 1 - math.Exp(-x/scale) }
