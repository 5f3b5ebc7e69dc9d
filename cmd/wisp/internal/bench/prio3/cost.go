package prio3

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/wisp-project/wisp/cmd/wisp/internal/bench/cputime"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/prio"
	"github.com/wisp-project/wisp/internal/wire"
)

// costRows measures what one report costs a device, per instance: Shard,
// two HPKE seals and the encoding for prio3 (what host's answerPrio3 does
// between the ledger and the outbox), randomize and one seal for an LDP
// threshold answer. Each runs for about o.CostTime; SecondsPerReport is
// CPU time (user + system of this process) per report, so a loaded
// machine's waiting for a core is not counted, WallSecondsPerReport the
// elapsed time.
func costRows(ctx context.Context, o Options) ([]Result, error) {
	leader, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		return nil, err
	}
	helper, err := wire.GenerateKeyPair(2, rand.Reader)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, tt := range []struct {
		p prio.Params
		m prio.Measurement
	}{
		{prio.ForThreshold(), prio.Bit(true)},
		{prio.ForOneOf(10), prio.OneHot(10, 3)},
		{prio.ForTopK(10, 1), prio.MultiHot(10, 3)},
		{prio.ForTopK(10, 3), prio.MultiHot(10, 1, 3, 7)},
		{prio.ForMean(8), prio.Value(200)},
	} {
		client, err := prio.NewClient(tt.p, prio.AppContext("bench"))
		if err != nil {
			return nil, err
		}
		size := 0
		r, err := measure(ctx, o.CostTime, func() error {
			rep, err := client.Shard(tt.m)
			if err != nil {
				return err
			}
			r, err := wire.SealPrio3("bench", 1, rep, leader.Config, helper.Config)
			if err != nil {
				return err
			}
			b, err := wire.EncodePrio3Report(&r)
			size = len(b)
			return err
		})
		if err != nil {
			return nil, err
		}
		r.Name, r.Mode, r.Mechanism, r.ReportBytes = "device shard + two seals", "prio3", instanceName(tt.p), size
		out = append(out, r)
	}
	rr, err := ldp.NewRR(o.Epsilon)
	if err != nil {
		return nil, err
	}
	rng := ldp.NewCryptoRand()
	size := 0
	r, err := measure(ctx, o.CostTime, func() error {
		e := wire.Envelope{Version: wire.Version, Mode: wire.ModeLDP, Campaign: "bench", Epoch: 1}
		if _, err := rand.Read(e.ID[:]); err != nil {
			return err
		}
		answer := []byte{0}
		if rr.Randomize(true, rng) {
			answer[0] = 1
		}
		if err := wire.Seal(leader.Config, &e, wire.Payload{Mechanism: ldp.MechanismRR, Answer: answer}, campaign.DefaultReportSize, rand.Reader); err != nil {
			return err
		}
		b, err := wire.Marshal(&e)
		size = len(b)
		return err
	})
	if err != nil {
		return nil, err
	}
	r.Name, r.Mode, r.Mechanism, r.ReportBytes = "device randomize + seal", "ldp", "rr (threshold)", size
	return append(out, r), nil
}

// measure runs f for about d (at least 10 times).
func measure(ctx context.Context, d time.Duration, f func() error) (Result, error) {
	start, cpu0 := time.Now(), cputime.Process()
	n := 0
	for ; n < 10 || time.Since(start) < d; n++ {
		if err := f(); err != nil {
			return Result{}, err
		}
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
	}
	return Result{SecondsPerReport: (cputime.Process() - cpu0) / float64(n), WallSecondsPerReport: time.Since(start).Seconds() / float64(n), Trials: n}, nil
}

func instanceName(p prio.Params) string {
	switch p.VDAF {
	case prio.Histogram:
		return fmt.Sprintf("%v(%d)", p.VDAF, p.Length)
	case prio.MultihotCountVec:
		return fmt.Sprintf("%v(%d, %d)", p.VDAF, p.Length, p.MaxWeight)
	case prio.Sum:
		return fmt.Sprintf("%v(%d bits)", p.VDAF, p.Bits)
	}
	return p.VDAF.String()
}
