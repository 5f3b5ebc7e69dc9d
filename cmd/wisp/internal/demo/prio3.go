package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Modes of a run (Options.Mode).
const (
	// ModeLDP asks the demo's campaigns as ε-LDP questions of one
	// aggregator: today's demo.
	ModeLDP = campaign.ModeLDP
	// ModePrio3 asks each of them twice, once as the LDP campaign and once
	// as a prio3 twin answered through a leader and a helper (docs/PRIO3.md),
	// so the two estimates of the same population sit side by side.
	ModePrio3 = campaign.ModePrio3
)

// twinSuffix names a campaign's prio3 twin: "runners" → "runners-p3".
const twinSuffix = "-p3"

// prio3Twins returns a prio3 campaign for each LDP campaign: the same
// question, its ε as the central ε, its k as min_batch, answered through
// the helper at helperURL whose key configs are helperKeys.
func prio3Twins(ldp []campaign.Campaign, helperURL string, helperKeys []byte, tax *taxonomy.Taxonomy) ([]campaign.Campaign, error) {
	var twins []campaign.Campaign
	for _, c := range ldp {
		t := campaign.Campaign{ID: c.ID + twinSuffix, Name: c.Name + " (prio3)", Version: c.Version, Question: c.Question,
			EpochSeconds: c.EpochSeconds, K: c.K, Mode: campaign.ModePrio3,
			Prio3: &campaign.Prio3{CentralEpsilon: c.Epsilon, MinBatch: c.K, HelperURL: helperURL, HelperKeys: helperKeys}}
		t.Question.Categories = append([]uint32(nil), c.Question.Categories...)
		if err := t.Validate(tax); err != nil {
			return nil, fmt.Errorf("demo: prio3 twin of %s: %w", c.ID, err)
		}
		twins = append(twins, t)
	}
	return twins, nil
}

// helperProc is the prio3 helper: a second aggregator on its own store and
// 127.0.0.1 listener, which only the leader talks to.
type helperProc struct {
	url   string
	keys  []byte // its /v1/hpke-config, as a campaign's helper_keys
	store store.Store
	http  *http.Server
	skew  atomic.Int64 // moved with the leader's clock (closeEpochs)
}

// newPeerToken is a fresh bearer secret between leader and helper.
func newPeerToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func startHelper(ctx context.Context, dbPath string, tax *taxonomy.Taxonomy, token string) (*helperProc, error) {
	st, err := store.OpenSQLite(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	h := &helperProc{store: st}
	now := func() time.Time { return time.Now().Add(time.Duration(h.skew.Load())) }
	srv, err := aggregator.New(aggregator.Config{Store: st, Taxonomy: tax, Now: now, Logger: slog.New(slog.DiscardHandler),
		Prio3: aggregator.Prio3Options{Role: aggregator.RoleHelper, PeerToken: token}})
	if err != nil {
		st.Close()
		return nil, err
	}
	if h.http, h.url, err = serveLocal(srv.Handler()); err != nil {
		st.Close()
		return nil, err
	}
	// The helper's keys as its operator would hand them to the leader's:
	// fetched from its public endpoint.
	if h.keys, err = getBody(ctx, h.url+"/v1/hpke-config"); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

func getBody(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("demo: %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("demo: %s: %s", url, resp.Status)
	}
	return b, err
}

func (h *helperProc) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.http.Shutdown(ctx)
	h.store.Close()
}

// dailyBudget is the daily ε a prio3 run's devices may spend: every
// campaign once, LDP and prio3 twin. A device answers each of its
// campaigns once a week; asking every question twice only for the
// comparison must not leave answers deferred by the default cap of 4.
func dailyBudget(campaigns []campaign.Campaign) float64 {
	var sum float64
	for _, c := range campaigns {
		sum += c.Epsilon
	}
	return sum
}

// countPrio3 adds one device's measurement to prio3 campaign j's ground
// truth, element by element: exactly what the two aggregators' shares sum
// to before noise (the bit, the top-k vector, the quantized score; a
// device that scores none of the categories adds zeros).
func (p *population) countPrio3(j int, scores map[uint32]float32) {
	m, err := p.codecs[j].Measurement(p.codecs[j].Truth(scores))
	if err != nil {
		panic("demo: " + err.Error()) // the codec is a validated prio3 campaign's
	}
	for i, v := range m {
		p.truth[j][i] += int64(v)
	}
}

// meanLevels is how finely campaign c's truth counts a mean score: the
// legacy LDP quantization, or a prio3 instance's 2^b − 1 levels.
func meanLevels(c *campaign.Campaign) float64 {
	if p, err := c.Instance(); err == nil && c.IsPrio3() {
		return float64(p.MaxValue())
	}
	return campaign.MeanLevels
}

// modeOf is a segment row's mode in a prio3 run.
func modeOf(c *campaign.Campaign) string {
	if c.IsPrio3() {
		return ModePrio3
	}
	return ModeLDP
}

// writeSideBySide prints a prio3 run's comparison: each question's LDP and
// prio3 estimates of the same population, with the truth.
func writeSideBySide(w io.Writer, res Result) {
	p := message.NewPrinter(language.English)
	twin := map[string]SegmentOutcome{}
	for _, s := range res.Segments {
		if s.Mode == ModePrio3 {
			twin[s.Campaign+"/"+fmt.Sprint(s.Category)] = s
		}
	}
	p.Fprintln(w, "\nLDP beside prio3: the same devices, the same questions, at the same ε (± is the 95% interval's half-width)")
	tw := table(w, "campaign", "category", "ε", "truth", "LDP", "±", "covered", "prio3 truth", "prio3", "±", "covered")
	covered, rows := 0, 0
	for _, s := range res.Segments {
		t, ok := twin[s.Campaign+twinSuffix+"/"+fmt.Sprint(s.Category)]
		if s.Mode != ModeLDP || !ok {
			continue
		}
		num := "%.0f"
		if s.Question == "mean" {
			num = "%.3f"
		}
		cell := func(o SegmentOutcome) string {
			if o.BelowK {
				return "below k\t\t\t"
			}
			mark := "no"
			if o.Covered {
				mark = "yes"
			}
			return p.Sprintf(num+"\t"+num+"\t%s\t", o.Estimate, (o.CIHigh-o.CILow)/2, mark)
		}
		if !t.BelowK {
			rows++
			if t.Covered {
				covered++
			}
		}
		p.Fprintf(tw, "%s\t%s\t%.1f\t"+num+"\t%s"+num+"\t%s\n", s.Campaign, s.CategoryName, s.Epsilon, s.Truth, cell(s), t.Truth, cell(t))
	}
	tw.Flush()
	p.Fprintf(w, "%d of %d prio3 intervals cover the truth. A count's prio3 interval is the same for any number of devices;\n"+
		"an LDP count's grows with √n. prio3 truth counts every device (one report each, null if it scores nothing), LDP only\n"+
		"the devices that score the category — the same count; a prio3 mean is over every device.\n", covered, rows)
}

// isPrio3Run reports whether res came from a prio3 run.
func isPrio3Run(res Result) bool {
	for _, s := range res.Segments {
		if s.Mode != "" {
			return true
		}
	}
	return false
}
