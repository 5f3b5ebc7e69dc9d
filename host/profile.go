package host

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/sdk/abi"
)

// Interest is one entry of the owner's interest profile, as the owner sees
// it. The profile never leaves the device: campaigns are answered from it
// with randomized, sealed one-bit reports.
type Interest struct {
	Category uint32  `json:"category"`
	Name     string  `json:"name"` // e.g. "Interest | Sports | Cycling"
	Score    float64 `json:"score"`
	// Plugins are the plugins whose scores support it, strongest first.
	Plugins []string `json:"plugins"`
}

// scorePlugins runs every consented plugin that has new events over its
// recent window and folds the scores into the profile. It returns how many
// plugins ran. A plugin that fails is skipped (its events wait for the
// next pass); the error of the first failure is returned with the count.
func (d *Device) scorePlugins(ctx context.Context, now time.Time) (int, error) {
	pending, err := d.store.Pending(ctx)
	if err != nil {
		return 0, err
	}
	consents, err := d.store.Consents(ctx)
	if err != nil {
		return 0, err
	}
	ran := 0
	var first error
	for name, through := range pending {
		if !consents[PluginPurpose(name).String()] {
			continue
		}
		d.mu.RLock()
		p := d.plugins[name]
		d.mu.RUnlock()
		if p == nil {
			continue
		}
		if err := d.scoreOne(ctx, p, through, now); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		ran++
	}
	return ran, first
}

func (d *Device) scoreOne(ctx context.Context, p *sandbox.Plugin, through int64, now time.Time) error {
	name := p.Manifest().Name
	// Up to a day ahead: RecordEvents accepts that much clock skew.
	rows, err := d.store.Window(ctx, name, now.Add(-d.cfg.scoreWindow), now.Add(24*time.Hour), through, p.Limits().MaxEvents)
	if err != nil {
		return err
	}
	events := make([]abi.Event, len(rows))
	for i, e := range rows {
		events[i] = abi.Event{Kind: e.Kind, Code: e.Code, Time: e.At.UnixMilli(), Value: e.Value}
	}
	scores, err := p.Score(ctx, events)
	if err != nil {
		return fmt.Errorf("host: scoring: %w", err)
	}
	fresh := make(map[uint32]float64, len(scores))
	for _, s := range scores {
		fresh[s.Category] = float64(s.Value)
	}
	if err := d.step("before-profile"); err != nil {
		return err
	}
	return d.store.UpdateProfile(ctx, name, fresh, through, now, d.cfg.halfLife)
}

// localScores is the profile as campaigns see it: per category, the
// strongest decayed score among plugins the owner consents to. It is on
// the scheduler's path, so it builds no names and sorts nothing.
func (d *Device) localScores(ctx context.Context, now time.Time) (map[uint32]float32, error) {
	by, err := d.consentedProfile(ctx, now)
	if err != nil {
		return nil, err
	}
	out := make(map[uint32]float32, len(by))
	for c, sup := range by {
		best := 0.0
		for _, s := range sup {
			best = max(best, s.score)
		}
		out[c] = float32(best)
	}
	return out, nil
}

// support is one plugin's decayed score for a category.
type support struct {
	plugin string
	score  float64
}

// consentedProfile is the stored profile restricted to plugins the owner
// consents to, decayed to now: per category, every plugin's positive score.
func (d *Device) consentedProfile(ctx context.Context, now time.Time) (map[uint32][]support, error) {
	rows, err := d.store.ConsentedProfile(ctx)
	if err != nil {
		return nil, err
	}
	by := map[uint32][]support{}
	for _, r := range rows {
		if v := r.Decayed(now, d.cfg.halfLife); v > 0 {
			by[r.Category] = append(by[r.Category], support{r.Plugin, v})
		}
	}
	return by, nil
}

// Interests returns the owner's top n interests (n ≤ 0: all), strongest
// first, with category names, from plugins the owner consents to. Scores
// are decayed to the device's current time.
func (d *Device) Interests(ctx context.Context, n int) ([]Interest, error) {
	if !d.gate.enter() {
		return nil, ErrDeviceClosed
	}
	defer d.gate.leave()
	by, err := d.consentedProfile(ctx, d.now())
	if err != nil {
		return nil, err
	}
	out := make([]Interest, 0, len(by))
	for c, sup := range by {
		sort.Slice(sup, func(i, j int) bool { return sup[i].score > sup[j].score })
		in := Interest{Category: c, Name: d.categoryName(c), Score: sup[0].score}
		for _, s := range sup {
			in.Plugins = append(in.Plugins, s.plugin)
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Category < out[j].Category
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}

func (d *Device) categoryName(id uint32) string {
	if c, ok := d.tax.Lookup(id); ok {
		return c.Name()
	}
	return fmt.Sprintf("category %d", id)
}

// Forget erases, at the owner's request, one plugin's events, interests
// and the queued reports that may derive from them — or, with plugin "",
// everything derived from the owner on this device (events, profile,
// queued reports, answered-campaign records, targeting impressions,
// memoized answers). Installed plugins, consent and its history, the
// privacy ledger's spends and the log of reports that already left are
// kept: they protect or inform the owner. Status().Stored shows the counts
// before and after.
//
// Erasing everything also starts a new period for the long-term privacy
// budgets (WithLifetimeBudget): every later answer depends only on data
// recorded after the erasure, so what it reveals is about data the earlier
// answers never saw. The 24-hour budget and the campaigns' epochs keep
// counting what was spent before. Forgetting one plugin restarts nothing.
func (d *Device) Forget(ctx context.Context, plugin string) error {
	if !d.gate.enter() {
		return ErrDeviceClosed
	}
	defer d.gate.leave()
	d.egress.Lock()
	defer d.egress.Unlock()
	if plugin == "" {
		// No scheduler pass may run between the two: one that read scores
		// before the erasure must not spend after the restart.
		d.run.Lock()
		defer d.run.Unlock()
		// Two files, one after the other, and in this order: the data is
		// gone before the ledger restarts the long-term period (and deletes
		// the memos with it, in one transaction). A crash between them
		// leaves the memos and the old period — conservative — and
		// forgetting again completes it.
		if err := d.store.ForgetAll(ctx, d.now()); err != nil {
			return err
		}
		_, err := d.ledger.Erase(ctx)
		return err
	}
	if _, ok := d.installed(ctx, plugin); !ok {
		return fmt.Errorf("%w: %q", ErrUnknownPlugin, plugin)
	}
	return d.store.ForgetPlugin(ctx, plugin, d.now())
}
