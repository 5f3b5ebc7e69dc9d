// Package demo measures, for `wisp bench demo`, what `wisp demo` costs per
// simulated device against its goal: 10,000 devices in ≤ 10 s on this
// machine's cores, once built. It runs the demo twice, a small population
// for the fixed part (aggregator, plugin compiles, release) and the asked
// one, so the CPU a device adds is measured rather than assumed, and
// projects 10,000 devices from the two (after a warm-up run that pays the
// process's one-time costs). Beside that it measures, alone,
// two floors of the real device path that no change to the rest can
// remove: a device's two stores created, opened and closed, and one
// report's upload on a connection of its own (each report gets one, so
// the aggregator cannot link a device's reports by connection). CPU time,
// not wall time, is what it compares: on a shared machine wall time swings
// with the neighbours' load.
package demo

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/wisp-project/wisp/cmd/wisp/internal/bench/cputime"
	"github.com/wisp-project/wisp/cmd/wisp/internal/demo"
	"github.com/wisp-project/wisp/host"
)

// Goal is issue 17's: GoalDevices simulated devices in GoalSeconds of wall
// time on this machine's cores.
const (
	GoalDevices = 10_000
	GoalSeconds = 10.0
)

// Options configure a run.
type Options struct {
	Devices int // the measured population
	Small   int // the population that measures the fixed part
	Floors  int // rounds of each floor measurement
	// Progress receives a line per step; nil discards them.
	Progress io.Writer
}

// DefaultOptions measures 1,000 devices against 100.
func DefaultOptions() Options { return Options{Devices: 1000, Small: 100, Floors: 200} }

// Run is one demo run's figures.
type Run struct {
	Devices     int     `json:"devices"`
	Reports     int     `json:"reports"`
	WallSeconds float64 `json:"wall_seconds"`
	CPUSeconds  float64 `json:"cpu_seconds"`
}

// Floor is one part of the device path measured alone.
type Floor struct {
	Name string `json:"name"`
	// MsPerDevice is its CPU per device (per report times the reports a
	// device sent in the measured run, for the upload).
	MsPerDevice float64 `json:"cpu_ms_per_device"`
	// OfBudget is MsPerDevice over the budget per device.
	OfBudget float64 `json:"of_budget"`
}

// Report is a whole run, as `wisp bench demo --json` prints it.
type Report struct {
	Benchmark string `json:"benchmark"` // "demo"
	CPUs      int    `json:"cpus"`
	Go        string `json:"go"`
	Runs      []Run  `json:"runs"` // the small population, then the measured one
	// FixedCPUSeconds and DeviceCPUMs split the runs' CPU into what any run
	// costs and what each device adds.
	FixedCPUSeconds float64 `json:"fixed_cpu_seconds"`
	DeviceCPUMs     float64 `json:"device_cpu_ms"`
	// ProjectedSeconds is GoalDevices' CPU spread over every core: the
	// least wall time they could take here.
	ProjectedSeconds float64 `json:"projected_seconds"`
	GoalSeconds      float64 `json:"goal_seconds"`
	RatioToGoal      float64 `json:"ratio_to_goal"`
	// BudgetMsPerDevice is the CPU a device may cost for the goal to hold,
	// after the fixed part.
	BudgetMsPerDevice float64 `json:"budget_cpu_ms_per_device"`
	Floors            []Floor `json:"floors"`
}

