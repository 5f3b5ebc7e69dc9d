// Package plugintest runs a plugin's .wasm in the real Wisp host (package
// host: the same sandbox, fuel metering, limits and output validation a
// device uses) against event fixtures, and checks the scores. It is what
// `wisp plugin test` runs and what the example plugins' own tests use:
//
//	func TestFixtures(t *testing.T) {
//		h := plugintest.New(t, wasm, plugintest.ReadManifest(t, "manifest.json"))
//		h.RunFile(t, "testdata/fixtures.json")
//	}
//
// Each fixture is run twice, interleaved with the others, so a plugin that
// keeps state between calls (which the ABI forbids) fails.
package plugintest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/sdk/abi"
)

// TB is the part of testing.TB the harness needs, so tools (wisp plugin
// test) can drive it outside go test.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Harness is one plugin loaded in a real host runtime.
type Harness struct {
	plugin *sandbox.Plugin
}

// New loads wasm with manifest m under the default device policy and
// closes it when the test ends. A refused plugin fails the test.
func New(t TB, wasm []byte, m sandbox.Manifest) *Harness {
	t.Helper()
	h, err := Load(context.Background(), sandbox.NewRuntime(sandbox.DefaultPolicy()), wasm, m)
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// ReadManifest reads and parses a plugin's manifest.json (unsigned: the
// harness tests the logic, signing is `wisp plugin sign`'s job). An
// unreadable or invalid file fails the test.
func ReadManifest(t TB, path string) sandbox.Manifest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	m, err := sandbox.ParseManifest(b)
	if err != nil {
		t.Fatalf("plugintest: %s: %v", path, err)
	}
	return m
}

// Load is New for callers that manage the runtime and errors themselves.
func Load(ctx context.Context, rt *sandbox.Runtime, wasm []byte, m sandbox.Manifest) (*Harness, error) {
	p, err := rt.Load(ctx, m, wasm)
	if err != nil {
		return nil, err
	}
	return &Harness{plugin: p}, nil
}

// Plugin returns the loaded plugin.
func (h *Harness) Plugin() *sandbox.Plugin { return h.plugin }

// Close releases the plugin.
func (h *Harness) Close() error { return h.plugin.Close(context.Background()) }

// Score runs one batch and returns the validated scores by category.
func (h *Harness) Score(events []abi.Event) (map[uint32]float32, error) {
	scores, err := h.plugin.Score(context.Background(), events)
	if err != nil {
		return nil, err
	}
	m := make(map[uint32]float32, len(scores))
	for _, s := range scores {
		m[s.Category] = s.Value
	}
	return m, nil
}

// Run checks every fixture, twice, interleaved.
func (h *Harness) Run(t TB, fixtures []Fixture) {
	t.Helper()
	for round := range 2 {
		for _, f := range fixtures {
			got, err := h.Score(f.Events)
			if err != nil {
				t.Errorf("%s (round %d): %v", f.Name, round+1, err)
				continue
			}
			for _, msg := range f.Check(got) {
				t.Errorf("%s (round %d): %s", f.Name, round+1, msg)
			}
		}
	}
}

// RunFile reads a fixture file (see Fixtures) and runs it.
func (h *Harness) RunFile(t TB, path string) {
	t.Helper()
	fx, err := ReadFile(path)
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	h.Run(t, fx.Cases)
}

// Fixtures is the fixture file format (JSON).
type Fixtures struct {
	// Plugin names the plugin the fixtures are for (informational).
	Plugin string    `json:"plugin,omitempty"`
	Cases  []Fixture `json:"cases"`
}

// Fixture is one batch of events and what its scores must be.
type Fixture struct {
	Name   string      `json:"name"`
	Events []abi.Event `json:"-"`
	// Want holds exact expected scores, within Tolerance (default 1e-4).
	Want      map[uint32]float32 `json:"-"`
	Tolerance float32            `json:"tolerance,omitempty"`
	// Min and Max bound scores; a category in either must be present.
	Min map[uint32]float32 `json:"-"`
	Max map[uint32]float32 `json:"-"`
	// Absent lists categories that must not be scored.
	Absent []uint32 `json:"absent,omitempty"`
	// Only forbids any category not named in Want, Min or Max.
	Only bool `json:"only,omitempty"`
}

// ErrFixture reports a malformed fixture file.
var ErrFixture = errors.New("plugintest: malformed fixture")

