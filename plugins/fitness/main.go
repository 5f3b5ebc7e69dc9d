//go:build wasip1

// Command fitness is the wearable fitness-tracker plugin: steps, heart rate and
// workouts in, Interest scores (fitness, running, cycling, swimming, walking,
// weightlifting, wellness) out. The logic lives in ./scorer.
//
// Build (see ../build.sh, run by go generate ./plugins):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o fitness.wasm .
package main

import (
	"github.com/wisp-project/wisp/plugins/fitness/scorer"
	"github.com/wisp-project/wisp/sdk/guest"
)

func init() { guest.Handle(scorer.Score) }

func main() {}
