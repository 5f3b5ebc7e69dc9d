package ldpsim

import (
	"fmt"
	"time"

	"github.com/wisp-project/wisp/internal/ldp"
)

// Baseline RAPPOR parameters: 128-bit filters, 2 hashes, 32 cohorts
// (RAPPOR's published Chrome configuration used 128 bits, 2 hashes and
// 32–128 cohorts).
const (
	bloomBits    = 128
	bloomHashes  = 2
	bloomCohorts = 32
)

// tasksFor lists the rows for one ε.
func tasksFor(cfg Config, pop *population, eps float64) ([]task, error) {
	var tasks []task
	choice, err := ldp.Choose(eps, cfg.D)
	if err != nil {
		return nil, err
	}
	for _, m := range []ldp.Mechanism{ldp.MechanismGRR, ldp.MechanismOUE, ldp.MechanismOLH, ldp.MechanismHadamard} {
		fo, err := ldp.NewOracle(m, eps, cfg.D)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, frequencyTask(fo, pop, m == choice.Mechanism))
	}
	tasks = append(tasks, bloomTask(newBloom(eps, cfg.D, bloomBits, bloomHashes, bloomCohorts), pop))
	setChoice, err := ldp.Choose(eps, cfg.D+cfg.L)
	if err != nil {
		return nil, err
	}
	ss, err := ldp.NewSetSampler(setChoice.Mechanism, eps, cfg.D, cfg.L)
	if err != nil {
		return nil, err
	}
	tasks = append(tasks, setTask(ss, pop))
	chosenMean, _, err := ldp.ChooseMean(eps)
	if err != nil {
		return nil, err
	}
	for _, m := range []ldp.Mechanism{ldp.MechanismDuchi, ldp.MechanismPiecewise} {
		mm, err := ldp.NewMeanMechanism(m, eps)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, meanTask(mm, pop, cfg.MeanGroups, m == chosenMean.Params().Mechanism))
	}
	return tasks, nil
}

func frequencyTask(fo ldp.FrequencyOracle, pop *population, chosen bool) task {
	par := fo.Params()
	var theory float64
	for _, c := range pop.counts {
		theory += ldp.CountVariance(fo, pop.n, float64(c))
	}
	row := Result{Mechanism: par.Mechanism.String(), Kind: "frequency", Epsilon: par.Epsilon, D: par.D, N: pop.n,
		TheoryVariance: theory / float64(par.D), ReportBytes: par.AnswerSize, Chosen: chosen}
	return task{row: row, run: func(seed uint64) (trial, error) {
		rng := ldp.NewSeededRand(seed)
		size := par.AnswerSize
		buf := make([]byte, 0, pop.n*size)
		var err error
		for v, c := range pop.counts {
			for range c {
				if buf, err = fo.AppendRandomized(buf, v, rng); err != nil {
					return trial{}, err
				}
			}
		}
		start := time.Now()
		acc := fo.NewAccumulator()
		for i := 0; i < len(buf); i += size {
			if err := acc.Add(buf[i : i+size]); err != nil {
				return trial{}, err
			}
		}
		est := ldp.EstimateCounts(fo, acc)
		dec := time.Since(start)
		return trial{sq: sqErr(ldp.Values(est), pop.counts), decode: dec}, nil
	}}
}

func sqErr[T int | float64](est []float64, truth []T) float64 {
	var s float64
	for v, e := range est {
		x := e - float64(truth[v])
		s += x * x
	}
	return s / float64(len(est))
}

func bloomTask(b *bloom, pop *population) task {
	row := Result{Mechanism: "rappor-bloom", Kind: "baseline", Epsilon: b.epsilon, D: b.d, N: pop.n, ReportBytes: b.answerSize()}
	// The theory depends only on the design and the cohort sizes, not the
	// noise: take it from a decoder fed the true bits' cohort sizes.
	dec := b.newDecoder()
	for _, c := range pop.counts {
		for j := range c {
			dec.n[j%b.cohorts]++
		}
	}
	if _, variance, err := dec.estimate(); err == nil {
		var s float64
		for _, v := range variance {
			s += v
		}
		row.TheoryVariance = s / float64(b.d)
	}
	return task{row: row, run: func(seed uint64) (trial, error) {
		rng := ldp.NewSeededRand(seed)
		size := b.answerSize()
		buf := make([]byte, 0, pop.n*size)
		for v, c := range pop.counts {
			for j := range c {
				buf = b.appendRandomized(buf, v, j%b.cohorts, rng)
			}
		}
		start := time.Now()
		dec := b.newDecoder()
		for i := 0; i < len(buf); i += size {
			if err := dec.add(buf[i : i+size]); err != nil {
				return trial{}, err
			}
		}
		est, _, err := dec.estimate()
		if err != nil {
			return trial{}, err
		}
		d := time.Since(start)
		return trial{sq: sqErr(est, pop.counts), decode: d}, nil
	}}
}

