// Package demo runs Wisp end to end on one machine: an aggregator on a free
// 127.0.0.1 port with a SQLite store, a simulated population of wearables
// each running the real fitness plugin in the real sandbox, sealed DP
// reports over real HTTP, and the segment estimates compared with the
// population's known truth.
package demo

import (
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/cmd/wisp/internal/sim"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
	"github.com/wisp-project/wisp/internal/wire"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/plugins/fitness/scorer"
)

// Campaigns is the JSON list of campaigns the demo answers, in the format
// wisp aggregator serve --campaigns reads.
//
//go:embed campaigns.json
var Campaigns []byte

// Options configure a run. The zero value is not useful; start from
// DefaultOptions.
type Options struct {
	Devices   int
	Seed      uint64 // seeds the simulated population (not the devices' noise)
	Workers   int    // devices simulated in parallel
	BatchSize int    // reports per upload
	Dir       string // where the aggregator's database goes; "" = a temp dir removed afterwards
	// Progress, if set, is called after each device with the number done.
	Progress func(done int)
	// Serve, if set, is called with the result while the aggregator and its
	// dashboard still run; Run shuts them down once Serve returns (wisp demo
	// --serve waits there for Ctrl-C).
	Serve func(ctx context.Context, res Result, s Serving) error
}

// Serving is how to reach the demo's running aggregator.
type Serving struct {
	URL          string // the aggregator's base URL
	DashboardURL string // the marketer dashboard
	Token        string // an operator token: sign in to the dashboard with it
}

// DefaultOptions is 10,000 devices, seed 1.
func DefaultOptions() Options {
	return Options{Devices: 10000, Seed: 1, Workers: runtime.GOMAXPROCS(0), BatchSize: 1000}
}

// Result is what a run measured.
type Result struct {
	Devices        int              `json:"devices"`
	Reports        int              `json:"reports"`
	ElapsedSeconds float64          `json:"elapsed_seconds"`
	Segments       []SegmentOutcome `json:"segments"`
	// DevicePipelineMicros is the mean device-side cost per report: plugin
	// scoring (shared by the device's campaigns), randomizing, encoding and
	// sealing.
	DevicePipelineMicros float64 `json:"device_pipeline_us_per_report"`
	// IngestPerConnection is reports accepted per second of upload time on
	// one connection (HTTP, decrypt, validate, durable store), while the
	// simulated devices share the same cores; wisp bench ingest measures
	// ingest alone.
	IngestPerConnection float64 `json:"ingest_reports_per_second_per_connection"`
	AggregatorURL       string  `json:"aggregator_url"`
}

// SegmentOutcome compares one released estimate with the truth: a
// threshold campaign's segment size, one category of a top_k campaign's
// histogram (Category set; Truth is how many devices hold it among their
// top K), or a mean campaign's mean score (Truth is the mean of the
// devices' scores as quantized for reporting, campaign.MeanLevels).
type SegmentOutcome struct {
	Campaign        string  `json:"campaign"`
	Name            string  `json:"name"`
	Question        string  `json:"question"`
	Category        uint32  `json:"category,omitempty"`
	CategoryName    string  `json:"category_name,omitempty"`
	Mechanism       string  `json:"mechanism"`
	MechanismReason string  `json:"mechanism_reason"`
	Epsilon         float64 `json:"epsilon"`
	Reports         int     `json:"reports"`
	Truth           float64 `json:"truth"`
	Estimate        float64 `json:"estimate"`
	CILow           float64 `json:"ci_low"`
	CIHigh          float64 `json:"ci_high"`
	Covered         bool    `json:"covered"`
}

