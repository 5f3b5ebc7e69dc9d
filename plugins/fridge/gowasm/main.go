//go:build wasip1

// Command gowasm is the smart-fridge plugin built from its Go twin
// (../scorer) as a Go wasip1 reactor, so `wisp bench plugin` can compare the
// same logic compiled from C and from Go. Like the C build it opts into
// summary batches; raw batches still work.
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -ldflags=-s -buildmode=c-shared -o fridge-go.wasm .
package main

import (
	"github.com/wisp-project/wisp/plugins/fridge/scorer"
	"github.com/wisp-project/wisp/sdk/guest"
	_ "github.com/wisp-project/wisp/sdk/guest/summaries"
)

func init() {
	guest.Handle(scorer.Score)
	guest.HandleSummaries(scorer.ScoreSummaries)
}

func main() {}
