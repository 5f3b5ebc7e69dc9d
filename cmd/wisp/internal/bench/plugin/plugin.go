// Package plugin measures the plugin sandbox's cost for `wisp bench
// plugin`: the smart-fridge plugin's scoring as C → wasm, as Go wasip1 and
// as native Go, the host's per-call overhead, how fast a restarted device
// is ready from the on-disk compile cache (in fresh processes), and the RSS
// of a host with three plugins loaded. Next to the Wisp host it times the
// same ABI call made directly on wazero, bare and with
// WithCloseOnContextDone plus a context deadline: the comparison that shows
// what enforcing limits costs.
package plugin

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unsafe"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/plugins/fridge/scorer"
	"github.com/wisp-project/wisp/sdk/abi"
	"github.com/wisp-project/wisp/sdk/guest"
)

// Result is one line of `wisp bench plugin`: a name and the figures that
// apply to it.
type Result struct {
	Name          string  `json:"name"`
	NsPerCall     float64 `json:"ns_per_call,omitempty"`
	NsPerEvent    float64 `json:"ns_per_event,omitempty"`
	RatioVsNative float64 `json:"ratio_vs_native,omitempty"`
	Ms            float64 `json:"ms,omitempty"`
	RatioVsWazero float64 `json:"ratio_vs_wazero,omitempty"`
	MiB           float64 `json:"mib,omitempty"`
	Goal          string  `json:"goal,omitempty"`
	Met           *bool   `json:"met,omitempty"`
	Note          string  `json:"note,omitempty"`
}

// Report is a whole run, as `wisp bench plugin --json` prints it.
type Report struct {
	Benchmark string   `json:"benchmark"` // "plugin"
	CPUs      int      `json:"cpus"`
	Go        string   `json:"go"`
	Results   []Result `json:"results"`
}

// Options configure a run.
type Options struct {
	// Events per scoring batch.
	Events int
	// Progress receives a line per step; nil discards them.
	Progress io.Writer
	// ChildArgs are the arguments that make this program's executable run
	// Child with the mode appended, e.g. {"bench", "plugin", "--child"}: the
	// cache and RSS figures are measured in fresh processes.
	ChildArgs []string
}

// Run measures everything, in one run and with deadline enforcement on.
func Run(ctx context.Context, opts Options) (Report, error) {
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	results, err := run(ctx, opts.Events, progress, opts.ChildArgs)
	if err != nil {
		return Report{}, err
	}
	return Report{Benchmark: "plugin", CPUs: runtime.NumCPU(), Go: runtime.Version(), Results: results}, nil
}

func goal(r Result, text string, met bool) Result {
	r.Goal, r.Met = text, &met
	return r
}

// timeOp returns the median time per call of fn over 7 rounds of at least
// 30 ms each.
func timeOp(fn func() error) (float64, error) {
	ns, _, err := timeInterleaved(fn, fn)
	if err != nil {
		return 0, err
	}
	return ns[0], nil
}

// timeInterleaved times fns in interleaved rounds, so that the machine's
// slow drifts (other tenants, frequency changes) hit all of them alike. It
// returns each one's median ns per call and, for each, the median over
// rounds of its time divided by fns[0]'s time in the same round. The first
// error a call returns ends the timing.
func timeInterleaved(fns ...func() error) (median, ratio []float64, err error) {
	iters := make([]int, len(fns))
	for i, fn := range fns {
		if err := fn(); err != nil { // warm up
			return nil, nil, err
		}
		n := 1
		for {
			start := time.Now()
			for range n {
				err = fn()
			}
			if err != nil {
				return nil, nil, err
			}
			if d := time.Since(start); d > 10*time.Millisecond {
				iters[i] = max(1, int(float64(n)*float64(30*time.Millisecond)/float64(d)))
				break
			}
			n *= 4
		}
	}
	const rounds = 9
	per := make([][]float64, len(fns))
	rat := make([][]float64, len(fns))
	for range rounds {
		times := make([]float64, len(fns))
		for i, fn := range fns {
			start := time.Now()
			for range iters[i] {
				err = fn()
			}
			times[i] = float64(time.Since(start).Nanoseconds()) / float64(iters[i])
			if err != nil {
				return nil, nil, err
			}
			per[i] = append(per[i], times[i])
		}
		for i := range fns {
			rat[i] = append(rat[i], times[i]/times[0])
		}
	}
	med := func(x []float64) float64 { slices.Sort(x); return x[len(x)/2] }
	for i := range fns {
		median = append(median, med(per[i]))
		ratio = append(ratio, med(rat[i]))
	}
	return median, ratio, nil
}

