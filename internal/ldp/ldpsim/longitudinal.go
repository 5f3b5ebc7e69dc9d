package ldpsim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/wisp-project/wisp/internal/ldp"
)

// RunLongitudinal measures the estimators of the answers devices send
// since issue 14: two-layer frequency oracles (ldp.Longitudinal, permanent
// ε∞ = ε and per-report ε1 = ε·ldp.DefaultReportShare) — RR over cfg.D
// independent yes/no questions of N devices each, GRR, OUE, OLH, Hadamard
// and padding-and-sampling over cfg.D items — and the two mean mechanisms
// on α-rounded values (ldp.MeanGrid, every device with its own offset).
// Each row's theory is the composed closed form (CountVariance at the
// composed support, ldp.RoundedVariance), so MSE/theory ≈ 1 checks that
// the aggregator's estimator inverts both layers and that the variance
// formula is exact. One epoch's reports are simulated: every device's
// permanent answer is drawn afresh in each repeat.
func RunLongitudinal(ctx context.Context, cfg Config) (Report, error) {
	if cfg.N < 10 || cfg.D < 2 || cfg.Repeats < 2 || cfg.L < 1 || cfg.MeanGroups < 1 {
		return Report{}, errors.New("ldpsim: config needs n ≥ 10, d ≥ 2, repeats ≥ 2, set size ≥ 1, mean groups ≥ 1")
	}
	cfg.MeanGroups = max(min(cfg.MeanGroups, cfg.N/10), 1)
	start := time.Now()
	pop := newPopulation(cfg.N, cfg.D, cfg.L, cfg.Zipf, cfg.Seed)
	var tasks []task
	for _, eps := range cfg.Epsilons {
		eps1 := eps * ldp.DefaultReportShare
		rr, err := ldp.NewLongitudinal(ldp.MechanismRR, eps, eps1, 2)
		if err != nil {
			return Report{}, err
		}
		tasks = append(tasks, binaryTask(rr, pop))
		for _, m := range []ldp.Mechanism{ldp.MechanismGRR, ldp.MechanismOUE, ldp.MechanismOLH, ldp.MechanismHadamard} {
			fo, err := ldp.NewLongitudinal(m, eps, eps1, cfg.D)
			if err != nil {
				return Report{}, err
			}
			t := frequencyTask(fo, pop, false)
			t.row.Mechanism, t.row.Kind, t.row.Epsilon = t.row.Mechanism+"+irr", "longitudinal", eps
			tasks = append(tasks, t)
		}
		setChoice, err := ldp.ChooseLongitudinal(eps, eps1, cfg.D+cfg.L)
		if err != nil {
			return Report{}, err
		}
		ss, err := ldp.NewLongitudinalSetSampler(setChoice.Mechanism, eps, eps1, cfg.D, cfg.L)
		if err != nil {
			return Report{}, err
		}
		t := setTask(ss, pop)
		t.row.Mechanism, t.row.Kind, t.row.Epsilon = t.row.Mechanism+"+irr", "longitudinal", eps
		tasks = append(tasks, t)
		for _, m := range []ldp.Mechanism{ldp.MechanismDuchi, ldp.MechanismPiecewise} {
			mm, err := ldp.NewMeanMechanism(m, eps)
			if err != nil {
				return Report{}, err
			}
			tasks = append(tasks, roundedMeanTask(mm, ldp.MeanGrid(m), pop, cfg.MeanGroups))
		}
	}
	out, err := runTasks(ctx, cfg, tasks)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Config: cfg}
	for i, t := range tasks {
		rep.Results = append(rep.Results, summarize(t.row, out[i]))
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// binaryTask runs a one-bit oracle on D independent populations of n
// devices, population v with counts[v] yes-holders, and averages the
// squared error of the yes counts: D degrees of freedom per repeat.
func binaryTask(fo ldp.FrequencyOracle, pop *population) task {
	par := fo.Params()
	var theory float64
	for _, c := range pop.counts {
		theory += ldp.CountVariance(fo, pop.n, float64(c))
	}
	row := Result{Mechanism: par.Mechanism.String() + "+irr", Kind: "longitudinal", Epsilon: par.PermanentEpsilon, D: 2, N: pop.n,
		TheoryVariance: theory / float64(len(pop.counts)), ReportBytes: par.AnswerSize}
	return task{row: row, run: func(seed uint64) (trial, error) {
		rng := ldp.NewSeededRand(seed)
		var sq float64
		var dec time.Duration
		buf := make([]byte, 0, 1)
		for _, c := range pop.counts {
			acc := fo.NewAccumulator()
			for i := range pop.n {
				var err error
				v := 0
				if i < c {
					v = 1
				}
				if buf, err = fo.AppendRandomized(buf[:0], v, rng); err != nil {
					return trial{}, err
				}
				if err := acc.Add(buf); err != nil {
					return trial{}, err
				}
			}
			start := time.Now()
			e := ldp.EstimateCounts(fo, acc)[1].Value - float64(c)
			dec += time.Since(start)
			sq += e * e
		}
		return trial{sq: sq / float64(len(pop.counts)), decode: dec}, nil
	}}
}

// roundedMeanTask is meanTask with every device's value α-rounded onto g
// with its own offset before it is randomized.
func roundedMeanTask(m ldp.MeanMechanism, g ldp.Grid, pop *population, groups int) task {
	par := m.Params()
	var theory float64
	for _, x := range pop.values {
		theory += ldp.RoundedVariance(m, g, x)
	}
	n := float64(pop.n)
	row := Result{Mechanism: fmt.Sprintf("%v+a%d", par.Mechanism, g.Steps), Kind: "longitudinal", Epsilon: par.Epsilon, D: 1, N: pop.n,
		TheoryVariance: theory / (n * n), ReportBytes: par.AnswerSize}
	return task{row: row, run: func(seed uint64) (trial, error) {
		rng := ldp.NewSeededRand(seed)
		size := par.AnswerSize
		buf := make([]byte, 0, pop.n*size)
		for _, x := range pop.values {
			_, z, err := g.Round(x, rng.Float64())
			if err != nil {
				return trial{}, err
			}
			if buf, err = m.AppendRandomized(buf, z, rng); err != nil {
				return trial{}, err
			}
		}
		start := time.Now()
		sq, err := groupedMeanError(pop, buf, size, groups, n, func() *ldp.MeanAccumulator { return ldp.NewRoundedMeanAccumulator(m, g) })
		if err != nil {
			return trial{}, err
		}
		return trial{sq: sq, decode: time.Since(start)}, nil
	}}
}

// CoverageDomain is the number of items of the frequency oracles Coverage
// runs (RR has 2).
const CoverageDomain = 8

// CoverageMechanisms are the mechanisms Coverage measures.
var CoverageMechanisms = []ldp.Mechanism{ldp.MechanismRR, ldp.MechanismGRR, ldp.MechanismOUE, ldp.MechanismOLH,
	ldp.MechanismHadamard, ldp.MechanismDuchi, ldp.MechanismPiecewise}

// Coverage measures how often the aggregator's 95% interval contains the
// truth, over trials independent epochs of n devices that all hold
// trueValue, as the aggregator computes it for a campaign at ε (seeded,
// deterministic):
//
//   - a frequency oracle (RR, GRR, OUE, OLH, Hadamard) answers in two
//     layers at ε∞ = eps, ε1 = eps·ldp.DefaultReportShare over
//     CoverageDomain items (RR: 2); trueValue ∈ [0, 1] is the share of
//     devices holding the counted item (the rest hold another one), and the
//     interval is EstimateCounts' (the support count's score interval
//     mapped through the estimator) for the count round(trueValue·n);
//   - a mean mechanism (Duchi, piecewise) answers a score trueValue ∈
//     [0, 1] α-rounded onto its grid with a fresh offset per device, and
//     the interval is the mean's worst-case ±1.96·sd, in score units.
func Coverage(mech ldp.Mechanism, eps float64, n int, trueValue float64, trials int, seed uint64) (float64, error) {
	if n < 1 || trials < 1 || !(trueValue >= 0 && trueValue <= 1) {
		return 0, fmt.Errorf("ldpsim: coverage needs n ≥ 1, trials ≥ 1 and a true value in [0, 1] (got %d, %d, %v)", n, trials, trueValue)
	}
	rng := ldp.NewSeededRand(seed)
	covered := 0
	if mech.IsFrequency() {
		d := CoverageDomain
		if mech == ldp.MechanismRR {
			d = 2
		}
		fo, err := ldp.NewLongitudinal(mech, eps, eps*ldp.DefaultReportShare, d)
		if err != nil {
			return 0, err
		}
		// The counted item is 1 (RR's "yes"); the others hold item 0.
		c := int(math.Round(trueValue * float64(n)))
		var buf []byte
		for range trials {
			acc := fo.NewAccumulator()
			for i := range n {
				v := 0
				if i < c {
					v = 1
				}
				if buf, err = fo.AppendRandomized(buf[:0], v, rng); err != nil {
					return 0, err
				}
				if err := acc.Add(buf); err != nil {
					return 0, err
				}
			}
			if e := ldp.EstimateCounts(fo, acc)[1]; e.Low <= float64(c) && float64(c) <= e.High {
				covered++
			}
		}
		return float64(covered) / float64(trials), nil
	}
	m, err := ldp.NewMeanMechanism(mech, eps)
	if err != nil {
		return 0, err
	}
	g := ldp.MeanGrid(mech)
	b := ldp.Bounds{Lo: 0, Hi: 1}
	x, _ := b.Normalize(trueValue)
	var buf []byte
	for range trials {
		acc := ldp.NewRoundedMeanAccumulator(m, g)
		for range n {
			_, z, err := g.Round(x, rng.Float64())
			if err != nil {
				return 0, err
			}
			if buf, err = m.AppendRandomized(buf[:0], z, rng); err != nil {
				return 0, err
			}
			if err := acc.Add(buf); err != nil {
				return 0, err
			}
		}
		if e := b.Denormalize(acc.Estimate()); e.Low <= trueValue && trueValue <= e.High {
			covered++
		}
	}
	return float64(covered) / float64(trials), nil
}

// CoverageCell is one Coverage measurement.
type CoverageCell struct {
	Mechanism string  `json:"mechanism"`
	Epsilon   float64 `json:"epsilon"`
	N         int     `json:"n"`
	TrueValue float64 `json:"true_value"`
	Trials    int     `json:"trials"`
	Coverage  float64 `json:"coverage"`
}

// CoverageGrid measures Coverage over n ∈ ns × ε ∈ epsilons × every
// mechanism of CoverageMechanisms × true value ∈ {0, 0.5, 1} (the edges
// and the middle), with trials(n) trials per cell, and returns the cells
// worst coverage first.
func CoverageGrid(ctx context.Context, ns []int, epsilons []float64, trials func(n int) int, seed uint64) ([]CoverageCell, error) {
	var cells []CoverageCell
	for _, m := range CoverageMechanisms {
		for _, eps := range epsilons {
			for _, n := range ns {
				for _, v := range []float64{0, 0.5, 1} {
					if err := ctx.Err(); err != nil {
						return nil, err
					}
					tr := trials(n)
					c, err := Coverage(m, eps, n, v, tr, seedFor(seed, len(cells), 0))
					if err != nil {
						return nil, err
					}
					cells = append(cells, CoverageCell{Mechanism: m.String(), Epsilon: eps, N: n, TrueValue: v, Trials: tr, Coverage: c})
				}
			}
		}
	}
	slices.SortStableFunc(cells, func(a, b CoverageCell) int { return cmp.Compare(a.Coverage, b.Coverage) })
	return cells, nil
}
