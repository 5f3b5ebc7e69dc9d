// Package demo runs Wisp end to end on one machine: an aggregator on a free
// 127.0.0.1 port with a SQLite store, a simulated population of households
// whose phones, wearables, TVs, smart speakers, fridges and cars each run
// their real plugin in the real device runtime (host.Device), sealed DP
// reports over real HTTP, offers picked on the devices from a signed
// catalogue, and both compared with what the simulation knows: the
// segment estimates with the true sizes, the offers with the owners'
// hidden interests.
package demo

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
)

// Campaigns is the JSON list of campaigns the demo answers, in the format
// wisp aggregator serve --campaigns reads.
//
//go:embed campaigns.json
var Campaigns []byte

// Options configure a run. The zero value is not useful; start from
// DefaultOptions.
type Options struct {
	Devices int
	Seed    uint64 // seeds the simulated population (not the devices' noise)
	Workers int    // devices simulated in parallel
	Dir     string // where the aggregator's database goes; "" = a temp dir removed afterwards
	// Mode is ModeLDP ("" too) or ModePrio3: every campaign asked a second
	// time as a prio3 twin, through a leader (the demo's aggregator) and a
	// helper (a second one, helper.db beside it).
	Mode string
	// Progress, if set, is called as each phase advances: done of total.
	// It may be called from several goroutines at once.
	Progress func(phase Phase, done, total int)
	// Serve, if set, is called with the result while the aggregator and its
	// dashboard still run; Run shuts them down once Serve returns (wisp demo
	// --serve waits there for Ctrl-C).
	Serve func(ctx context.Context, res Result, s Serving) error
}

// Phase is a step of a run, as the progress bar names it.
type Phase string

// The phases, in order.
const (
	PhaseCompile Phase = "compiling plugins"
	PhaseDevices Phase = "simulating devices (score, answer, upload, offers)"
	PhaseRelease Phase = "releasing segments"
)

// Serving is how to reach the demo's running aggregator.
type Serving struct {
	URL          string // the aggregator's base URL
	DashboardURL string // the marketer dashboard
	Token        string // an operator token: sign in to the dashboard with it
}

// DefaultOptions is 2,000 devices, seed 1: every class clears the
// campaigns' k many times over, in about 25 s of CPU (each device is a full
// device runtime; docs/BENCHMARKS.md). Three devices run per core: each
// waits on its stores' fsyncs, and a third kept the cores busier than one
// (1,000 devices: 6.7–10.2 s against 7.8–10.3 s of wall time, alternated).
func DefaultOptions() Options {
	return Options{Devices: 2000, Seed: 1, Workers: 3 * runtime.GOMAXPROCS(0)}
}

// Result is what a run measured.
type Result struct {
	Devices        int              `json:"devices"`
	Reports        int              `json:"reports"`
	ElapsedSeconds float64          `json:"elapsed_seconds"`
	Segments       []SegmentOutcome `json:"segments"`
	// DevicePipelineMicros is the mean device-side cost per report of the
	// devices' scheduler passes: plugin scoring, randomizing, sealing,
	// queueing and sending.
	DevicePipelineMicros float64 `json:"device_pipeline_us_per_report"`
	// IngestPerConnection is reports accepted per second of the
	// aggregator's time handling uploads (HTTP, decrypt, validate, durable
	// store), while the simulated devices share the same cores; wisp bench
	// ingest measures ingest alone.
	IngestPerConnection float64 `json:"ingest_reports_per_second_per_connection"`
	AggregatorURL       string  `json:"aggregator_url"`

	DeviceClasses []ClassOutcome `json:"device_classes"`
	Offers        []OfferOutcome `json:"offers"`
	AisleFour     PushOutcome    `json:"aisle_four_push"`
	// ReportsCarryingMembership counts reports that reached the aggregator
	// and were anything but a DP answer to a campaign: a report for no
	// campaign, or an upload naming an offer or a creative. It must be 0.
	ReportsCarryingMembership int `json:"reports_carrying_membership"`
	// ReportsReceived counts the reports the demo inspected on their way in.
	ReportsReceived int `json:"reports_received"`
	// ReportTokens is what the report-token issuer did (--mode prio3 only).
	ReportTokens *TokensOutcome `json:"report_tokens,omitempty"`
}

// ClassOutcome is one device class of the population.
type ClassOutcome struct {
	Class    string `json:"class"`
	Devices  int    `json:"devices"`
	Plugin   string `json:"plugin"`
	Language string `json:"language"`
	Reports  int    `json:"reports"` // answers the class's devices sent
}