func fridgeWeek(n int) []abi.Event {
	events := make([]abi.Event, n)
	for i := range events {
		events[i] = abi.Event{Kind: uint32(1 + i%3), Code: uint32(1 + (i*7)%12), Time: int64(i) * 60_000, Value: float64(1 + i%5)}
	}
	return events
}

func fridgeManifest(pages uint32) sandbox.Manifest {
	return sandbox.Manifest{Name: "fridge", Categories: scorer.Categories, Limits: sandbox.Limits{MemoryPages: pages}}
}

func run(ctx context.Context, nEvents int, progress io.Writer, childArgs []string) ([]Result, error) {
	step := func(s string) { fmt.Fprintf(progress, "bench plugin: %s…\n", s) }
	rt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	defer rt.Close(ctx)
	isoRT, err := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().WithProcessIsolation(true))
	if err != nil {
		return nil, err
	}
	defer isoRT.Close(ctx)
	events := fridgeWeek(nEvents)
	var out []Result

	step("scoring: native Go; C → wasm (summaries, events) and Go wasip1 in the Wisp host; C → wasm in bare wazero and with CloseOnContextDone")
	var sc guest.Scores
	fns := []func() error{func() error { sc.Reset(); return scorer.Score(events, &sc) }}
	names := []string{"fridge scoring, native Go"}
	goals := []string{""}
	limits := []float64{0}
	for _, v := range []struct {
		name, goal string
		limit      float64
		wasm       []byte
		pages      uint32
		rt         *sandbox.Runtime
	}{
		{"fridge scoring, C → wasm in the Wisp host, summary batches (fuel + deadline)", "≤ 1.5× native", 1.5, plugins.Fridge, 16, rt},
		{"fridge scoring, C → wasm in the Wisp host, raw events (fuel + deadline)", "", 0, plugins.FridgeEvents, 16, rt},
		{"fridge scoring, Go wasip1 in the Wisp host, summary batches (fuel + deadline)", "≤ 3× native", 3, plugins.FridgeGo, 256, rt},
		{"fridge scoring, C → wasm, summary batches, process-isolated (worker process)", "", 0, plugins.Fridge, 16, isoRT},
		{"fridge scoring, C → wasm, raw events, process-isolated (worker process)", "", 0, plugins.FridgeEvents, 16, isoRT},
	} {
		p, err := v.rt.Load(ctx, fridgeManifest(v.pages), v.wasm)
		if err != nil {
			return nil, err
		}
		defer p.Close(ctx)
		fns = append(fns, func() error {
			_, err := p.Score(ctx, events)
			return err
		})
		names, goals, limits = append(names, v.name), append(goals, v.goal), append(limits, v.limit)
	}
	for _, mode := range []wazeroMode{bare, closeOnDone} {
		fn, closeFn, err := wazeroScorer(ctx, mode, plugins.FridgeEvents, events)
		if err != nil {
			return nil, err
		}
		defer closeFn()
		fns = append(fns, fn)
		names, goals, limits = append(names, "fridge scoring, C → wasm, raw events, in "+mode.String()), append(goals, ""), append(limits, 0)
	}
	med, ratio, err := timeInterleaved(fns...)
	if err != nil {
		return nil, err
	}
	for i := range fns {
		r := Result{Name: names[i], NsPerCall: med[i], NsPerEvent: med[i] / float64(nEvents), RatioVsNative: ratio[i]}
		if goals[i] != "" {
			r = goal(r, goals[i], ratio[i] <= limits[i])
		}
		out = append(out, r)
	}

	step("per-call overhead, in-process and process-isolated")
	example := sandbox.Manifest{Name: "example", Categories: []uint32{706}}
	p, err := rt.Load(ctx, example, plugins.Example)
	if err != nil {
		return nil, err
	}
	defer p.Close(ctx)
	ip, err := isoRT.Load(ctx, example, plugins.Example)
	if err != nil {
		return nil, err
	}
	defer ip.Close(ctx)
	calls, isoRatio, err := timeInterleaved(
		func() error { _, err := p.Score(ctx, nil); return err },
		func() error { _, err := ip.Score(ctx, nil); return err })
	if err != nil {
		return nil, err
	}
	call := calls[0]
	out = append(out, goal(Result{Name: "host→plugin call, empty batch, Wisp host (fuel + deadline timer)", NsPerCall: call,
		Note: "includes batch encoding, buffer write, output validation"}, "≤ 1 µs", call <= 1000))
	out = append(out, Result{Name: "host→plugin call, empty batch, Wisp host, process-isolated (worker process)", NsPerCall: calls[1],
		Note: fmt.Sprintf("%.0f× the in-process call, +%.1f µs: a pipe round trip to the worker and back, plus its deadline kill timer", isoRatio[1], (calls[1]-call)/1000)})
	for _, mode := range []wazeroMode{bare, closeOnDone} {
		fn, closeFn, err := wazeroScorer(ctx, mode, plugins.Example, nil)
		if err != nil {
			return nil, err
		}
		ns, err := timeOp(fn)
		closeFn()
		if err != nil {
			return nil, err
		}
		out = append(out, Result{Name: "host→plugin call, empty batch, " + mode.String(), NsPerCall: ns})
	}

	step("ready from the compile cache, fresh processes")
	ready, err := readyFromCache(ctx, childArgs)
	if err != nil {
		return nil, err
	}
	out = append(out, ready...)

	step("RSS with three plugins loaded, fresh process")
	rss, err := runChild(ctx, childArgs, "rss", "")
	if err != nil {
		return nil, err
	}
	out = append(out, goal(Result{Name: "RSS, host with fitness (Go), fridge (C), tv (WAT) loaded", MiB: rss,
		Note: "after one call each, GC and FreeOSMemory; warm compile cache"}, "≤ 40 MiB", rss <= 40))
	return out, nil
}