func setTask(s ldp.SetSampler, pop *population) task {
	par := s.Oracle().Params()
	var theory float64
	for _, h := range pop.setHits {
		theory += s.CountVariance(pop.n, h)
	}
	row := Result{Mechanism: fmt.Sprintf("ps%d+%v", s.L(), par.Mechanism), Kind: "set", Epsilon: par.Epsilon,
		D: len(pop.setHits), N: pop.n, TheoryVariance: theory / float64(len(pop.setHits)), ReportBytes: par.AnswerSize, Chosen: true}
	return task{row: row, run: func(seed uint64) (trial, error) {
		rng := ldp.NewSeededRand(seed)
		size := par.AnswerSize
		buf := make([]byte, 0, pop.n*size)
		set := make([]int, 0, pop.l)
		var err error
		for _, s32 := range pop.sets {
			set = set[:0]
			for _, v := range s32 {
				set = append(set, int(v))
			}
			if buf, err = s.AppendRandomized(buf, set, rng); err != nil {
				return trial{}, err
			}
		}
		start := time.Now()
		acc := s.Oracle().NewAccumulator()
		for i := 0; i < len(buf); i += size {
			if err := acc.Add(buf[i : i+size]); err != nil {
				return trial{}, err
			}
		}
		est := s.Estimate(acc)
		dec := time.Since(start)
		return trial{sq: sqErr(ldp.Values(est), pop.setHits), decode: dec}, nil
	}}
}

func meanTask(m ldp.MeanMechanism, pop *population, groups int, chosen bool) task {
	par := m.Params()
	var theory float64
	for _, x := range pop.values {
		theory += m.Variance(x)
	}
	n := float64(pop.n)
	row := Result{Mechanism: par.Mechanism.String(), Kind: "mean", Epsilon: par.Epsilon, D: 1, N: pop.n,
		TheoryVariance: theory / (n * n), ReportBytes: par.AnswerSize, Chosen: chosen}
	return task{row: row, run: func(seed uint64) (trial, error) {
		rng := ldp.NewSeededRand(seed)
		size := par.AnswerSize
		buf := make([]byte, 0, pop.n*size)
		var err error
		for _, x := range pop.values {
			if buf, err = m.AppendRandomized(buf, x, rng); err != nil {
				return trial{}, err
			}
		}
		start := time.Now()
		sq, err := groupedMeanError(pop, buf, size, groups, n, func() *ldp.MeanAccumulator { return ldp.NewMeanAccumulator(m) })
		if err != nil {
			return trial{}, err
		}
		return trial{sq: sq, decode: time.Since(start)}, nil
	}}
}

// groupedMeanError decodes buf (size bytes per device of pop) in groups
// contiguous groups, each with a fresh accumulator, and returns the
// population-weighted squared error of the groups' means against their
// true means (n is the population size as a float).
func groupedMeanError(pop *population, buf []byte, size, groups int, n float64, newAcc func() *ldp.MeanAccumulator) (float64, error) {
	var sq float64
	for g := range groups {
		lo, hi := g*pop.n/groups, (g+1)*pop.n/groups
		acc := newAcc()
		var truth float64
		for i := lo; i < hi; i++ {
			if err := acc.Add(buf[i*size : (i+1)*size]); err != nil {
				return 0, err
			}
			truth += pop.values[i]
		}
		w := float64(hi-lo) / n
		e := acc.Estimate().Value - truth/float64(hi-lo)
		sq += w * w * e * e
	}
	return sq, nil
}
