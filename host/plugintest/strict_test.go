package plugintest_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/host/plugintest"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/sdk/abi"
)

// TestFixturesThatMustFail: each malformed fixture file is an error that
// names what is wrong, never a silent pass.
func TestFixturesThatMustFail(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"typo in an event", `{"cases":[{"events":[{"kind":1,"valeu":60}],"want":{"706":0.5}}]}`, `case 1, event 1: unknown field "valeu"`},
		{"typo in a case", `{"cases":[{"name":"x","events":[{"kind":1,"value":60}],"wnat":{"706":0.5}}]}`, `case 1 ("x"): unknown field "wnat"`},
		{"typo at the top", `{"plugni":"tv","cases":[{"events":[],"only":true}]}`, `unknown field "plugni"`},
		{"zero cases", `{"plugin":"tv","cases":[]}`, "no cases"},
		{"no cases field", `{"plugin":"tv"}`, "no cases"},
		{"a case that checks nothing", `{"cases":[{"name":"x","events":[{"kind":1,"value":60}]}]}`, `case 1 ("x") checks nothing`},
		{"a bad value string", `{"cases":[{"events":[{"kind":1,"value":"lots"}],"only":true}]}`, `value "lots": want a number, or "NaN"`},
		{"a bad time", `{"cases":[{"events":[{"kind":1,"time":"yesterday","value":1}],"only":true}]}`, `time "yesterday": want Unix milliseconds`},
		{"a string kind", `{"cases":[{"events":[{"kind":"steps","value":1}],"only":true}]}`, `kind: want a whole number, got a JSON string`},
		{"a category that is no number", `{"cases":[{"events":[],"want":{"sports":0.5}}]}`, `category "sports" is not a number`},
		{"not JSON", `{"cases":[`, "not valid JSON"},
	} {
		_, err := plugintest.Parse([]byte(tc.file))
		if err == nil || !errors.Is(err, plugintest.ErrFixture) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want ErrFixture containing %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "Go struct") {
			t.Errorf("%s: error %q shows Go-internal text", tc.name, err)
		}
	}
}