// wazeroMode is a baseline: wazero without Wisp's host.
type wazeroMode int

const (
	bare        wazeroMode = iota // no limits: nothing can stop a runaway call
	closeOnDone                   // WithCloseOnContextDone + a per-call context deadline
)

func (m wazeroMode) String() string {
	if m == bare {
		return "bare wazero (no deadline enforcement)"
	}
	return "wazero WithCloseOnContextDone + context deadline"
}

// wazeroScorer returns a function making one score call on a plugin run
// directly on wazero, with the host's one-copy batch encoding, so the
// difference to the Wisp host is the cost of enforcing limits. It is a
// raw copy of the ABI call with only the checks a benchmark needs: a
// failed call or a result outside the output buffer is an error.
func wazeroScorer(ctx context.Context, mode wazeroMode, wasm []byte, events []abi.Event) (func() error, func(), error) {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(mode == closeOnDone))
	closeFn := func() { rt.Close(ctx) }
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		closeFn()
		return nil, nil, err
	}
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	in := abi.AppendBatch(nil, events)
	outOff := (uint32(len(in)) + 7) &^ 7
	need := outOff + 512*abi.ScoreSize
	buffer, score := mod.ExportedFunction(abi.BufferExport), mod.ExportedFunction(abi.ScoreExport)
	if buffer == nil || score == nil || mod.Memory() == nil {
		closeFn()
		return nil, nil, fmt.Errorf("wazero baseline: the module lacks %s, %s or its memory", abi.BufferExport, abi.ScoreExport)
	}
	res, err := buffer.Call(ctx, uint64(need))
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	ptr := uint32(res[0])
	if ptr == 0 {
		closeFn()
		return nil, nil, fmt.Errorf("wazero baseline: %s(%d) refused", abi.BufferExport, need)
	}
	var stack [4]uint64
	do := func(c context.Context) error {
		view, ok := mod.Memory().Read(ptr, uint32(len(in)))
		if !ok {
			return fmt.Errorf("wazero baseline: buffer %d+%d outside memory", ptr, len(in))
		}
		copy(view, in[:abi.HeaderSize])
		if len(events) > 0 {
			copy(view[abi.HeaderSize:], unsafe.Slice((*byte)(unsafe.Pointer(&events[0])), len(events)*abi.EventSize))
		}
		stack = [4]uint64{uint64(ptr), uint64(len(in)), uint64(ptr + outOff), 512}
		if err := score.CallWithStack(c, stack[:]); err != nil {
			return fmt.Errorf("wazero baseline: %s: %w", abi.ScoreExport, err)
		}
		n := int32(stack[0])
		if n < 0 || n > 512 {
			return fmt.Errorf("wazero baseline: %s returned %d", abi.ScoreExport, n)
		}
		b, ok := mod.Memory().Read(ptr+outOff, uint32(n)*abi.ScoreSize)
		if !ok {
			return fmt.Errorf("wazero baseline: %d scores outside memory", n)
		}
		_ = abi.DecodeScores(nil, b)
		return nil
	}
	if mode == bare {
		return func() error { return do(ctx) }, closeFn, nil
	}
	return func() error {
		c, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		return do(c)
	}, closeFn, nil
}