// Measure runs the demo at opts.Small and opts.Devices devices, then the
// floors.
func Measure(ctx context.Context, opts Options) (Report, error) {
	if opts.Small < 1 || opts.Devices <= opts.Small || opts.Floors < 1 {
		return Report{}, fmt.Errorf("bench demo: want 1 ≤ small < devices and floors ≥ 1 (got %d, %d, %d)", opts.Small, opts.Devices, opts.Floors)
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	rep := Report{Benchmark: "demo", CPUs: runtime.GOMAXPROCS(0), Go: runtime.Version(), GoalSeconds: GoalSeconds}
	// A first run pays what a process pays once (the plugins' compile
	// cache read, the stores' templates built); measured, it would make
	// the small run dearer and a device cheaper than they are.
	fmt.Fprintln(progress, "warming up…")
	if _, err := runDemo(ctx, min(opts.Small, 10)); err != nil {
		return Report{}, err
	}
	for _, n := range []int{opts.Small, opts.Devices} {
		fmt.Fprintf(progress, "demo with %d devices…\n", n)
		r, err := runDemo(ctx, n)
		if err != nil {
			return Report{}, err
		}
		rep.Runs = append(rep.Runs, r)
	}
	small, large := rep.Runs[0], rep.Runs[1]
	perDevice := (large.CPUSeconds - small.CPUSeconds) / float64(large.Devices-small.Devices)
	rep.DeviceCPUMs = perDevice * 1e3
	rep.FixedCPUSeconds = max(small.CPUSeconds-perDevice*float64(small.Devices), 0)
	cores := float64(rep.CPUs)
	rep.ProjectedSeconds = (rep.FixedCPUSeconds + perDevice*GoalDevices) / cores
	rep.RatioToGoal = rep.ProjectedSeconds / GoalSeconds
	rep.BudgetMsPerDevice = (GoalSeconds*cores - rep.FixedCPUSeconds) / GoalDevices * 1e3

	fmt.Fprintf(progress, "a device's stores, %d times…\n", opts.Floors)
	stores, err := storesFloor(ctx, opts.Floors)
	if err != nil {
		return Report{}, err
	}
	fmt.Fprintf(progress, "an upload on a connection of its own, %d times…\n", opts.Floors)
	upload, err := uploadFloor(ctx, opts.Floors)
	if err != nil {
		return Report{}, err
	}
	reportsPerDevice := float64(large.Reports) / float64(large.Devices)
	for _, f := range []Floor{
		{Name: "two stores created, opened, closed", MsPerDevice: stores * 1e3},
		{Name: fmt.Sprintf("uploads on fresh connections (%.2f a device)", reportsPerDevice), MsPerDevice: upload * reportsPerDevice * 1e3},
	} {
		f.OfBudget = f.MsPerDevice / rep.BudgetMsPerDevice
		rep.Floors = append(rep.Floors, f)
	}
	return rep, nil
}

// runDemo runs the demo on its defaults but for the population size.
func runDemo(ctx context.Context, devices int) (Run, error) {
	opts := demo.DefaultOptions()
	opts.Devices = devices
	start, cpu := time.Now(), cputime.Process()
	res, err := demo.Run(ctx, opts)
	if err != nil {
		return Run{}, err
	}
	return Run{Devices: devices, Reports: res.Reports, WallSeconds: time.Since(start).Seconds(), CPUSeconds: cputime.Process() - cpu}, nil
}

// storesFloor is the CPU seconds of one device's first open and close
// (both stores made from their templates, migrated, closed with a
// checkpoint), with nothing installed, in the folder the demo uses.
func storesFloor(ctx context.Context, rounds int) (float64, error) {
	dir, err := os.MkdirTemp(demo.ScratchRoot(), "wisp-bench-stores-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	cfg := host.NewDeviceConfig()
	open := func(i int) error {
		d, err := host.Open(ctx, filepath.Join(dir, fmt.Sprint(i)), cfg)
		if err != nil {
			return err
		}
		return d.Close(ctx)
	}
	if err := open(-1); err != nil { // the templates, once per process
		return 0, err
	}
	cpu := cputime.Process()
	for i := range rounds {
		if err := open(i); err != nil {
			return 0, err
		}
	}
	return (cputime.Process() - cpu) / float64(rounds), nil
}

// uploadFloor is the CPU seconds, client and server, of one POST of a
// report-sized body to a server on 127.0.0.1 that reads it and answers a
// line of JSON, each on a connection of its own as a device's reports are.
func uploadFloor(ctx context.Context, rounds int) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"results":[{"status":"accepted"}]}`)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
	url := "http://" + ln.Addr().String() + "/v1/reports"
	body := strings.Repeat("r", 330) // a sealed one-report batch's size
	post := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Close = true
		req.Header.Set("Content-Type", "application/cbor")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := post(); err != nil {
		return 0, err
	}
	cpu := cputime.Process()
	for range rounds {
		if err := post(); err != nil {
			return 0, err
		}
	}
	return (cputime.Process() - cpu) / float64(rounds), nil
}

// WriteText prints rep as three small tables.
func WriteText(w io.Writer, rep Report) {
	p := message.NewPrinter(language.English) // thousands separators
	p.Fprintf(w, "wisp demo's cost per simulated device on %d cores (CPU time: user + system)\n\n", rep.CPUs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	p.Fprintln(tw, "devices\treports\twall s\tCPU s\t")
	for _, r := range rep.Runs {
		p.Fprintf(tw, "%d\t%d\t%.1f\t%.1f\t\n", r.Devices, r.Reports, r.WallSeconds, r.CPUSeconds)
	}
	tw.Flush()
	p.Fprintf(w, "\nfixed part %.1f CPU s; each device adds %.2f ms of CPU\n", rep.FixedCPUSeconds, rep.DeviceCPUMs)
	met := "NO"
	if rep.RatioToGoal <= 1 {
		met = "yes"
	}
	p.Fprintf(w, "%d devices: at least %.1f s here (all cores busy); goal %.0f s: %.2f× the goal, met: %s\n",
		GoalDevices, rep.ProjectedSeconds, rep.GoalSeconds, rep.RatioToGoal, met)
	p.Fprintf(w, "budget for the goal: %.2f ms of CPU a device\n\n", rep.BudgetMsPerDevice)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p.Fprintln(tw, "floor of the real path, measured alone\tCPU ms a device\t× budget")
	for _, f := range rep.Floors {
		p.Fprintf(tw, "%s\t%.2f\t%.2f×\n", f.Name, f.MsPerDevice, f.OfBudget)
	}
	tw.Flush()
}
