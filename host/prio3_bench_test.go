//go:build unix

package host

import (
	"crypto/rand"
	"syscall"
	"testing"
	"time"

	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/prio"
	"github.com/wisp-project/wisp/internal/wire"
)

// BenchmarkPrio3Report is a device's cost of one prio3 report: a client
// for the instance, Shard, two HPKE seals (leader and helper) and the
// report's encoding — everything answerPrio3 does but the ledger and the
// outbox (durable SQLite transactions, measured by the device benchmarks).
// Histogram(10) is the reference instance even though Wisp asks
// one-of-d as top_k (MultihotCountVec, which admits null reports).
//
// cpu-ns/op is the process's CPU time (user + system) per report: on a
// machine shared with other work the wall time per op (ns/op) counts the
// time the benchmark waited for a core, the CPU time does not.
func BenchmarkPrio3Report(b *testing.B) {
	leader, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	helper, err := wire.GenerateKeyPair(2, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := wire.Marshal(wire.KeyConfigList{Configs: []wire.KeyConfig{helper.Config}})
	if err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		p    prio.Params
		m    prio.Measurement
	}{
		{"Count", prio.ForThreshold(), prio.Bit(true)},
		{"Histogram(10)", prio.ForOneOf(10), prio.OneHot(10, 3)},
		{"MultihotCountVec(10,1)", prio.ForTopK(10, 1), prio.MultiHot(10, 3)},
		{"MultihotCountVec(10,3)", prio.ForTopK(10, 3), prio.MultiHot(10, 1, 3, 7)},
		{"Sum(8)", prio.ForMean(8), prio.Value(200)},
	} {
		params, err := prio.EncodeParams(tt.p)
		if err != nil {
			b.Fatal(err)
		}
		c := &Campaign{ID: "bench", Mode: campaign.ModePrio3, Prio3: &campaign.Prio3{Params: params, HelperKeys: keys}}
		b.Run(tt.name, func(b *testing.B) {
			defer reportCPU(b)()
			size := 0
			for b.Loop() {
				r, err := sealPrio3(c, 1, leader.Config, tt.m, rand.Reader)
				if err != nil {
					b.Fatal(err)
				}
				enc, err := wire.EncodePrio3Report(&r)
				if err != nil {
					b.Fatal(err)
				}
				size = len(enc)
			}
			b.ReportMetric(float64(size), "report-bytes")
		})
	}
	// The two seals alone, of a Histogram(10) report's shares: the part
	// of the cost that is HPKE (an X25519 key generation and exchange
	// per seal), not Prio3.
	b.Run("two seals", func(b *testing.B) {
		cl, err := prio.NewClient(prio.ForOneOf(10), prio.AppContext("bench"))
		if err != nil {
			b.Fatal(err)
		}
		rep, err := cl.Shard(prio.OneHot(10, 3))
		if err != nil {
			b.Fatal(err)
		}
		aad := wire.ShareAAD("bench", 1, wire.ReportID(rep.Nonce), prio.Leader, rep.Public)
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := wire.SealShare(leader.Config, aad, rep.Leader); err != nil {
				b.Fatal(err)
			}
			if _, err := wire.SealShare(helper.Config, aad, rep.Helper); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// reportCPU starts counting the process's CPU time; the function it
// returns reports it per op as cpu-ns/op.
func reportCPU(b *testing.B) func() {
	start := cpuTime(b)
	return func() { b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op") }
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
