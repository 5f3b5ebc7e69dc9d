package demo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/cmd/wisp/internal/sim"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
)

// population runs every simulated device through the real device runtime
// (host.Device: consent, events, the scheduler's scoring, ledger, memos and
// outbox, the signed catalogue and Pick), one data directory each, and
// keeps the simulation's own tally: the truth each campaign estimates and
// what happened to each offer.
type population struct {
	opts      Options
	devices   []sim.Device
	campaigns []campaign.Campaign
	codecs    []*campaign.Codec
	tax       *taxonomy.Taxonomy
	issuer    *issuerProc      // the report-token issuer whose maker provisions each device; nil: no tokens
	dir       string           // the devices' data directories go here
	sandbox   *sandbox.Runtime // every device's plugins, one compiled module per class
	base      host.DeviceConfig
	now       time.Time // the devices' clock when they answer
	catalogue []byte    // signed by the aggregator's campaign key
	signature []byte

	next        atomic.Int64
	done        atomic.Int64
	deviceNanos atomic.Int64 // time in scheduler passes, summed

	mu         sync.Mutex
	truth      [][]int64     // per campaign: see count
	answers    []int         // per campaign: devices that answered it
	answeredBy [][]sim.Class // per campaign: the classes whose devices answer it
	classes    map[sim.Class]*ClassOutcome
	tallies    map[sim.Class]*offerTally
	push       PushOutcome
}

// offerTally is an offer's counts while devices run.
type offerTally struct {
	OfferOutcome
	shownToHolders int
	holdersShown   int
}

// simulatedNow is when the simulated week ends and the devices score and
// answer: 08:00 UTC of t's day, so that a seed gives the same population on
// every run whatever the hour (the offers' moments fall at times of day in
// the two days after, and scores decay between). It is in the same epoch as
// t for every campaign whose epochs are whole days (the demo's are weeks),
// so the aggregator, on the real clock, takes the reports.
func simulatedNow(t time.Time) time.Time {
	return t.UTC().Truncate(24 * time.Hour).Add(8 * time.Hour)
}

func newPopulation(ctx context.Context, opts Options, dir string, agg *aggregatorProc, campaigns []campaign.Campaign, tax *taxonomy.Taxonomy) (*population, error) {
	cat, sig, err := agg.signedCatalogue(ctx)
	if err != nil {
		return nil, err
	}
	p := &population{opts: opts, devices: sim.Population(opts.Seed, opts.Devices), campaigns: campaigns, tax: tax, dir: dir,
		now: simulatedNow(time.Now()), catalogue: cat, signature: sig, truth: make([][]int64, len(campaigns)), answers: make([]int, len(campaigns)), answeredBy: make([][]sim.Class, len(campaigns)),
		classes: map[sim.Class]*ClassOutcome{}, tallies: map[sim.Class]*offerTally{}}
	for i := range campaigns {
		codec, err := campaigns[i].Codec()
		if err != nil {
			return nil, err
		}
		p.codecs = append(p.codecs, codec)
		p.truth[i] = make([]int64, max(1, len(campaigns[i].Question.Categories)))
	}
	for _, c := range deviceClasses {
		p.classes[c.class] = &ClassOutcome{Class: string(c.class), Plugin: c.plugin, Language: c.language}
	}
	for _, o := range offers {
		p.tallies[o.class] = &offerTally{OfferOutcome: OfferOutcome{Campaign: o.creative.Campaign, Name: o.name, Class: string(o.class),
			CategoryName: categoryName(tax, o.creative.Categories[0]), MinScore: o.creative.MinScore}}
	}
	// Every device runs its plugins in one shared runtime, as a device
	// maker's process hosting many devices would (host.DeviceConfig's
	// WithSandbox): each class's module is validated and compiled once
	// here (in a child process, as a device does), and each device only
	// starts instances of its own.
	// The wall-clock deadline is raised above the default 100 ms: the
	// simulated devices share a machine's cores, and a call descheduled
	// for a moment is not a runaway plugin (fuel still bounds its work).
	policy := sandbox.DefaultPolicy()
	policy.Deadline = 5 * time.Second
	rt, err := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().WithPolicy(policy).WithCompilationCacheDir(filepath.Join(dir, "compile-cache")))
	if err != nil {
		return nil, err
	}
	p.sandbox = rt
	if err := p.compile(ctx); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: opts.Workers}}
	// The devices also share one folder of module files, so a class's
	// module is written once and each device's install only links it.
	p.base = host.NewDeviceConfig().WithSandbox(rt).WithSharedModules(filepath.Join(dir, "modules")).WithUnsignedPlugins(true).
		WithAggregator(agg.url, client).WithCampaignKey(agg.srv.SigningKey()).
		WithSendDelay(0) // send at the pass that answers: the demo does not wait an hour
	return p, nil
}

