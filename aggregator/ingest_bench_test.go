package aggregator

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/aggregator/store/storetest"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
	"github.com/wisp-project/wisp/internal/wire"
)

// BenchmarkIngestPath runs decode → open → validate → commit on 1,000-report
// batches without HTTP, against SQLite; BenchmarkOpen is the bound. ns/op
// is per report; `wisp bench ingest` measures the whole path over HTTP.
func BenchmarkIngestPath(b *testing.B) {
	for _, batch := range []int{250, 1000, 4000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s, raw := benchServer(b, b.N)
			ctx := context.Background()
			b.ResetTimer()
			c := cpuSeconds()
			for lo := 0; lo < len(raw); lo += batch {
				part := raw[lo:min(lo+batch, len(raw))]
				resp, err := s.ingest(ctx, part, make([]*sentToken, len(part)))
				if err != nil || resp.Rejected > 0 {
					b.Fatalf("%v %+v", err, resp.Results[0])
				}
			}
			b.ReportMetric((cpuSeconds()-c)*1e9/float64(b.N), "cpu-ns/report")
		})
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func BenchmarkOpen(b *testing.B) {
	s, raw := benchServer(b, b.N)
	key := s.state.Load().keys[1].pair
	b.ResetTimer()
	c := cpuSeconds()
	defer func() { b.ReportMetric((cpuSeconds()-c)*1e9/float64(b.N), "cpu-ns/report") }()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			e, _ := wire.DecodeEnvelope(raw[i%len(raw)])
			i++
			if _, err := key.Open(&e); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchServer(b *testing.B, n int) (*Server, []cbor.RawMessage) {
	return benchServerOn(b, n, "sqlite:"+filepath.Join(b.TempDir(), "bench.db"))
}

// benchServerOn is an aggregator on the store of spec and n reports sealed to it.
func benchServerOn(b *testing.B, n int, spec string) (*Server, []cbor.RawMessage) {
	tax, err := taxonomy.ParseBytes(taxonomy.DefaultTSV())
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(context.Background(), spec)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	key, _ := wire.GenerateKeyPair(1, rand.Reader)
	c := campaign.Campaign{ID: "bench", Name: "b", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.5}, Epsilon: 1, EpochSeconds: 3600, K: 1}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	s, err := New(Config{Store: st, Taxonomy: tax, Keys: []*wire.KeyPair{key}, Campaigns: []campaign.Campaign{c}, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	raw := make([]cbor.RawMessage, n)
	for i := range raw {
		e := wire.Envelope{Version: wire.Version, Mode: wire.ModeLDP, Campaign: c.ID, Epoch: c.Epoch(now)}
		rand.Read(e.ID[:])
		if err := wire.Seal(key.Config, &e, wire.Payload{Mechanism: 1, Answer: []byte{byte(i % 2)}}, 64, rand.Reader); err != nil {
			b.Fatal(err)
		}
		if raw[i], err = wire.Marshal(&e); err != nil {
			b.Fatal(err)
		}
	}
	return s, raw
}

// BenchmarkIngestQueued is a queue worker's step (IngestQueued) on
// 4,000-report batches against PostgreSQL; ns/op and allocs/op are per
// report. Less BenchmarkOpen's cpu-ns/report, it is the worker's own cost
// beside HPKE (PostgreSQL's backends not counted).
func BenchmarkIngestQueued(b *testing.B) {
	s, raw := benchServerOn(b, b.N, "postgres:"+storetest.PostgresDSN(b))
	queued := make([]Queued, len(raw))
	for i := range raw {
		queued[i] = Queued{Envelope: raw[i], AcceptedAt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	c := cpuSeconds()
	for lo := 0; lo < len(queued); lo += 4000 {
		part := queued[lo:min(lo+4000, len(queued))]
		if n, err := s.IngestQueued(ctx, part); err != nil || n != len(part) {
			b.Fatalf("stored %d of %d: %v", n, len(part), err)
		}
	}
	b.ReportMetric((cpuSeconds()-c)*1e9/float64(b.N), "cpu-ns/report")
}

// BenchmarkWorkerDecode is what a worker does to a report before HPKE
// Open (which the bound, BenchmarkOpen, includes with the payload's
// decoding): decode the envelope and make the checks of its clear fields
// (screen); ns/op and allocs/op are per report.
func BenchmarkWorkerDecode(b *testing.B) {
	s, raw := benchServer(b, 1000)
	snap := s.state.Load()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	c := cpuSeconds()
	for i := 0; b.Loop(); i++ {
		if e, _, _, res := s.screen(snap, now, raw[i%len(raw)]); res.Reason != "" || e.Campaign != "bench" {
			b.Fatal(res)
		}
	}
	b.ReportMetric((cpuSeconds()-c)*1e9/float64(b.N), "cpu-ns/report")
}