// readyFromCache warms an on-disk cache, then times fresh processes that
// load each plugin from it: Wisp's Load (instrument, cache hit, checks,
// instantiate) against wazero's own bound (cache hit and instantiate of the
// unmodified module).
func readyFromCache(ctx context.Context, childArgs []string) ([]Result, error) {
	dir, err := os.MkdirTemp("", "wisp-bench-cache-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var out []Result
	for _, name := range []string{"fridge", "tv", "fitness"} {
		// Warm both cache entries, then alternate the two kinds of fresh
		// process so the machine's drifts hit both alike.
		for _, mode := range []string{"ready", "wazero"} {
			if _, err := runChild(ctx, childArgs, mode+":"+name, dir); err != nil {
				return nil, err
			}
		}
		var oursRuns, boundRuns, ratios []float64
		for range 7 {
			o, err := runChild(ctx, childArgs, "ready:"+name, dir)
			if err != nil {
				return nil, err
			}
			b, err := runChild(ctx, childArgs, "wazero:"+name, dir)
			if err != nil {
				return nil, err
			}
			oursRuns, boundRuns, ratios = append(oursRuns, o), append(boundRuns, b), append(ratios, o/b)
		}
		med := func(x []float64) float64 { slices.Sort(x); return x[len(x)/2] }
		ours, bound, ratio := med(oursRuns), med(boundRuns), med(ratios)
		r := Result{Name: "ready from compile cache, fresh process: " + name, Ms: ours, RatioVsWazero: ratio,
			Note: fmt.Sprintf("wazero's own bound (cache hit + instantiate) %.3f ms", bound)}
		if name == "fitness" {
			r = goal(r, "≤ 1.2× wazero's bound", ratio <= 1.2)
		} else {
			r = goal(r, "≤ 1 ms", ours <= 1)
		}
		out = append(out, r)
	}
	return out, nil
}

// runChild runs this program's executable with childArgs and mode, which
// runs Child in a fresh process, and returns the number it prints.
func runChild(ctx context.Context, childArgs []string, mode, dir string) (float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	args := append(slices.Clip(childArgs), mode)
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), "WISP_BENCH_CACHE="+dir)
	b, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("bench child %s: %w", mode, err)
	}
	return strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
}

