// Package sim makes the demo's synthetic households: each owner has hidden
// interests (traits), each household a few smart devices (a phone, a
// wearable, a TV, a fridge, a car, a smart speaker) whose week of events follows
// from those traits, and the moments when a device may show an offer. It
// is reproducible from a seed, so a whole population's ground truth is
// known to the simulation and to nobody else.
package sim

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/wisp-project/wisp/plugins/fitness/scorer"
	"github.com/wisp-project/wisp/sdk/abi"
)

// Class is a kind of device, named after what it is.
type Class string

// The device classes. Each runs one plugin (see the demo's class table).
const (
	Phone    Class = "phone"    // passes in-store beacons; keeps a wish list
	Wearable Class = "wearable" // steps, heart rate, workouts
	Media    Class = "tv"       // watched, and music on its soundbar
	Speaker  Class = "speaker"  // a smart speaker and home assistant: lights, thermostat, timers
	Fridge   Class = "fridge"
	Car      Class = "car"
)

// Ownership is the share of households that own each class, in the order
// a household's devices are numbered. Every household has a phone.
var Ownership = []struct {
	Class Class
	Share float64
}{{Phone, 1}, {Wearable, 0.8}, {Media, 0.8}, {Fridge, 0.6}, {Car, 0.6}, {Speaker, 0.5}}

// Trait is a hidden interest of an owner: what the simulation knows and
// the devices can only infer from events.
type Trait uint8

// The traits, and the share of owners who hold each.
const (
	Runner         Trait = iota // runs most weeks
	Cyclist                     // rides most weeks
	Swimmer                     //
	Yogi                        //
	Lifter                      // strength training
	Walker                      //
	SportsShopper               // lingers in the sports department, wishes for sports gear
	FashionShopper              //
	GroceryRun                  // low on milk and more: a big shop is due
	Baker                       //
	RoadTripper                 // long drives this week
	EVDriver                    // charges an electric car, drives in eco mode
	MusicFan                    // hours of music on the soundbar
	SmartHomer                  // automates the lights and the heating
	nTraits
)

var traitShare = [nTraits]float64{
	Runner: 0.25, Cyclist: 0.15, Swimmer: 0.10, Yogi: 0.15, Lifter: 0.20, Walker: 0.40,
	FashionShopper: 0.25, GroceryRun: 0.40, Baker: 0.20, RoadTripper: 0.30, EVDriver: 0.25, MusicFan: 0.40,
	SmartHomer: 0.35,
}

// Owner is a household's owner: the traits they hold.
type Owner struct{ traits uint32 }

// Has reports whether the owner holds t.
func (o Owner) Has(t Trait) bool { return o.traits&(1<<t) != 0 }

// Device is one simulated device: whose it is, what it is, and its stream
// of randomness (Events and Moments derive from it, reproducibly).
type Device struct {
	Household int
	Class     Class
	Owner     Owner
	seed      uint64
	index     uint64
}

// Population returns n devices: households in turn, each with a phone and
// the other classes at their Ownership share, the last household cut at n.
func Population(seed uint64, n int) []Device {
	out := make([]Device, 0, n)
	for h := 0; len(out) < n; h++ {
		rng := rand.New(rand.NewPCG(seed, uint64(h)))
		var o Owner
		for t := range nTraits {
			if rng.Float64() < share(t, o) {
				o.traits |= 1 << t
			}
		}
		for _, c := range Ownership {
			if len(out) < n && rng.Float64() < c.Share {
				out = append(out, Device{Household: h, Class: c.Class, Owner: o, seed: seed, index: uint64(len(out))})
			}
		}
	}
	return out
}

// share is how likely an owner is to hold t, given the traits drawn so
// far: runners and cyclists shop for sports gear more often.
func share(t Trait, o Owner) float64 {
	if t == SportsShopper {
		if o.Has(Runner) || o.Has(Cyclist) {
			return 0.7
		}
		return 0.15
	}
	return traitShare[t]
}

func (d Device) rng(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(d.seed^0x9e3779b97f4a7c15*(stream+1), d.index))
}

const day = 24 * time.Hour

// occasional is the share of owners without a trait who show a little of
// its behaviour in a week: what makes an interest inferred from events
// differ, now and then, from the one the owner holds.
const occasional = 0.15