// Run runs the demo and shuts the aggregator down before returning.
func Run(ctx context.Context, opts Options) (Result, error) {
	if opts.Devices < 1 || opts.Workers < 1 || opts.BatchSize < 1 {
		return Result{}, fmt.Errorf("demo: devices, workers and batch size must be positive (got %d, %d, %d)", opts.Devices, opts.Workers, opts.BatchSize)
	}
	start := time.Now()
	tax := taxonomy.Default()
	campaigns, err := campaign.ParseList(Campaigns, tax)
	if err != nil {
		return Result{}, err
	}
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "wisp-demo-"); err != nil {
			return Result{}, err
		}
		defer os.RemoveAll(dir)
	}
	agg, err := startAggregator(ctx, filepath.Join(dir, "aggregator.db"), tax, campaigns)
	if err != nil {
		return Result{}, err
	}
	defer agg.close()

	rt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	defer rt.Close(ctx)
	plugin, err := rt.Load(ctx, sandbox.Manifest{Name: "fitness", Version: "1", Categories: scorer.Categories}, plugins.Fitness)
	if err != nil {
		return Result{}, err
	}
	defer plugin.Close(ctx)

	client := &host.Client{BaseURL: agg.url}
	configs, err := client.KeyConfigs(ctx)
	if err != nil {
		return Result{}, err
	}
	if len(configs.Configs) == 0 {
		return Result{}, errors.New("demo: aggregator advertises no keys")
	}
	pop := population{opts: opts, plugin: plugin, campaigns: campaigns,
		reporter: host.Reporter{Key: configs.Configs[0]}, client: client,
		truth: make([][]atomic.Int64, len(campaigns))}
	for i := range campaigns {
		codec, err := campaigns[i].Codec()
		if err != nil {
			return Result{}, err
		}
		pop.codecs = append(pop.codecs, codec)
		pop.truth[i] = make([]atomic.Int64, max(1, len(campaigns[i].Question.Categories)))
	}
	if err := pop.run(ctx); err != nil {
		return Result{}, err
	}

	// Results are released only for closed epochs: move the aggregator's
	// clock past the end of this epoch (and its grace time) before reading.
	agg.closeEpochs(campaigns)
	segs, err := agg.segments(ctx)
	if err != nil {
		return Result{}, err
	}
	res := Result{Devices: opts.Devices, Reports: int(pop.accepted.Load()), AggregatorURL: agg.url,
		DevicePipelineMicros: float64(pop.deviceNanos.Load()) / 1e3 / float64(opts.Devices*len(campaigns)),
		IngestPerConnection:  float64(pop.accepted.Load()) / time.Duration(pop.uploadNanos.Load()).Seconds()}
	for i, c := range campaigns {
		res.Segments = append(res.Segments, outcomes(&c, segs, pop.truth[i], opts.Devices)...)
	}
	res.ElapsedSeconds = time.Since(start).Seconds()
	if opts.Serve != nil {
		if err := opts.Serve(ctx, res, Serving{URL: agg.url, DashboardURL: agg.url + "/dashboard/", Token: agg.token}); err != nil {
			return res, err
		}
	}
	return res, nil
}

// population simulates the devices: each worker scores a device's week with
// the plugin, answers every campaign and uploads full batches.
type population struct {
	opts      Options
	plugin    *sandbox.Plugin
	campaigns []campaign.Campaign
	codecs    []*campaign.Codec
	reporter  host.Reporter
	client    *host.Client

	next        atomic.Int64
	truth       [][]atomic.Int64 // per campaign: see count
	accepted    atomic.Int64
	deviceNanos atomic.Int64
	uploadNanos atomic.Int64 // summed over workers
}

func (p *population) run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	var done atomic.Int64
	for range p.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.worker(ctx, &done); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	return context.Cause(ctx)
}

func (p *population) worker(ctx context.Context, done *atomic.Int64) error {
	weekStart := time.Now().Add(-7 * 24 * time.Hour).UnixMilli()
	now := time.Now()
	var batch []wire.Envelope
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		t := time.Now()
		resp, err := p.client.Upload(ctx, batch)
		if err != nil {
			return err
		}
		p.uploadNanos.Add(int64(time.Since(t)))
		if resp.Rejected > 0 {
			return fmt.Errorf("demo: aggregator rejected %d reports, first: %+v", resp.Rejected, firstRejected(resp.Results))
		}
		p.accepted.Add(int64(resp.Accepted))
		batch = batch[:0]
		return nil
	}
	for ctx.Err() == nil {
		i := int(p.next.Add(1)) - 1
		if i >= p.opts.Devices {
			break
		}
		t := time.Now()
		scores, err := p.plugin.Score(ctx, sim.Week(p.opts.Seed, i, weekStart))
		if err != nil {
			return err
		}
		local := make(map[uint32]float32, len(scores))
		for _, s := range scores {
			local[s.Category] = s.Value
		}
		for j := range p.campaigns {
			c := &p.campaigns[j]
			p.count(j, local) // the simulator's ground truth; never sent
			e, err := p.reporter.ReportWith(c, p.codecs[j], c.Epoch(now), local)
			if err != nil {
				return err
			}
			batch = append(batch, e)
		}
		p.deviceNanos.Add(int64(time.Since(t)))
		if p.opts.Progress != nil {
			p.opts.Progress(int(done.Add(1)))
		}
		if len(batch) >= p.opts.BatchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return flush()
}

// count adds one device's true answer to campaign j's ground truth: the
// bit of a threshold question, each category of a top_k set, the
// quantized level of a mean question's score.
func (p *population) count(j int, scores map[uint32]float32) {
	t := p.codecs[j].Truth(scores)
	switch p.campaigns[j].Question.Type {
	case campaign.QuestionTopK:
		for _, item := range t.Set {
			p.truth[j][item].Add(1)
		}
	case campaign.QuestionMean:
		p.truth[j][0].Add(int64(math.Round(t.Score * campaign.MeanLevels)))
	default:
		if t.Bit {
			p.truth[j][0].Add(1)
		}
	}
}

