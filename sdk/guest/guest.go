// Package guest is the Go guest SDK for Wisp plugins. It hides the ABI
// (sdk/ABI.md): a plugin author writes one pure function from a batch of
// events to interest scores and registers it with Handle from an init
// function. Build the plugin as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// The same scoring function can be called natively (it has no build tags), so
// plugin logic is unit-tested with the ordinary go test.
package guest

import (
	"errors"

	"github.com/wisp-project/wisp/sdk/abi"
)

// Event is one local observation; see abi.Event.
type Event = abi.Event

// Score is one interest score; see abi.Score.
type Score = abi.Score

// Summary is one (kind, code) group of a summary batch; see abi.Summary.
type Summary = abi.Summary

// SummaryFunc scores a summary batch (sdk/ABI.md 3.1). Register it with
// HandleSummaries and opt in by importing sdk/guest/summaries.
type SummaryFunc func(groups []Summary, out *Scores) error

// ScoreFunc turns a batch of events into scores. It must be pure: the same
// events give the same scores, and nothing is remembered between calls (the
// host keeps all state and may reset the instance at any time).
type ScoreFunc func(events []Event, out *Scores) error

// Scores collects a plugin's answer. Setting a category twice keeps the last
// value.
type Scores struct {
	list []Score
}

// Set records score v for the IAB Audience Taxonomy 1.1 category id. Values
// are clamped to [0, 1]; NaN is recorded as 0, since the host refuses NaN.
func (s *Scores) Set(category uint32, v float64) {
	switch {
	case !(v >= 0): // also catches NaN
		v = 0
	case v > 1:
		v = 1
	}
	for i := range s.list {
		if s.list[i].Category == category {
			s.list[i].Value = float32(v)
			return
		}
	}
	s.list = append(s.list, Score{Category: category, Value: float32(v)})
}

// List returns the recorded scores in the order they were first set.
func (s *Scores) List() []Score { return s.list }

// Reset empties s, keeping its storage.
func (s *Scores) Reset() { s.list = s.list[:0] }

// ErrOutputSpace is returned by Run when the host's output buffer is too small.
var ErrOutputSpace = errors.New("guest: more scores than the host's output capacity")

// Run decodes a batch, calls f, and writes the scores into out, returning the
// number of records written. It is what the exported wisp_score does, and is
// exposed so native tests can drive the exact same path.
func Run(f ScoreFunc, in, out []byte, events []Event, scores *Scores) (int, []Event, error) {
	events, err := abi.DecodeBatch(events, in)
	if err != nil {
		return 0, events, err
	}
	n, err := RunEvents(f, events, out, scores)
	return n, events, err
}

// RunSummaries is RunEvents for a summary batch.
func RunSummaries(f SummaryFunc, groups []Summary, out []byte, scores *Scores) (int, error) {
	return run(f, groups, out, scores)
}

// RunEvents is Run for events already decoded.
func RunEvents(f ScoreFunc, events []Event, out []byte, scores *Scores) (int, error) {
	return run(f, events, out, scores)
}

// run calls f on one batch's records and writes its scores to out.
func run[R Event | Summary](f func([]R, *Scores) error, records []R, out []byte, scores *Scores) (int, error) {
	scores.Reset()
	if err := f(records, scores); err != nil {
		return 0, err
	}
	list := scores.List()
	if len(list)*abi.ScoreSize > len(out) {
		return 0, ErrOutputSpace
	}
	abi.PutScores(out, list)
	return len(list), nil
}