// compile loads each class's plugin once into the shared runtime, which
// keeps the compiled module for the devices.
func (p *population) compile(ctx context.Context) error {
	for i, c := range deviceClasses {
		p.opts.Progress(PhaseCompile, i, len(deviceClasses))
		pl, err := p.sandbox.Load(ctx, c.manifest(), c.wasm)
		if err != nil {
			return err
		}
		pl.Close(ctx)
	}
	p.opts.Progress(PhaseCompile, len(deviceClasses), len(deviceClasses))
	return nil
}

// close frees the compiled plugins once every device has closed.
func (p *population) close(ctx context.Context) { p.sandbox.Close(ctx) }

func (p *population) run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for range p.opts.Workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(p.next.Add(1)) - 1
				if i >= len(p.devices) {
					return
				}
				if err := p.device(ctx, i); err != nil {
					cancel(fmt.Errorf("demo: device %d (%s): %w", i, p.devices[i].Class, err))
					return
				}
				p.opts.Progress(PhaseDevices, int(p.done.Add(1)), len(p.devices))
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// clock is a device's clock, which the demo moves forward to each moment.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}

func (c *clock) now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// device lives one simulated device's week: the owner installs its plugin
// and opts in to it and to the demo's campaigns, the device records the
// week's events, a scheduler pass scores, answers and sends, then the
// device installs the signed catalogue and picks an offer at each moment.
func (p *population) device(ctx context.Context, i int) error {
	sd := p.devices[i]
	class := classOf(sd.Class)
	dir := filepath.Join(p.dir, fmt.Sprint("device-", i))
	defer os.RemoveAll(dir)
	clk := newClock(p.now)
	cfg := p.base.WithClock(clk.now)
	if p.issuer != nil {
		var err error
		if cfg, err = p.issuer.provision(cfg, fmt.Sprint("device-", i)); err != nil {
			return err
		}
	}
	d, err := host.Open(ctx, dir, cfg)
	if err != nil {
		return err
	}
	defer d.Close(ctx)
	if _, err := d.InstallUnsigned(ctx, class.manifest(), class.wasm); err != nil {
		return err
	}
	// The owner opts in on one screen: the plugin and every campaign.
	if err := d.Grant(ctx, p.consents(class)...); err != nil {
		return err
	}
	events := sd.Events(p.now)
	batch := make([]host.Event, len(events))
	for j, e := range events {
		batch[j] = host.Event{Kind: e.Kind, Code: e.Code, Time: time.UnixMilli(e.Time), Value: e.Value}
	}
	if err := d.RecordEvents(ctx, class.plugin, batch); err != nil {
		return err
	}
	start := time.Now()
	sum, err := d.RunOnce(ctx)
	p.deviceNanos.Add(int64(time.Since(start)))
	if err != nil {
		return err
	}
	if sum.Sent != sum.Answered || sum.Rejected+sum.Deferred+sum.Remaining > 0 {
		return fmt.Errorf("scheduler pass answered %d, sent %d, rejected %d, deferred %d, left %d", sum.Answered, sum.Sent, sum.Rejected, sum.Deferred, sum.Remaining)
	}
	// The truth, from the owner's own view of the profile (what the
	// device answered from); nothing here comes from a report.
	interests, err := d.Interests(ctx, 0)
	if err != nil {
		return err
	}
	scores := make(map[uint32]float32, len(interests))
	for _, in := range interests {
		scores[in.Category] = float32(in.Score)
	}
	// Which campaigns it answered, from the device's own log of what left
	// (names and sizes only; the content never is).
	sent, err := d.SentLog(ctx, 0)
	if err != nil {
		return err
	}
	answered := map[string]bool{}
	for _, r := range sent {
		if r.Outcome != host.OutcomeAccepted {
			return fmt.Errorf("report for %s: %s", r.Campaign, r.OutcomeText())
		}
		answered[r.Campaign] = true
	}
	moments := sd.Moments(p.now)
	tally, err := p.pickOffers(ctx, d, clk, moments)
	if err != nil {
		return err
	}
	if q, err := d.Outbox(ctx); err != nil || len(q) > 0 {
		return fmt.Errorf("showing offers left %d reports queued (%v): targeting must send nothing", len(q), err)
	}
	p.record(sd, answered, scores, moments, tally)
	return nil
}

// consents are the purposes a device of class opts in to.
func (p *population) consents(class *deviceClass) []host.Purpose {
	ps := []host.Purpose{host.PluginPurpose(class.plugin)}
	for _, c := range p.campaigns {
		ps = append(ps, host.CampaignPurpose(c.ID))
	}
	return ps
}

// moment outcomes, as the simulation sorts them.
type outcome int

const (
	shown outcome = iota
	quiet
	belowThreshold
	capped
)

