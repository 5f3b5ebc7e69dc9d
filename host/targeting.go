package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/wisp-project/wisp/host/internal/devicestore"
)

// Catalogue is what a device may show: creatives with their targeting,
// frequency caps and quiet hours. The device matches it against the
// owner's interest profile locally; which creatives match — the owner's
// membership in an audience — never leaves the device.
type Catalogue struct {
	Creatives []Creative `json:"creatives"`
	// Cap bounds impressions of all creatives together.
	Cap FrequencyCap `json:"global_cap"`
	// Quiet is when nothing is shown, in the device clock's time zone.
	Quiet QuietHours `json:"quiet_hours"`
}

// Creative is one piece of marketing and who it is relevant to: an owner
// whose interest in any of Categories is at least MinScore.
type Creative struct {
	ID         string       `json:"id"`
	Campaign   string       `json:"campaign"`
	Categories []uint32     `json:"categories"`
	MinScore   float64      `json:"min_score"`
	Cap        FrequencyCap `json:"cap"` // per campaign; the first creative's cap applies to its campaign
	Content    string       `json:"content,omitempty"`
}

// FrequencyCap allows at most Max impressions per Window (Window 0: ever);
// Max 0 means no cap.
type FrequencyCap struct {
	Max    int           `json:"max"`
	Window time.Duration `json:"window_ns"`
}

// QuietHours is a daily span [From, To) of minutes after midnight during
// which nothing is shown; it may wrap midnight (From > To). From == To
// means none.
type QuietHours struct {
	From int `json:"from_minute"`
	To   int `json:"to_minute"`
}

// contains reports whether t falls in the quiet hours.
func (q QuietHours) contains(t time.Time) bool {
	m := t.Hour()*60 + t.Minute()
	switch {
	case q.From == q.To:
		return false
	case q.From < q.To:
		return m >= q.From && m < q.To
	}
	return m >= q.From || m < q.To
}

// Match is a creative relevant to the owner and how strongly.
type Match struct {
	Creative Creative `json:"creative"`
	Score    float64  `json:"score"`
}

// catalogueContext separates catalogue signatures from anything else the
// aggregator's campaign key signs.
const catalogueContext = "wisp creative catalogue v1\x00"

// Meta key of the catalogue in the device store.
const metaCatalogue = "catalogue"

// ErrBadCatalogue: the catalogue does not parse, or its signature does not
// verify under the aggregator's campaign-signing key.
var ErrBadCatalogue = errors.New("host: catalogue refused")

// SetSignedCatalogue verifies a catalogue signed by the aggregator's
// campaign-signing key (Ed25519 over "wisp creative catalogue v1\x00" ||
// catalogue) and installs it.
func (d *Device) SetSignedCatalogue(ctx context.Context, catalogue, signature []byte) error {
	if !d.gate.enter() {
		return ErrDeviceClosed
	}
	defer d.gate.leave()
	pub, err := d.campaignKey()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadCatalogue, err)
	}
	if !d.cfg.verified.catalogue(pub, catalogue, signature) {
		return fmt.Errorf("%w: signature does not verify", ErrBadCatalogue)
	}
	var c Catalogue
	if err := json.Unmarshal(catalogue, &c); err != nil {
		return fmt.Errorf("%w: %v", ErrBadCatalogue, err)
	}
	return d.SetCatalogue(ctx, c)
}