// Events returns the device's week of events ending at end.
func (d Device) Events(end time.Time) []abi.Event {
	rng := d.rng(1)
	start := end.Add(-7 * day)
	at := func() int64 { return start.Add(time.Duration(rng.Int64N(int64(7 * day)))).UnixMilli() }
	ev := func(kind, code uint32, v float64) abi.Event {
		return abi.Event{Kind: kind, Code: code, Time: at(), Value: float64(int(v))}
	}
	between := func(lo, hi float64) float64 { return lo + rng.Float64()*(hi-lo) }
	times := func(lo, hi int) int { return lo + rng.IntN(hi-lo+1) }
	var out []abi.Event
	add := func(n int, f func() abi.Event) {
		for range n {
			out = append(out, f())
		}
	}
	switch d.Class {
	case Wearable:
		out = d.workouts(rng, start)
	case Phone:
		for _, dt := range []struct {
			dept  uint32
			trait Trait
		}{{storeSports, SportsShopper}, {storeFashion, FashionShopper}} {
			dept := dt.dept
			if d.Owner.Has(dt.trait) { // lingers and wishes
				add(times(2, 5), func() abi.Event { return ev(storeBeacon, dept, between(180, 600)) })
				add(times(1, 3), func() abi.Event { return ev(storeWished, dept, 1) })
			} else { // walks past, now and then browses
				add(times(0, 2), func() abi.Event { return ev(storeBeacon, dept, between(10, 60)) })
				if rng.Float64() < occasional {
					add(1, func() abi.Event { return ev(storeBeacon, dept, between(300, 900)) })
				}
			}
		}
		add(times(0, 3), func() abi.Event { return ev(storeBeacon, storeHome, between(10, 300)) })
	case Fridge:
		add(times(3, 10), func() abi.Event { return ev(fridgeStocked, uint32(1+rng.IntN(11)), 1) })
		if d.Owner.Has(GroceryRun) { // milk and the rest on the shopping list
			add(times(2, 4), func() abi.Event { return ev(fridgeListed, fridgeDairy, 1) })
			add(times(10, 20), func() abi.Event { return ev(fridgeListed, uint32(1+rng.IntN(11)), 1) })
		} else if rng.Float64() < occasional { // a party, not a shop that is due
			add(times(6, 12), func() abi.Event { return ev(fridgeStocked, uint32(1+rng.IntN(11)), 1) })
			add(times(4, 8), func() abi.Event { return ev(fridgeListed, uint32(1+rng.IntN(11)), 1) })
		}
		if d.Owner.Has(Baker) {
			add(times(2, 4), func() abi.Event { return ev(fridgeListed, fridgeBaking, 1) })
			add(times(1, 3), func() abi.Event { return ev(fridgeRecipe, fridgeRecipeBaking, between(20, 60)) })
		}
	case Car:
		add(times(5, 10), func() abi.Event { return ev(carTrip, carCommute, between(5, 40)) })
		if d.Owner.Has(RoadTripper) {
			add(times(1, 2), func() abi.Event { return ev(carTrip, carLongTrip, between(300, 600)) })
		} else if rng.Float64() < occasional { // one long drive to a funeral is no road trip
			add(1, func() abi.Event { return ev(carTrip, carLongTrip, between(150, 400)) })
		}
		if d.Owner.Has(EVDriver) {
			add(times(2, 4), func() abi.Event { return ev(carCharge, 0, between(15, 50)) })
			add(times(2, 5), func() abi.Event { return ev(carMode, carEco, between(30, 120)) })
		}
	case Speaker:
		add(times(1, 6), func() abi.Event { return ev(homeVoice, homeKitchenTimer, 1) })
		if d.Owner.Has(SmartHomer) {
			add(times(10, 25), func() abi.Event { return ev(homeLights, homeAutomation, 1) })
			add(times(2, 6), func() abi.Event { return ev(homeThermostat, homeSchedule, 1) })
		} else {
			add(times(0, 3), func() abi.Event { return ev(homeLights, homeAutomation, 1) })
			if rng.Float64() < occasional { // trying out a new routine
				add(times(5, 8), func() abi.Event { return ev(homeLights, homeAutomation, 1) })
			}
		}
	case Media:
		add(times(3, 10), func() abi.Event { return ev(mediaTV, uint32(1+rng.IntN(8)), between(20, 90)) })
		if d.Owner.Has(MusicFan) {
			add(times(4, 8), func() abi.Event { return ev(mediaSpeaker, uint32(2+rng.IntN(2)), between(40, 100)) })
		} else {
			add(times(0, 2), func() abi.Event { return ev(mediaSpeaker, 1, between(5, 30)) })
			if rng.Float64() < occasional { // the radio on while the guests are over
				add(times(1, 3), func() abi.Event { return ev(mediaSpeaker, 1, between(30, 90)) })
			}
		}
	}
	return out
}