type benchPlugin struct {
	wasm     []byte
	manifest sandbox.Manifest
}

// benchPlugins are the plugins the fresh processes load, by name.
func benchPlugins() map[string]benchPlugin {
	return map[string]benchPlugin{
		"fridge":  {plugins.Fridge, fridgeManifest(16)},
		"tv":      {plugins.TV, sandbox.Manifest{Name: "tv", Categories: []uint32{706}}},
		"fitness": {plugins.Fitness, sandbox.Manifest{Name: "fitness", Categories: []uint32{408}}},
	}
}

// Child runs one measurement in this fresh process and prints one number:
// what Run's child processes do (mode is "ready:NAME", "wazero:NAME" or
// "rss"; WISP_BENCH_CACHE names the compile cache directory).
func Child(ctx context.Context, mode string, w io.Writer) error {
	dir := os.Getenv("WISP_BENCH_CACHE")
	kind, name, _ := strings.Cut(mode, ":")
	switch kind {
	case "ready":
		bp := benchPlugins()[name]
		start := time.Now()
		rt, err := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().WithCompilationCacheDir(dir))
		if err != nil {
			return err
		}
		if _, err := rt.Load(ctx, bp.manifest, bp.wasm); err != nil {
			return err
		}
		fmt.Fprintf(w, "%.4f\n", float64(time.Since(start).Nanoseconds())/1e6)
	case "wazero":
		bp := benchPlugins()[name]
		start := time.Now()
		cache, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			return err
		}
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
		if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
			return err
		}
		compiled, err := rt.CompileModule(ctx, bp.wasm)
		if err != nil {
			return err
		}
		if _, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithStartFunctions("_initialize")); err != nil {
			return err
		}
		fmt.Fprintf(w, "%.4f\n", float64(time.Since(start).Nanoseconds())/1e6)
	case "rss":
		rt, err := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().WithCompilationCacheDir(os.TempDir() + "/wisp-bench-rss-cache"))
		if err != nil {
			return err
		}
		for _, name := range []string{"fitness", "fridge", "tv"} {
			bp := benchPlugins()[name]
			p, err := rt.Load(ctx, bp.manifest, bp.wasm)
			if err != nil {
				return err
			}
			if _, err := p.Score(ctx, fridgeWeek(100)); err != nil && name == "fridge" {
				return err
			}
		}
		runtime.GC()
		debug.FreeOSMemory()
		fmt.Fprintf(w, "%.2f\n", rssMiB())
	default:
		return fmt.Errorf("unknown bench child %q", mode)
	}
	return nil
}

func rssMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// WriteText prints rep's results as `wisp bench plugin` does: one table.
func WriteText(w io.Writer, rep Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\tfigure\tvs native / wazero\tgoal\tmet")
	for _, r := range rep.Results {
		var fig, ratio string
		switch {
		case r.NsPerEvent > 0:
			fig = fmt.Sprintf("%.0f ns/call, %.2f ns/event", r.NsPerCall, r.NsPerEvent)
		case r.NsPerCall > 0:
			fig = fmt.Sprintf("%.0f ns/call", r.NsPerCall)
		case r.Ms > 0:
			fig = fmt.Sprintf("%.3f ms", r.Ms)
		case r.MiB > 0:
			fig = fmt.Sprintf("%.1f MiB", r.MiB)
		}
		if r.RatioVsNative > 0 {
			ratio = fmt.Sprintf("%.2f×", r.RatioVsNative)
		} else if r.RatioVsWazero > 0 {
			ratio = fmt.Sprintf("%.2f× wazero", r.RatioVsWazero)
		}
		met := ""
		if r.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*r.Met]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, fig, ratio, r.Goal, met)
	}
	tw.Flush()
}