// OfferOutcome is what the devices did with one offer, counted by the
// simulation (which knows every owner's hidden traits), never from
// anything a device sent. Moments are the times a device of the offer's
// class could show it; each is shown or suppressed, for one reason.
type OfferOutcome struct {
	Campaign     string  `json:"campaign"`
	Name         string  `json:"name"`
	Class        string  `json:"class"`
	CategoryName string  `json:"category_name"`
	MinScore     float64 `json:"min_score"`
	Moments      int     `json:"moments"`
	Shown        int     `json:"shown"`
	// Precision is the share of impressions shown to owners who truly hold
	// the interest; Recall the share of those owners (among the class's
	// devices) shown it at least once.
	Precision              float64 `json:"precision"`
	Recall                 float64 `json:"recall"`
	Holders                int     `json:"holders"`
	SuppressedByThreshold  int     `json:"suppressed_by_threshold"`
	SuppressedByCap        int     `json:"suppressed_by_cap"`
	SuppressedByQuietHours int     `json:"suppressed_by_quiet_hours"`
}

// PushOutcome is the "we noticed you walked down aisle 4 at 9:56 am" push:
// every phone passes the beacon then. Nothing about the pass leaves the
// phone, so no marketer can send it; the phone shows a relevant offer
// only if its owner's own profile clears the threshold and the cap allows.
type PushOutcome struct {
	Passes                int `json:"passes"`
	SentByMarketer        int `json:"sent_by_marketer"` // always 0: no individual pass reaches anyone
	ShownAsRelevantOffer  int `json:"shown_as_relevant_offer"`
	SuppressedByThreshold int `json:"suppressed_by_threshold"`
	SuppressedByCap       int `json:"suppressed_by_cap"`
	SuppressedByQuiet     int `json:"suppressed_by_quiet_hours"`
}

// SegmentOutcome compares one released estimate with the truth: a
// threshold campaign's segment size, one category of a top_k campaign's
// histogram (Truth is how many devices hold it among their top K), or a
// mean campaign's mean score (Truth is the mean of the devices' scores as
// quantized for reporting, campaign.MeanLevels). The truth is counted by
// the simulation from each answering device's local profile.
type SegmentOutcome struct {
	Campaign        string  `json:"campaign"`
	Name            string  `json:"name"`
	Question        string  `json:"question"`
	Category        uint32  `json:"category,omitempty"`
	CategoryName    string  `json:"category_name"`
	Class           string  `json:"class"` // the device class that answers it
	Mechanism       string  `json:"mechanism"`
	MechanismReason string  `json:"mechanism_reason"`
	Epsilon         float64 `json:"epsilon"`
	Reports         int     `json:"reports"`
	Truth           float64 `json:"truth"`
	Estimate        float64 `json:"estimate"`
	CILow           float64 `json:"ci_low"`
	CIHigh          float64 `json:"ci_high"`
	Covered         bool    `json:"covered"`
	// BelowK: fewer than the campaign's k devices answered, so nothing was
	// released (Estimate and the interval are 0).
	BelowK bool `json:"below_k,omitempty"`
	// Mode is "ldp" or "prio3" in a --mode prio3 run (a prio3 twin's
	// Campaign is the LDP campaign's id + "-p3"), and absent otherwise.
	Mode string `json:"mode,omitempty"`
}