// SetCatalogue installs a catalogue the device maker vouches for (for
// example one built into the firmware). Prefer SetSignedCatalogue for
// catalogues from the network.
func (d *Device) SetCatalogue(ctx context.Context, c Catalogue) error {
	if !d.gate.enter() {
		return ErrDeviceClosed
	}
	defer d.gate.leave()
	if err := c.validate(); err != nil {
		return err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return d.store.SetMeta(ctx, metaCatalogue, b)
}

// validate refuses a catalogue the device could not honour as written: a
// negative cap would otherwise read as no cap at all, and quiet hours
// outside the day as a span no clock reaches.
func (c Catalogue) validate() error {
	if err := c.Cap.validate(); err != nil {
		return fmt.Errorf("%w: global_cap: %v", ErrBadCatalogue, err)
	}
	const day = 24 * 60
	if c.Quiet.From < 0 || c.Quiet.From >= day || c.Quiet.To < 0 || c.Quiet.To >= day {
		return fmt.Errorf("%w: quiet_hours: from_minute and to_minute must be in [0, %d), got %d and %d", ErrBadCatalogue, day, c.Quiet.From, c.Quiet.To)
	}
	seen := map[string]bool{}
	for _, cr := range c.Creatives {
		if cr.ID == "" || cr.Campaign == "" || seen[cr.ID] || len(cr.Categories) == 0 || !(cr.MinScore >= 0 && cr.MinScore <= 1) {
			return fmt.Errorf("%w: creative %q: needs a unique id, a campaign, categories and min_score in [0, 1]", ErrBadCatalogue, cr.ID)
		}
		if err := cr.Cap.validate(); err != nil {
			return fmt.Errorf("%w: creative %q: cap: %v", ErrBadCatalogue, cr.ID, err)
		}
		seen[cr.ID] = true
	}
	return nil
}

func (f FrequencyCap) validate() error {
	if f.Max < 0 || f.Window < 0 {
		return fmt.Errorf("max and window_ns must not be negative, got %d and %d", f.Max, f.Window)
	}
	return nil
}

func (d *Device) catalogue(ctx context.Context) (Catalogue, error) {
	var c Catalogue
	b, err := d.store.Meta(ctx, metaCatalogue)
	if errors.Is(err, devicestore.ErrNotFound) {
		return c, nil
	} else if err != nil {
		return c, err
	}
	return c, json.Unmarshal(b, &c)
}

// Relevant returns the creatives relevant to the owner, most relevant
// first, ignoring caps. It reads the local profile only.
func (d *Device) Relevant(ctx context.Context) ([]Match, error) {
	if !d.gate.enter() {
		return nil, ErrDeviceClosed
	}
	defer d.gate.leave()
	c, err := d.catalogue(ctx)
	if err != nil {
		return nil, err
	}
	return d.relevant(ctx, c, d.now())
}

// relevant is Relevant for catalogue c at now.
func (d *Device) relevant(ctx context.Context, c Catalogue, now time.Time) ([]Match, error) {
	scores, err := d.localScores(ctx, now)
	if err != nil {
		return nil, err
	}
	var out []Match
	for _, cr := range c.Creatives {
		best := -1.0
		for _, cat := range cr.Categories {
			if v := float64(scores[cat]); v >= cr.MinScore && v > best && v > 0 {
				best = v
			}
		}
		if best >= 0 {
			out = append(out, Match{Creative: cr, Score: best})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Creative.ID < out[j].Creative.ID
	})
	return out, nil
}

// Pick chooses the most relevant creative that its campaign's cap and the
// global cap still allow, outside quiet hours, and records the impression
// — checking the caps and recording in one transaction, so concurrent
// callers cannot exceed a cap. It returns ErrFrequencyCap when nothing may
// be shown now (caps, quiet hours, or nothing relevant).
func (d *Device) Pick(ctx context.Context) (Creative, error) {
	if !d.gate.enter() {
		return Creative{}, ErrDeviceClosed
	}
	defer d.gate.leave()
	c, err := d.catalogue(ctx)
	if err != nil {
		return Creative{}, err
	}
	now := d.now()
	if c.Quiet.contains(now) {
		return Creative{}, ErrQuietHours
	}
	matches, err := d.relevant(ctx, c, now)
	if err != nil {
		return Creative{}, err
	}
	if len(matches) == 0 {
		return Creative{}, ErrNothingRelevant
	}
	campaignCap := map[string]FrequencyCap{}
	for _, cr := range c.Creatives {
		if _, ok := campaignCap[cr.Campaign]; !ok {
			campaignCap[cr.Campaign] = cr.Cap
		}
	}
	cands := make([]devicestore.Candidate, len(matches))
	for i, m := range matches {
		capc := campaignCap[m.Creative.Campaign]
		cands[i] = devicestore.Candidate{Creative: m.Creative.ID, Campaign: m.Creative.Campaign, Cap: devicestore.Cap{Max: capc.Max, Window: capc.Window}}
	}
	i, err := d.store.Impress(ctx, cands, devicestore.Cap{Max: c.Cap.Max, Window: c.Cap.Window}, now)
	if errors.Is(err, devicestore.ErrCapped) {
		return Creative{}, ErrAllCapped
	} else if err != nil {
		return Creative{}, err
	}
	return matches[i].Creative, nil
}