type eventJSON struct {
	Kind  uint32  `json:"kind"`
	Code  uint32  `json:"code"`
	Time  int64   `json:"time"`
	Value float64 `json:"value"`
}

type fixtureJSON struct {
	Name      string             `json:"name"`
	Events    []eventJSON        `json:"events"`
	Want      map[string]float32 `json:"want,omitempty"`
	Tolerance float32            `json:"tolerance,omitempty"`
	Min       map[string]float32 `json:"min,omitempty"`
	Max       map[string]float32 `json:"max,omitempty"`
	Absent    []uint32           `json:"absent,omitempty"`
	Only      bool               `json:"only,omitempty"`
}

// ReadFile reads a fixture file.
func ReadFile(path string) (Fixtures, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Fixtures{}, err
	}
	return Parse(b)
}

// Parse decodes the fixture file format: {"plugin": "...", "cases": [{"name",
// "events": [{"kind","code","time","value"}], "want": {"706": 0.5},
// "tolerance", "min": {...}, "max": {...}, "absent": [...], "only"}]}.
// Category keys are decimal IAB ids.
func Parse(b []byte) (Fixtures, error) {
	var raw struct {
		Plugin string        `json:"plugin"`
		Cases  []fixtureJSON `json:"cases"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Fixtures{}, fmt.Errorf("%w: %v", ErrFixture, err)
	}
	fx := Fixtures{Plugin: raw.Plugin}
	for i, c := range raw.Cases {
		f := Fixture{Name: c.Name, Tolerance: c.Tolerance, Absent: c.Absent, Only: c.Only}
		if f.Name == "" {
			f.Name = "case " + strconv.Itoa(i+1)
		}
		for _, e := range c.Events {
			f.Events = append(f.Events, abi.Event(e))
		}
		var err error
		if f.Want, err = categoryMap(c.Want); err == nil {
			if f.Min, err = categoryMap(c.Min); err == nil {
				f.Max, err = categoryMap(c.Max)
			}
		}
		if err != nil {
			return Fixtures{}, fmt.Errorf("%w: %s: %v", ErrFixture, f.Name, err)
		}
		fx.Cases = append(fx.Cases, f)
	}
	return fx, nil
}

func categoryMap(m map[string]float32) (map[uint32]float32, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[uint32]float32, len(m))
	for k, v := range m {
		c, err := strconv.ParseUint(k, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("category %q is not a number", k)
		}
		out[uint32(c)] = v
	}
	return out, nil
}

// Check returns what is wrong with got, or nothing.
func (f Fixture) Check(got map[uint32]float32) []string {
	var msgs []string
	tol := f.Tolerance
	if tol == 0 {
		tol = 1e-4
	}
	for _, c := range sortedKeys(f.Want) {
		if g, ok := got[c]; !ok {
			msgs = append(msgs, fmt.Sprintf("category %d: not scored, want %v", c, f.Want[c]))
		} else if math.Abs(float64(g-f.Want[c])) > float64(tol) {
			msgs = append(msgs, fmt.Sprintf("category %d: score %v, want %v ± %v", c, g, f.Want[c], tol))
		}
	}
	for _, c := range sortedKeys(f.Min) {
		if g, ok := got[c]; !ok || g < f.Min[c] {
			msgs = append(msgs, fmt.Sprintf("category %d: score %v (scored: %v), want ≥ %v", c, g, ok, f.Min[c]))
		}
	}
	for _, c := range sortedKeys(f.Max) {
		if g, ok := got[c]; !ok || g > f.Max[c] {
			msgs = append(msgs, fmt.Sprintf("category %d: score %v (scored: %v), want ≤ %v", c, g, ok, f.Max[c]))
		}
	}
	for _, c := range f.Absent {
		if g, ok := got[c]; ok {
			msgs = append(msgs, fmt.Sprintf("category %d: scored %v, want absent", c, g))
		}
	}
	if f.Only {
		for _, c := range sortedKeys(got) {
			_, w := f.Want[c]
			_, lo := f.Min[c]
			_, hi := f.Max[c]
			if !w && !lo && !hi {
				msgs = append(msgs, fmt.Sprintf("category %d: scored %v, not expected", c, got[c]))
			}
		}
	}
	return msgs
}

func sortedKeys(m map[uint32]float32) []uint32 {
	keys := make([]uint32, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