// TestFixturesForAnotherPlugin: a fixture file that names another plugin,
// or expects a score for a category the manifest does not declare, fails
// the run instead of passing or being refused later as a plugin bug.
func TestFixturesForAnotherPlugin(t *testing.T) {
	m := sandbox.Manifest{Name: "example", Categories: []uint32{706}}
	for _, tc := range []struct{ name, file, want string }{
		{"wrong plugin", `{"plugin":"tv","cases":[{"events":[],"only":true}]}`, `for plugin "tv", the manifest is "example"`},
		{"undeclared category", `{"cases":[{"name":"x","events":[],"want":{"999":0.5}}]}`, "category 999 is not among the manifest's categories"},
		{"undeclared min", `{"cases":[{"name":"x","events":[],"min":{"707":0.5}}]}`, "category 707"},
	} {
		fx, err := plugintest.Parse([]byte(tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		dir := t.TempDir()
		path := dir + "/fixtures.json"
		writeFile(t, path, tc.file)
		var r recorder
		h := plugintest.New(t, plugins.Example, m)
		if err := h.Match(fx); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Match: %v, want %q", tc.name, err, tc.want)
		}
		h.RunFile(&r, path)
		if len(r.errs) != 1 || !strings.Contains(r.errs[0], tc.want) {
			t.Errorf("%s: RunFile failures %q, want one containing %q", tc.name, r.errs, tc.want)
		}
	}
}

// TestNaNAndInfinityFixtures: broken readings can be written ("NaN",
// "Infinity", "-Infinity"), reach the plugin as such, and a plugin that
// ignores them as ABI.md asks passes; a time may be RFC 3339.
func TestNaNAndInfinityFixtures(t *testing.T) {
	fx, err := plugintest.Parse([]byte(`{"plugin":"tv","cases":[
		{"name":"only broken readings","events":[
			{"kind":1,"code":5,"value":"NaN"},{"kind":1,"code":5,"value":"Infinity"},{"kind":1,"code":5,"value":"-Infinity"},
			{"kind":2,"code":3,"value":"+Infinity","time":"2026-01-01T00:00:00Z"}],"only":true},
		{"name":"broken readings beside good ones","events":[
			{"kind":1,"code":5,"value":120},{"kind":1,"code":5,"value":"NaN","time":1767225600000},{"kind":1,"code":5,"value":"Infinity"},
			{"kind":1,"code":5,"value":60},{"kind":1,"code":14,"value":120},{"kind":1,"code":14,"value":"-Infinity"}],
			"want":{"715":0.6,"479":0.5,"706":0.375,"467":0.285714},"only":true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	ev := fx.Cases[0].Events
	if !math.IsNaN(ev[0].Value) || !math.IsInf(ev[1].Value, 1) || !math.IsInf(ev[2].Value, -1) || !math.IsInf(ev[3].Value, 1) {
		t.Fatalf("values decoded as %v %v %v %v", ev[0].Value, ev[1].Value, ev[2].Value, ev[3].Value)
	}
	if ev[3].Time != 1767225600000 || fx.Cases[1].Events[1].Time != 1767225600000 {
		t.Fatalf("times %d, %d, want 1767225600000 (2026-01-01T00:00:00Z in Unix ms)", ev[3].Time, fx.Cases[1].Events[1].Time)
	}
	h := plugintest.New(t, plugins.TV, plugintest.ReadManifest(t, "../../plugins/tv/manifest.json"))
	if err := h.Match(fx); err != nil {
		t.Fatal(err)
	}
	h.Run(t, fx.Cases)
}

// TestPluginErrorsExplained: a plugin's failure is reported with what it
// means, not only the sandbox's code: an error code by its ABI name, a
// stopped call without the stop mechanism's "wasm error: unreachable".
func TestPluginErrorsExplained(t *testing.T) {
	for _, tc := range []struct {
		module string
		want   []string
		is     error
	}{
		{"errcode", []string{"code -1 (ErrCodeBadInput: the plugin could not decode the batch)", "the plugin's own error"}, sandbox.ErrPluginFailed},
		{"loop", []string{"and was stopped", "endless loop"}, sandbox.ErrTimeout},
		{"trap", []string{"wasm error: unreachable", "WebAssembly runtime error"}, sandbox.ErrTrap},
		{"memcapcode", []string{"code -3 (ErrCodeInternal", "raise limits.memory_pages"}, sandbox.ErrMemoryLimit},
	} {
		wasm, err := os.ReadFile("../../testdata/plugins/hostile/" + tc.module + ".wasm")
		if err != nil {
			t.Fatal(err)
		}
		h := plugintest.New(t, wasm, sandbox.Manifest{Name: tc.module, Categories: []uint32{706}, Limits: sandbox.Limits{MemoryPages: 16}})
		events := []abi.Event{{Kind: 1, Value: 1}}
		if _, err := h.Score(events); !errors.Is(err, tc.is) {
			t.Errorf("%s: Score error %v, want one wrapping %v", tc.module, err, tc.is)
		}
		var r recorder
		h.Run(&r, []plugintest.Fixture{{Name: "one", Events: events, Only: true}})
		if len(r.errs) != 2 {
			t.Fatalf("%s: %q, want two failures", tc.module, r.errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.errs[0], w) {
				t.Errorf("%s: %q, want it to say %q", tc.module, r.errs[0], w)
			}
		}
		if tc.is == sandbox.ErrTimeout && strings.Contains(r.errs[0], "wasm error") {
			t.Errorf("%s: %q shows the stop mechanism's wasm error", tc.module, r.errs[0])
		}
	}
}

// TestStoppedCallsReadPlainly: a call the host stopped says so once, in
// process and in a worker process alike, without the stop mechanism's
// "wasm error: unreachable" or a repeated sentinel text.
func TestStoppedCallsReadPlainly(t *testing.T) {
	for _, isolated := range []bool{false, true} {
		rt, err := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().WithProcessIsolation(isolated))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rt.Close(context.Background()) })
		for _, tc := range []struct {
			module string
			is     error
			want   string
		}{
			// 100ms: the worker's own timer stops the call, or (under load)
			// its parent kills it; both say the deadline.
			{"loop", sandbox.ErrDeadline, "100ms"},
			{"growbomb", sandbox.ErrOutOfFuel, "the call used its budget of"},
		} {
			wasm, err := os.ReadFile("../../testdata/plugins/hostile/" + tc.module + ".wasm")
			if err != nil {
				t.Fatal(err)
			}
			h, err := plugintest.Load(context.Background(), rt, wasm, sandbox.Manifest{Name: tc.module, Categories: []uint32{706}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.Score([]abi.Event{{Kind: 1, Value: 1}})
			h.Close()
			msg := fmt.Sprint(err)
			if !errors.Is(err, tc.is) || !strings.Contains(msg, tc.want) || strings.Contains(msg, "wasm error") ||
				strings.Count(msg, "timed out") != 1 {
				t.Errorf("%s (isolated %v): %q, want %v saying %q once, without the wasm error", tc.module, isolated, msg, tc.is, tc.want)
			}
		}
	}
}
