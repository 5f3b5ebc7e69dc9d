package aggregator_test

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/prio"
)

// BenchmarkPrio3EndToEnd: reports/s through both aggregators on this
// machine — upload to the leader (decode, open its share, store), then the
// aggregation jobs (leader PrepInit, HTTP to the helper, helper open +
// prepare + store, leader PrepNext + store) — for a one-of-10 question
// (MultihotCountVec(10, 1), the Histogram(10) question with null reports).
// Shard and seal (the devices' work) are outside the timer. Run with
// -benchtime=20000x.
func BenchmarkPrio3EndToEnd(b *testing.B) {
	cats := []uint32{408, 410, 415, 625, 667, 672, 674, 411, 412, 413}
	p := newPairFor(b, prio.ForTopK(len(cats), 1), campaign.Question{Type: campaign.QuestionTopK, Categories: cats, K: 1}, 1000)
	epoch := p.epoch()
	raw := make([][]byte, b.N)
	for i := range raw {
		raw[i] = p.device(b, epoch, prio.MultiHot(len(cats), i%len(cats)), nil)
	}
	const batch = 500
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup // devices upload concurrently: two at a time
	sem := make(chan struct{}, 2)
	for lo := 0; lo < len(raw); lo += batch {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if res := p.upload(b, raw[lo:min(lo+batch, len(raw))]...); res.Rejected != 0 {
				b.Errorf("upload: %+v", res.Results[0])
			}
		}()
	}
	wg.Wait()
	ingested := time.Now()
	if err := p.leader.srv.RunPrio3Jobs(ctx); err != nil {
		b.Fatal(err)
	}
	done := time.Now()
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if got := p.batches(b, p.helper); len(got) != 1 || got[0].Aggregated != int64(b.N) {
		b.Fatalf("helper aggregated %+v of %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/done.Sub(start).Seconds(), "reports/s")
	b.ReportMetric(float64(b.N)/ingested.Sub(start).Seconds(), "ingest_reports/s")
	b.ReportMetric(float64(b.N)/done.Sub(ingested).Seconds(), "aggregate_reports/s")
	// CPU time of both aggregators (and the loopback HTTP) per report: on a
	// shared machine the wall-clock rate says more about the neighbours.
	b.ReportMetric(cpu.Seconds()*1e6/float64(b.N), "cpu_µs/report")
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
