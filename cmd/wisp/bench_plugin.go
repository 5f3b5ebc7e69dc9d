package main

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

	"github.com/spf13/cobra"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/plugins/fridge/scorer"
	"github.com/wisp-project/wisp/sdk/abi"
	"github.com/wisp-project/wisp/sdk/guest"
)

// pluginResult is one line of `wisp bench plugin`: a name and the figures
// that apply to it.
type pluginResult struct {
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

func init() {
	var (
		asJSON bool
		events int
		child  string
	)
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Plugin sandbox cost: wasm vs native scoring, per-call overhead, ready-from-cache time, RSS",
		Long: `plugin measures, in one run and with deadline enforcement on, the smart-fridge
plugin's scoring (the same logic as C/wasm, as Go wasip1 and as native Go), the
host's per-call overhead, how fast a restarted device is ready from the on-disk
compile cache (fresh processes), and the RSS of a host with three plugins
loaded. It also measures the design wazero offers out of the box
(WithCloseOnContextDone plus a context deadline) next to Wisp's fuel metering,
which is why the host uses the latter. Medians of several runs; the machine's
noise shows in the spread, so compare ratios, not absolute times.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if child != "" {
				return benchChild(cmd.Context(), child, cmd.OutOrStdout())
			}
			results, err := runPluginBench(cmd.Context(), events, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), map[string]any{"benchmark": "plugin", "go": runtime.Version(), "cpus": runtime.NumCPU(), "results": results})
			}
			printPluginResults(cmd.OutOrStdout(), results)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object with a results array")
	cmd.Flags().IntVar(&events, "events", 1000, "events per scoring batch")
	cmd.Flags().StringVar(&child, "child", "", "internal: run one fresh-process measurement")
	cmd.Flags().MarkHidden("child")
	benchCmd.AddCommand(cmd)
}

func goal(r pluginResult, text string, met bool) pluginResult {
	r.Goal, r.Met = text, &met
	return r
}

// timeOp returns the median time per call of fn over 7 rounds of at least
// 30 ms each.
func timeOp(fn func()) float64 {
	ns, _ := timeInterleaved(fn, fn)
	return ns[0]
}

// timeInterleaved times fns in interleaved rounds, so that the machine's
// slow drifts (other tenants, frequency changes) hit all of them alike. It
// returns each one's median ns per call and, for each, the median over
// rounds of its time divided by fns[0]'s time in the same round.
func timeInterleaved(fns ...func()) (median, ratio []float64) {
	iters := make([]int, len(fns))
	for i, fn := range fns {
		fn() // warm up
		n := 1
		for {
			start := time.Now()
			for range n {
				fn()
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
				fn()
			}
			times[i] = float64(time.Since(start).Nanoseconds()) / float64(iters[i])
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
	return median, ratio
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

func runPluginBench(ctx context.Context, nEvents int, progress io.Writer) ([]pluginResult, error) {
	step := func(s string) { fmt.Fprintf(progress, "bench plugin: %s…\n", s) }
	rt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	defer rt.Close(ctx)
	events := fridgeWeek(nEvents)
	var out []pluginResult

	step("scoring: native Go; C → wasm (summaries, events) and Go wasip1 in the Wisp host; C → wasm in bare wazero and with CloseOnContextDone")
	var sc guest.Scores
	fns := []func(){func() { sc.Reset(); scorer.Score(events, &sc) }}
	names := []string{"fridge scoring, native Go"}
	goals := []string{""}
	limits := []float64{0}
	var callErr error
	for _, v := range []struct {
		name, goal string
		limit      float64
		wasm       []byte
		pages      uint32
	}{
		{"fridge scoring, C → wasm in the Wisp host, summary batches (fuel + deadline)", "≤ 1.5× native", 1.5, plugins.Fridge, 16},
		{"fridge scoring, C → wasm in the Wisp host, raw events (fuel + deadline)", "", 0, plugins.FridgeEvents, 16},
		{"fridge scoring, Go wasip1 in the Wisp host, summary batches (fuel + deadline)", "≤ 3× native", 3, plugins.FridgeGo, 256},
	} {
		p, err := rt.Load(ctx, fridgeManifest(v.pages), v.wasm)
		if err != nil {
			return nil, err
		}
		defer p.Close(ctx)
		fns = append(fns, func() {
			if _, err := p.Score(ctx, events); err != nil {
				callErr = err
			}
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
	med, ratio := timeInterleaved(fns...)
	if callErr != nil {
		return nil, callErr
	}
	for i := range fns {
		r := pluginResult{Name: names[i], NsPerCall: med[i], NsPerEvent: med[i] / float64(nEvents), RatioVsNative: ratio[i]}
		if goals[i] != "" {
			r = goal(r, goals[i], ratio[i] <= limits[i])
		}
		out = append(out, r)
	}

	step("per-call overhead")
	p, err := rt.Load(ctx, sandbox.Manifest{Name: "example", Categories: []uint32{706}}, plugins.Example)
	if err != nil {
		return nil, err
	}
	call := timeOp(func() { p.Score(ctx, nil) })
	p.Close(ctx)
	out = append(out, goal(pluginResult{Name: "host→plugin call, empty batch, Wisp host (fuel + deadline timer)", NsPerCall: call,
		Note: "includes batch encoding, buffer write, output validation"}, "≤ 1 µs", call <= 1000))
	for _, mode := range []wazeroMode{bare, closeOnDone} {
		fn, closeFn, err := wazeroScorer(ctx, mode, plugins.Example, nil)
		if err != nil {
			return nil, err
		}
		ns := timeOp(fn)
		closeFn()
		out = append(out, pluginResult{Name: "host→plugin call, empty batch, " + mode.String(), NsPerCall: ns})
	}

	step("ready from the compile cache, fresh processes")
	ready, err := readyFromCache(ctx)
	if err != nil {
		return nil, err
	}
	out = append(out, ready...)

	step("RSS with three plugins loaded, fresh process")
	rss, err := runChild(ctx, "rss", "")
	if err != nil {
		return nil, err
	}
	out = append(out, goal(pluginResult{Name: "RSS, host with fitness (Go), fridge (C), tv (WAT) loaded", MiB: rss,
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
// difference to the Wisp host is the cost of enforcing limits.
func wazeroScorer(ctx context.Context, mode wazeroMode, wasm []byte, events []abi.Event) (func(), func(), error) {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(mode == closeOnDone))
	closeFn := func() { rt.Close(ctx) }
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	in := abi.AppendBatch(nil, events)
	outOff := (uint32(len(in)) + 7) &^ 7
	need := outOff + 512*abi.ScoreSize
	res, err := mod.ExportedFunction(abi.BufferExport).Call(ctx, uint64(need))
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	ptr := uint32(res[0])
	score := mod.ExportedFunction(abi.ScoreExport)
	var stack [4]uint64
	do := func(c context.Context) {
		view, _ := mod.Memory().Read(ptr, uint32(len(in)))
		copy(view, in[:abi.HeaderSize])
		if len(events) > 0 {
			copy(view[abi.HeaderSize:], unsafe.Slice((*byte)(unsafe.Pointer(&events[0])), len(events)*abi.EventSize))
		}
		stack = [4]uint64{uint64(ptr), uint64(len(in)), uint64(ptr + outOff), 512}
		if err := score.CallWithStack(c, stack[:]); err != nil {
			panic(err)
		}
		b, _ := mod.Memory().Read(ptr+outOff, uint32(stack[0])*abi.ScoreSize)
		_ = abi.DecodeScores(nil, b)
	}
	if mode == bare {
		return func() { do(ctx) }, closeFn, nil
	}
	return func() {
		c, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		do(c)
		cancel()
	}, closeFn, nil
}

// readyFromCache warms an on-disk cache, then times fresh processes that
// load each plugin from it: Wisp's Load (instrument, cache hit, checks,
// instantiate) against wazero's own bound (cache hit and instantiate of the
// unmodified module).
func readyFromCache(ctx context.Context) ([]pluginResult, error) {
	dir, err := os.MkdirTemp("", "wisp-bench-cache-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var out []pluginResult
	for _, name := range []string{"fridge", "tv", "fitness"} {
		// Warm both cache entries, then alternate the two kinds of fresh
		// process so the machine's drifts hit both alike.
		for _, mode := range []string{"ready", "wazero"} {
			if _, err := runChild(ctx, mode+":"+name, dir); err != nil {
				return nil, err
			}
		}
		var oursRuns, boundRuns, ratios []float64
		for range 7 {
			o, err := runChild(ctx, "ready:"+name, dir)
			if err != nil {
				return nil, err
			}
			b, err := runChild(ctx, "wazero:"+name, dir)
			if err != nil {
				return nil, err
			}
			oursRuns, boundRuns, ratios = append(oursRuns, o), append(boundRuns, b), append(ratios, o/b)
		}
		med := func(x []float64) float64 { slices.Sort(x); return x[len(x)/2] }
		ours, bound, ratio := med(oursRuns), med(boundRuns), med(ratios)
		r := pluginResult{Name: "ready from compile cache, fresh process: " + name, Ms: ours, RatioVsWazero: ratio,
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

func runChild(ctx context.Context, mode, dir string) (float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	args := []string{"bench", "plugin", "--child", mode}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), "WISP_BENCH_CACHE="+dir)
	b, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("bench child %s: %w", mode, err)
	}
	return strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
}

var benchPlugins = map[string]struct {
	wasm     []byte
	manifest sandbox.Manifest
}{
	"fridge":  {plugins.Fridge, fridgeManifest(16)},
	"tv":      {plugins.TV, sandbox.Manifest{Name: "tv", Categories: []uint32{706}}},
	"fitness": {plugins.Fitness, sandbox.Manifest{Name: "fitness", Categories: []uint32{408}}},
}

// benchChild runs one measurement in this fresh process and prints one
// number.
func benchChild(ctx context.Context, mode string, w io.Writer) error {
	dir := os.Getenv("WISP_BENCH_CACHE")
	kind, name, _ := strings.Cut(mode, ":")
	switch kind {
	case "ready":
		bp := benchPlugins[name]
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
		bp := benchPlugins[name]
		start := time.Now()
		cache, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			return err
		}
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
		wasi_snapshot_preview1.MustInstantiate(ctx, rt)
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
			bp := benchPlugins[name]
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

func printPluginResults(w io.Writer, results []pluginResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\tfigure\tvs native / wazero\tgoal\tmet")
	for _, r := range results {
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