// The plugins' event vocabularies (plugins/*/: store.c, fridge.c, car.c,
// tv.wat, home/assembly/index.ts).
const (
	storeBeacon, storeWished                       = 1, 2
	storeSports, storeFashion, storeHome           = 1, 2, 3
	fridgeStocked, fridgeRecipe, fridgeListed      = 1, 2, 3
	fridgeDairy, fridgeBaking, fridgeRecipeBaking  = 5, 7, 3
	carTrip, carCharge, carMode                    = 1, 2, 3
	carCommute, carLongTrip, carEco                = 1, 3, 2
	mediaTV, mediaSpeaker                          = 1, 2
	homeThermostat, homeLights, homeVoice          = 2, 3, 4
	homeSchedule, homeAutomation, homeKitchenTimer = 1, 1, 1
)

var workoutOf = map[Trait]struct {
	code     uint32
	sessions [2]int
	minutes  [2]float64
}{
	Runner: {scorer.WorkoutRun, [2]int{1, 5}, [2]float64{20, 60}}, Cyclist: {scorer.WorkoutRide, [2]int{1, 4}, [2]float64{30, 120}},
	Swimmer: {scorer.WorkoutSwim, [2]int{1, 3}, [2]float64{20, 60}}, Yogi: {scorer.WorkoutYoga, [2]int{1, 4}, [2]float64{30, 75}},
	Lifter: {scorer.WorkoutStrength, [2]int{1, 4}, [2]float64{30, 60}}, Walker: {scorer.WorkoutWalk, [2]int{2, 7}, [2]float64{20, 60}},
}

// workouts is a wearable's week: the owner's workouts, daily steps and
// heart-rate samples.
func (d Device) workouts(rng *rand.Rand, start time.Time) []abi.Event {
	var events []abi.Event
	active := 0.0
	for t := Runner; t <= Walker; t++ {
		w := workoutOf[t]
		sessions := w.sessions[0] + rng.IntN(w.sessions[1]-w.sessions[0]+1)
		if !d.Owner.Has(t) {
			if rng.Float64() >= occasional {
				continue
			}
			sessions = 1 // tried it once this week
		}
		for range sessions {
			m := w.minutes[0] + rng.Float64()*(w.minutes[1]-w.minutes[0])
			active += m
			events = append(events, abi.Event{Kind: scorer.KindWorkout, Code: w.code,
				Time: start.Add(time.Duration(rng.Int64N(int64(7 * day)))).UnixMilli(), Value: float64(int(m))})
		}
	}
	baseSteps := 2500 + rng.Float64()*6000 + active*15
	for i := range 7 {
		dayStart := start.Add(time.Duration(i) * day)
		events = append(events, abi.Event{Kind: scorer.KindSteps, Time: dayStart.UnixMilli(),
			Value: float64(int(baseSteps * (0.7 + 0.6*rng.Float64())))})
		for range 2 {
			hr := 60 + rng.Float64()*30
			if active > 0 && rng.Float64() < active/600 {
				hr = 120 + rng.Float64()*50
			}
			events = append(events, abi.Event{Kind: scorer.KindHeartRate,
				Time: dayStart.Add(time.Duration(rng.Int64N(int64(day)))).UnixMilli(), Value: float64(int(hr))})
		}
	}
	return events
}

// AisleFour is the moment of the push nobody may send: "we noticed you
// walked down aisle 4 at 9:56 am". Every phone passes that beacon then,
// the day after the simulated week.
const AisleFour = 9*time.Hour + 56*time.Minute

// IsAisleFour reports whether t is the aisle-4 beacon pass of Moments.
func IsAisleFour(t time.Time) bool { return t.UTC().Sub(t.UTC().Truncate(day)) == AisleFour }

// Moments returns when the device may show an offer, in the two days
// after the week ending at end, in order: a phone's beacon passes (the
// first is AisleFour), a wearable's workouts' ends, a fridge door opened,
// a car stopping, a TV turned on, the speaker spoken to. About a quarter fall in the
// evening or early morning.
func (d Device) Moments(end time.Time) []time.Time {
	rng := d.rng(2)
	midnight := end.UTC().Truncate(day).Add(day)
	out := make([]time.Time, 0, 4)
	if d.Class == Phone {
		out = append(out, midnight.Add(AisleFour))
	}
	for i := len(out); i < 4; i++ {
		out = append(out, midnight.Add(time.Duration(i/2)*day+6*time.Hour+time.Duration(rng.Int64N(int64(18*time.Hour)))))
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}
