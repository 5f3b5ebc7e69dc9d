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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

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
				t.Errorf("%s (round %d): %v", f.Name, round+1, Explain(err, h.plugin.Limits()))
				continue
			}
			for _, msg := range f.Check(got) {
				t.Errorf("%s (round %d): %s", f.Name, round+1, msg)
			}
		}
	}
}

// RunFile reads a fixture file (see Fixtures), checks it is for this
// plugin (Match) and runs it.
func (h *Harness) RunFile(t TB, path string) {
	t.Helper()
	fx, err := ReadFile(path)
	if err != nil {
		t.Fatalf("plugintest: %v", err)
		return
	}
	if err := h.Match(fx); err != nil {
		t.Fatalf("plugintest: %s: %v", path, err)
		return
	}
	h.Run(t, fx.Cases)
}

// Match reports whether fx can be run against this plugin: its "plugin"
// (if set) is the manifest's name, and every category a case expects a
// score for (want, min, max) is one the manifest declares, since the host
// refuses any other.
func (h *Harness) Match(fx Fixtures) error {
	m := h.plugin.Manifest()
	if fx.Plugin != "" && fx.Plugin != m.Name {
		return fmt.Errorf("%w: the fixtures are for plugin %q, the manifest is %q", ErrFixture, fx.Plugin, m.Name)
	}
	declared := map[uint32]bool{}
	for _, c := range m.Categories {
		declared[c] = true
	}
	for _, f := range fx.Cases {
		for _, set := range []map[uint32]float32{f.Want, f.Min, f.Max} {
			for _, c := range sortedKeys(set) {
				if !declared[c] {
					return fmt.Errorf("%w: %s: category %d is not among the manifest's categories %v", ErrFixture, f.Name, c, m.Categories)
				}
			}
		}
	}
	return nil
}

// Fixtures is the fixture file format (JSON).
type Fixtures struct {
	// Plugin names the plugin the fixtures are for; if set, running them
	// against a plugin of another name is an error.
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

// eventJSON is one event of a fixture. time is Unix milliseconds (the ABI's
// Event.Time) or an RFC 3339 string; value is a number or one of the
// strings "NaN", "Infinity", "+Infinity", "-Infinity" (a broken reading,
// which a plugin must handle), since JSON has no such numbers.
type eventJSON struct {
	Kind  uint32       `json:"kind"`
	Code  uint32       `json:"code"`
	Time  fixtureTime  `json:"time"`
	Value fixtureValue `json:"value"`
}

type fixtureTime int64

func (t *fixtureTime) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fieldError{fmt.Sprintf("time %q: want Unix milliseconds (1767225600000) or RFC 3339 (\"2026-01-01T00:00:00Z\")", s)}
		}
		*t = fixtureTime(v.UnixMilli())
		return nil
	}
	var ms int64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fieldError{fmt.Sprintf("time %s: want Unix milliseconds (1767225600000) or RFC 3339 (\"2026-01-01T00:00:00Z\")", b)}
	}
	*t = fixtureTime(ms)
	return nil
}

type fixtureValue float64

func (v *fixtureValue) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*v = fixtureValue(math.NaN())
		case "Infinity", "+Infinity", "Inf", "+Inf":
			*v = fixtureValue(math.Inf(1))
		case "-Infinity", "-Inf":
			*v = fixtureValue(math.Inf(-1))
		default:
			return fieldError{fmt.Sprintf("value %q: want a number, or \"NaN\", \"Infinity\" or \"-Infinity\"", s)}
		}
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fieldError{fmt.Sprintf("value %s: want a number, or \"NaN\", \"Infinity\" or \"-Infinity\"", b)}
	}
	*v = fixtureValue(f)
	return nil
}

// fieldError is a decoding error already written for the fixture's author.
type fieldError struct{ msg string }

func (e fieldError) Error() string { return e.msg }

type fixtureJSON struct {
	Name      string             `json:"name"`
	Events    []json.RawMessage  `json:"events"`
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
	fx, err := Parse(b)
	if err != nil {
		return Fixtures{}, fmt.Errorf("%s: %w", path, err)
	}
	return fx, nil
}

// strict decodes b into v, refusing unknown fields and trailing data, and
// words the error for the fixture's author; fields lists what v may hold.
func strict(b []byte, v any, fields string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("data after the end")
	}
	if err == nil {
		return nil
	}
	var fe fieldError
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.As(err, &te):
		return fmt.Errorf("%s: want %s, got a JSON %s", te.Field, jsonKind(te.Type.Kind()), te.Value)
	case errors.As(err, &se):
		return fmt.Errorf("not valid JSON at byte %d: %v", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return errors.New("not valid JSON: it ends before its last } or ]")
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("unknown field %s (a typo? the fields are %s)", f, fields)
	}
	return errors.New(strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.Uint32, reflect.Uint64, reflect.Int64, reflect.Int:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Map:
		return `an object of category ids to scores, e.g. {"706": 0.5}`
	case reflect.Slice:
		return "a list"
	}
	return k.String()
}