// outcomes compares campaign c's released results with its truth.
func outcomes(c *campaign.Campaign, segs []aggregator.Segment, truth []atomic.Int64, devices int) []SegmentOutcome {
	base := SegmentOutcome{Campaign: c.ID, Name: c.Name, Question: c.Question.Type.String(), Mechanism: c.MechanismName,
		MechanismReason: c.MechanismReason, Epsilon: c.Epsilon}
	var seg *aggregator.Segment
	for i := range segs {
		if segs[i].Campaign == c.ID && !segs[i].Suppressed {
			seg = &segs[i]
		}
	}
	cover := func(o *SegmentOutcome) { o.Covered = o.CILow <= o.Truth && o.Truth <= o.CIHigh }
	switch c.Question.Type {
	case campaign.QuestionTopK:
		var out []SegmentOutcome
		for i, id := range c.Question.Categories {
			o := base
			o.Category, o.Truth = id, float64(truth[i].Load())
			if seg != nil && seg.TopK != nil && i < len(seg.TopK.Categories) {
				e := seg.TopK.Categories[i]
				o.CategoryName, o.Reports, o.Estimate, o.CILow, o.CIHigh = e.CategoryName, seg.Reports, e.Estimate, e.CILow, e.CIHigh
				cover(&o)
			}
			out = append(out, o)
		}
		return out
	case campaign.QuestionMean:
		o := base
		o.Category, o.Truth = c.Question.Category, float64(truth[0].Load())/campaign.MeanLevels/float64(devices)
		if seg != nil && seg.Mean != nil {
			o.CategoryName, o.Reports, o.Estimate, o.CILow, o.CIHigh = seg.CategoryName, seg.Reports, seg.Mean.Mean, seg.Mean.CILow, seg.Mean.CIHigh
			cover(&o)
		}
		return []SegmentOutcome{o}
	}
	o := base
	o.Category, o.Truth = c.Question.Category, float64(truth[0].Load())
	if seg != nil && seg.SizeEstimate != nil {
		o.Reports, o.Estimate, o.CILow, o.CIHigh = seg.Reports, seg.Estimate, seg.CILow, seg.CIHigh
		cover(&o)
	}
	return []SegmentOutcome{o}
}

func firstRejected(results []apiResult) apiResult {
	for _, r := range results {
		if !r.Accepted {
			return r
		}
	}
	return apiResult{}
}

// aggregatorProc is the in-process aggregator on a real 127.0.0.1 listener.
type aggregatorProc struct {
	url   string
	srv   *aggregator.Server
	http  *http.Server
	store store.Store
	token string       // an operator token, to read every tenant's results
	skew  atomic.Int64 // nanoseconds the aggregator's clock runs ahead
}

func startAggregator(ctx context.Context, dbPath string, tax *taxonomy.Taxonomy, campaigns []campaign.Campaign) (*aggregatorProc, error) {
	st, err := store.OpenSQLite(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	key, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		st.Close()
		return nil, err
	}
	a := &aggregatorProc{store: st}
	now := func() time.Time { return time.Now().Add(time.Duration(a.skew.Load())) }
	srv, err := aggregator.New(aggregator.Config{Store: st, Keys: []*wire.KeyPair{key}, Campaigns: campaigns, Taxonomy: tax, Now: now,
		Logger: slog.New(slog.DiscardHandler)}) // the demo prints its own account
	if err != nil {
		st.Close()
		return nil, err
	}
	tok, err := srv.CreateToken(ctx, api.CreateTokenRequest{Role: api.RoleOperator, Name: "demo"})
	if err != nil {
		st.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		return nil, err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	a.url, a.srv, a.http, a.token = "http://"+ln.Addr().String(), srv, hs, tok.Token
	return a, nil
}

// closeEpochs advances the aggregator's clock past the release time of
// every epoch that has started so far.
func (a *aggregatorProc) closeEpochs(campaigns []campaign.Campaign) {
	var longest int64
	for _, c := range campaigns {
		longest = max(longest, c.EpochSeconds)
	}
	a.skew.Store(int64(time.Duration(longest)*time.Second + 2*time.Hour))
}

// segments runs a release pass (what the serve loop does every minute),
// then reads the released segments over HTTP as a marketer would.
func (a *aggregatorProc) segments(ctx context.Context) ([]aggregator.Segment, error) {
	if err := a.srv.ReleaseDue(ctx); err != nil {
		return nil, err
	}
	return getSegments(ctx, a.url, a.token)
}

func (a *aggregatorProc) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.http.Shutdown(ctx)
	a.store.Close()
}
