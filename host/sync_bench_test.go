package host

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/wisp-project/wisp/internal/campaign"
)

// syncBenchCampaigns are 15 campaigns shaped like the demo's: 12
// thresholds, 2 top_k questions and a mean.
func syncBenchCampaigns() []campaign.Campaign {
	var out []campaign.Campaign
	add := func(q campaign.Question) {
		out = append(out, campaign.Campaign{ID: fmt.Sprintf("bench-%d", len(out)), Name: "Bench", Question: q,
			Epsilon: 1, EpochSeconds: 7 * 86400, K: 50})
	}
	for _, cat := range []uint32{410, 625, 408, 667, 368, 372, 731, 253, 607, 676, 481, 465} {
		add(campaign.Question{Type: campaign.QuestionThreshold, Category: cat, MinScore: 0.5})
	}
	add(campaign.Question{Type: campaign.QuestionTopK, Categories: []uint32{408, 410, 415, 625, 667, 672, 674}, K: 3})
	add(campaign.Question{Type: campaign.QuestionTopK, Categories: []uint32{493, 504, 499, 709, 710, 711}, K: 2})
	add(campaign.Question{Type: campaign.QuestionMean, Category: 410})
	return out
}

// BenchmarkDeviceSync: a device's sync from a real aggregator on
// 127.0.0.1 serving 15 signed campaigns (GET the HPKE configs and the
// campaigns, verify and validate each, pin), with every device opened from
// one DeviceConfig, as a process running many devices opens them. first:
// a new device's first sync (every campaign pinned); again: a forced
// re-sync of a device that has them all. cpu-ns/op is the process's CPU
// time (user and system) per sync, the aggregator's share included: a
// sync mostly waits on fsync, so its wall time says little.
func BenchmarkDeviceSync(b *testing.B) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregatorWith(b, clock, nil)
	agg.serve(b, syncBenchCampaigns()...)
	cfg := NewDeviceConfig().WithClock(clock.Now).
		WithAggregator(agg.URL, &http.Client{Timeout: 5 * time.Second}).WithCampaignKey(agg.key)
	open := func() *Device {
		d, err := Open(ctx, b.TempDir(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	sync := func(d *Device) {
		if err := d.Sync(ctx); err != nil {
			b.Fatal(err)
		}
	}
	sync(open()) // the process's first device: nothing of it is timed
	b.Run("first", func(b *testing.B) {
		var cpu time.Duration // in the syncs only, not in Open and Close
		for b.Loop() {
			b.StopTimer()
			d := open()
			b.StartTimer()
			start := cpuTime(b)
			sync(d)
			cpu += cpuTime(b) - start
			b.StopTimer()
			d.Close(ctx)
			b.StartTimer()
		}
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	})
	b.Run("again", func(b *testing.B) {
		d := open()
		defer d.Close(ctx)
		sync(d)
		defer reportCPU(b)()
		for b.Loop() {
			sync(d)
		}
	})
}