// Run runs the demo and shuts the aggregator down before returning.
func Run(ctx context.Context, opts Options) (Result, error) {
	if opts.Devices < 1 || opts.Workers < 1 {
		return Result{}, fmt.Errorf("demo: devices and workers must be positive (got %d, %d)", opts.Devices, opts.Workers)
	}
	if opts.Mode != "" && opts.Mode != ModeLDP && opts.Mode != ModePrio3 {
		return Result{}, fmt.Errorf("demo: mode %q: want %s or %s", opts.Mode, ModeLDP, ModePrio3)
	}
	if opts.Progress == nil {
		opts.Progress = func(Phase, int, int) {}
	}
	start := time.Now()
	tax := taxonomy.Default()
	campaigns, err := campaign.ParseList(Campaigns, tax)
	if err != nil {
		return Result{}, err
	}
	// Devices and, unless asked otherwise, the aggregator keep their files
	// in memory when the system offers it: SQLite's fsyncs would otherwise
	// be most of the run.
	scratch, err := os.MkdirTemp(ScratchRoot(), "wisp-demo-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(scratch)
	dir := opts.Dir
	if dir == "" {
		dir = scratch
	}
	var peer aggregator.Prio3Options
	var helper *helperProc
	var issuer *issuerProc
	if opts.Mode == ModePrio3 {
		peer = aggregator.Prio3Options{Role: aggregator.RoleLeader, PeerToken: newPeerToken()}
		if helper, err = startHelper(ctx, filepath.Join(dir, "helper.db"), tax, peer.PeerToken); err != nil {
			return Result{}, err
		}
		defer helper.close()
		twins, err := prio3Twins(campaigns, helper.url, helper.keys, tax)
		if err != nil {
			return Result{}, err
		}
		campaigns = append(campaigns, twins...)
		// The devices date their token requests by their simulated clock.
		if issuer, err = startIssuer(ctx, filepath.Join(dir, "issuer.db"), func() time.Time { return simulatedNow(start) }); err != nil {
			return Result{}, err
		}
		defer issuer.close()
		issuer.requireTokens(campaigns)
	}
	agg, err := startAggregator(ctx, filepath.Join(dir, "aggregator.db"), tax, campaigns, peer)
	if err != nil {
		return Result{}, err
	}
	defer agg.close()

	pop, err := newPopulation(ctx, opts, scratch, agg, campaigns, tax)
	if err != nil {
		return Result{}, err
	}
	defer pop.close(ctx)
	if helper != nil {
		pop.base = pop.base.WithDailyBudget(dailyBudget(campaigns))
	}
	pop.issuer = issuer
	if err := pop.run(ctx); err != nil {
		return Result{}, err
	}

	// Results are released only for closed epochs: move the aggregator's
	// clock past the end of this epoch (and its grace time) before reading.
	opts.Progress(PhaseRelease, 0, 1)
	agg.closeEpochs(campaigns)
	if helper != nil {
		helper.skew.Store(agg.skew.Load())
	}
	segs, err := agg.segments(ctx)
	if err != nil {
		return Result{}, err
	}
	opts.Progress(PhaseRelease, 1, 1)
	res := pop.result(segs)
	res.AggregatorURL = agg.url
	res.ReportsReceived, res.ReportsCarryingMembership = agg.inspected()
	if issuer != nil {
		res.ReportTokens = issuer.outcome(res.Segments)
	}
	if secs := time.Duration(agg.ingestNanos.Load()).Seconds(); secs > 0 {
		res.IngestPerConnection = float64(res.Reports) / secs
	}
	res.ElapsedSeconds = time.Since(start).Seconds()
	if opts.Serve != nil {
		if err := opts.Serve(ctx, res, Serving{URL: agg.url, DashboardURL: agg.url + "/dashboard/", Token: agg.token}); err != nil {
			return res, err
		}
	}
	return res, nil
}

// ScratchRoot is where simulated devices keep their files: /dev/shm when
// it is there (memory), else the temp dir.
func ScratchRoot() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

// outcomes compares campaign c's released results with its truth, over
// the devices that answer it.
func outcomes(c *campaign.Campaign, segs []aggregator.Segment, truth []int64, devices int, tax *taxonomy.Taxonomy) []SegmentOutcome {
	base := SegmentOutcome{Campaign: c.ID, Name: c.Name, Question: c.Question.Type.String(), Mechanism: c.MechanismName,
		MechanismReason: c.MechanismReason, Epsilon: c.Epsilon}
	var seg *aggregator.Segment
	for i := range segs {
		if segs[i].Campaign == c.ID && !segs[i].Suppressed {
			seg = &segs[i]
		}
	}
	if seg != nil && c.IsPrio3() { // the VDAF and its noise, as the leader names them
		base.Mechanism, base.MechanismReason = seg.Mechanism, seg.MechanismReason
	}
	cover := func(o *SegmentOutcome) { o.Covered = o.CILow <= o.Truth && o.Truth <= o.CIHigh }
	base.BelowK = seg == nil
	switch c.Question.Type {
	case campaign.QuestionTopK:
		var out []SegmentOutcome
		for i, id := range c.Question.Categories {
			o := base
			o.Category, o.CategoryName, o.Truth = id, categoryName(tax, id), float64(truth[i])
			if seg != nil && seg.TopK != nil && i < len(seg.TopK.Categories) {
				e := seg.TopK.Categories[i]
				o.Reports, o.Estimate, o.CILow, o.CIHigh = seg.Reports, e.Estimate, e.CILow, e.CIHigh
				cover(&o)
			}
			out = append(out, o)
		}
		return out
	}
	o := base
	o.Category, o.CategoryName = c.Question.Category, categoryName(tax, c.Question.Category)
	if c.Question.Type == campaign.QuestionMean {
		o.Truth = float64(truth[0]) / meanLevels(c) / float64(max(devices, 1))
		if seg != nil && seg.Mean != nil {
			o.Reports, o.Estimate, o.CILow, o.CIHigh = seg.Reports, seg.Mean.Mean, seg.Mean.CILow, seg.Mean.CIHigh
			cover(&o)
		}
		return []SegmentOutcome{o}
	}
	o.Truth = float64(truth[0])
	if seg != nil && seg.SizeEstimate != nil {
		o.Reports, o.Estimate, o.CILow, o.CIHigh = seg.Reports, seg.Estimate, seg.CILow, seg.CIHigh
		cover(&o)
	}
	return []SegmentOutcome{o}
}