// pickOffers installs the signed catalogue and asks the device for an offer at
// each of its moments.
func (p *population) pickOffers(ctx context.Context, d *host.Device, clk *clock, moments []time.Time) ([]outcome, error) {
	if err := d.SetSignedCatalogue(ctx, p.catalogue, p.signature); err != nil {
		return nil, err
	}
	var out []outcome
	for _, at := range moments {
		clk.set(at)
		_, err := d.Pick(ctx)
		// The device's reason must agree with the simulation's own schedule of
		// the quiet hours.
		if errors.Is(err, host.ErrQuietHours) != inQuietHours(at) {
			return nil, fmt.Errorf("offer at %v: device answered %v, but the quiet hours are %v", at.Format("15:04"), err, inQuietHours(at))
		}
		switch {
		case err == nil:
			out = append(out, shown)
		case errors.Is(err, host.ErrQuietHours):
			out = append(out, quiet)
		case errors.Is(err, host.ErrNothingRelevant):
			out = append(out, belowThreshold)
		case errors.Is(err, host.ErrAllCapped):
			out = append(out, capped)
		default:
			return nil, err
		}
	}
	return out, nil
}

// record adds one device to the tallies.
func (p *population) record(sd sim.Device, answered map[string]bool, scores map[uint32]float32, at []time.Time, outcomes []outcome) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cl := p.classes[sd.Class]
	cl.Devices++
	cl.Reports += len(answered)
	for j, c := range p.campaigns {
		if answered[c.ID] {
			p.answers[j]++
			p.count(j, scores)
			if !slices.Contains(p.answeredBy[j], sd.Class) {
				p.answeredBy[j] = append(p.answeredBy[j], sd.Class)
			}
		}
	}
	o := p.tallies[sd.Class]
	holder := sd.Owner.Has(offerOf(sd.Class).trait)
	if holder {
		o.Holders++
	}
	seen := false
	for k, m := range outcomes {
		o.Moments++
		switch m {
		case shown:
			o.Shown++
			seen = true
			if holder {
				o.shownToHolders++
			}
		case quiet:
			o.SuppressedByQuietHours++
		case belowThreshold:
			o.SuppressedByThreshold++
		case capped:
			o.SuppressedByCap++
		}
		if sd.Class == sim.Phone && sim.IsAisleFour(at[k]) {
			p.push.Passes++
			switch m {
			case shown:
				p.push.ShownAsRelevantOffer++
			case quiet:
				p.push.SuppressedByQuiet++
			case belowThreshold:
				p.push.SuppressedByThreshold++
			case capped:
				p.push.SuppressedByCap++
			}
		}
	}
	if seen && holder {
		o.holdersShown++
	}
}

// count adds one device's true answer to campaign j's ground truth: the
// bit of a threshold question, each category of a top_k set, the
// quantized level of a mean question's score.
func (p *population) count(j int, scores map[uint32]float32) {
	if p.campaigns[j].IsPrio3() {
		p.countPrio3(j, scores)
		return
	}
	t := p.codecs[j].Truth(scores)
	switch p.campaigns[j].Question.Type {
	case campaign.QuestionTopK:
		for _, item := range t.Set {
			p.truth[j][item]++
		}
	case campaign.QuestionMean:
		p.truth[j][0] += int64(math.Round(t.Score * campaign.MeanLevels))
	default:
		if t.Bit {
			p.truth[j][0]++
		}
	}
}

// result assembles the run's account from the tallies and the released
// segments.
func (p *population) result(segs []aggregator.Segment) Result {
	res := Result{Devices: len(p.devices)}
	for _, c := range deviceClasses {
		cl := *p.classes[c.class]
		res.Reports += cl.Reports
		res.DeviceClasses = append(res.DeviceClasses, cl)
	}
	if res.Reports > 0 {
		res.DevicePipelineMicros = float64(p.deviceNanos.Load()) / 1e3 / float64(res.Reports)
	}
	for i := range p.campaigns {
		c := &p.campaigns[i]
		out := outcomes(c, segs, p.truth[i], p.answers[i], p.tax)
		var by []string
		for _, c := range p.answeredBy[i] {
			by = append(by, string(c))
		}
		slices.Sort(by)
		for k := range out {
			out[k].Class = strings.Join(by, "+")
			if p.opts.Mode == ModePrio3 {
				out[k].Mode = modeOf(c)
			}
		}
		res.Segments = append(res.Segments, out...)
	}
	for _, o := range offers {
		t := p.tallies[o.class]
		if t.Shown > 0 {
			t.Precision = float64(t.shownToHolders) / float64(t.Shown)
		}
		if t.Holders > 0 {
			t.Recall = float64(t.holdersShown) / float64(t.Holders)
		}
		res.Offers = append(res.Offers, t.OfferOutcome)
	}
	res.AisleFour = p.push
	return res
}

func classOf(c sim.Class) *deviceClass {
	for i := range deviceClasses {
		if deviceClasses[i].class == c {
			return &deviceClasses[i]
		}
	}
	panic("demo: no plugin for device class " + string(c))
}

func offerOf(c sim.Class) *offer {
	for i := range offers {
		if offers[i].class == c {
			return &offers[i]
		}
	}
	panic("demo: no offer for device class " + string(c))
}

// categoryName is a category's own name ("Running and Jogging", not its
// path or id), or its id when the taxonomy lacks it.
func categoryName(tax *taxonomy.Taxonomy, id uint32) string {
	if c, ok := tax.Lookup(id); ok && len(c.Path) > 0 {
		return c.Path[len(c.Path)-1]
	}
	return fmt.Sprint(id)
}