// Parse decodes the fixture file format: {"plugin": "...", "cases": [{"name",
// "events": [{"kind","code","time","value"}], "want": {"706": 0.5},
// "tolerance", "min": {...}, "max": {...}, "absent": [...], "only"}]}.
// Category keys are decimal IAB ids; time is Unix milliseconds or RFC 3339;
// value may be "NaN", "Infinity" or "-Infinity". Decoding is strict: an
// unknown field (a typo such as "valeu" or "wnat"), a file with no cases and
// a case that checks nothing are errors.
func Parse(b []byte) (Fixtures, error) {
	var raw struct {
		Plugin string            `json:"plugin"`
		Cases  []json.RawMessage `json:"cases"`
	}
	if err := strict(b, &raw, "plugin, cases"); err != nil {
		return Fixtures{}, fmt.Errorf("%w: %v", ErrFixture, err)
	}
	if len(raw.Cases) == 0 {
		return Fixtures{}, fmt.Errorf(`%w: no cases: a fixture file needs at least one, e.g. {"cases": [{"name": "no events", "events": [], "only": true}]}`, ErrFixture)
	}
	fx := Fixtures{Plugin: raw.Plugin}
	for i, rc := range raw.Cases {
		where := "case " + strconv.Itoa(i+1)
		var named struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(rc, &named) == nil && named.Name != "" {
			where += fmt.Sprintf(" (%q)", named.Name)
		}
		var c fixtureJSON
		if err := strict(rc, &c, "name, events, want, tolerance, min, max, absent, only"); err != nil {
			return Fixtures{}, fmt.Errorf("%w: %s: %v", ErrFixture, where, err)
		}
		f := Fixture{Name: c.Name, Tolerance: c.Tolerance, Absent: c.Absent, Only: c.Only}
		if f.Name == "" {
			f.Name = "case " + strconv.Itoa(i+1)
		}
		for j, re := range c.Events {
			var e eventJSON
			if err := strict(re, &e, "kind, code, time, value"); err != nil {
				return Fixtures{}, fmt.Errorf("%w: %s, event %d: %v", ErrFixture, where, j+1, err)
			}
			f.Events = append(f.Events, abi.Event{Kind: e.Kind, Code: e.Code, Time: int64(e.Time), Value: float64(e.Value)})
		}
		var err error
		if f.Want, err = categoryMap(c.Want); err == nil {
			if f.Min, err = categoryMap(c.Min); err == nil {
				f.Max, err = categoryMap(c.Max)
			}
		}
		if err != nil {
			return Fixtures{}, fmt.Errorf("%w: %s: %v", ErrFixture, where, err)
		}
		if len(f.Want) == 0 && len(f.Min) == 0 && len(f.Max) == 0 && len(f.Absent) == 0 && !f.Only {
			return Fixtures{}, fmt.Errorf(`%w: %s checks nothing: give "want", "min", "max", "absent" or "only": true`, ErrFixture, where)
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

// Explain adds to a sandbox error from Score what it means for the
// plugin's author and what to try, on a line of its own (a trap's text
// ends in the runtime's stack trace): the sandbox's own texts say what
// happened, written for a device's log.
func Explain(err error, l sandbox.Limits) error {
	var hint string
	switch {
	case errors.Is(err, sandbox.ErrMemoryLimit):
		hint = fmt.Sprintf("the plugin asked for more memory than its cap of %d pages (%d KiB) and then failed: raise limits.memory_pages in manifest.json, or use less", l.MemoryPages, 64*l.MemoryPages)
	case errors.Is(err, sandbox.ErrPluginFailed):
		hint = fmt.Sprintf("wisp_score returned a negative number, the plugin's own error (sdk/ABI.md section 5; out_cap is limits.max_scores, %d here); a device keeps the previous scores", l.MaxScores)
	case errors.Is(err, sandbox.ErrOutOfFuel):
		hint = fmt.Sprintf("the call used more than its fuel (%d): an endless loop, or too much work per event; the manifest's limits cannot raise it past the device's policy", l.Fuel)
	case errors.Is(err, sandbox.ErrDeadline):
		hint = fmt.Sprintf("the call ran longer than its deadline (%v): an endless loop, or raise limits.deadline_ms in manifest.json", l.Deadline)
	case errors.Is(err, sandbox.ErrTimeout):
		hint = fmt.Sprintf("the call was stopped (deadline %v, fuel %d)", l.Deadline, l.Fuel)
	case errors.Is(err, sandbox.ErrTrap):
		hint = "a WebAssembly runtime error: unreachable (a panic or abort), an out-of-bounds access, a division by zero or a stack overflow"
	case errors.Is(err, sandbox.ErrBadOutput):
		hint = "sdk/ABI.md section 5: wisp_buffer must return a non-zero address whose region fits inside memory; wisp_score must return at most out_cap records, each a declared category, once, with a finite score in [0, 1]"
	case errors.Is(err, sandbox.ErrTooManyEvents):
		hint = fmt.Sprintf("a fixture has more events than limits.max_events (%d)", l.MaxEvents)
	default:
		return err
	}
	return fmt.Errorf("%w\n\thint: %s", err, hint)
}
