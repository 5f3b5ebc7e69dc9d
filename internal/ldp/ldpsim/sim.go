package ldpsim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/wisp-project/wisp/internal/ldp"
)

// Config sets the simulated populations.
type Config struct {
	N        int       `json:"n"`        // devices per population
	D        int       `json:"d"`        // items (497 = the Interest subtree)
	L        int       `json:"set_size"` // items per device for set-valued answers
	Epsilons []float64 `json:"epsilons"`
	Repeats  int       `json:"repeats"` // independent randomizations of the one population per row
	Zipf     float64   `json:"zipf_s"`  // prevalence ∝ 1/rank^s
	Seed     uint64    `json:"seed"`
	// MeanGroups splits each population into this many equal groups for the
	// mean mechanisms, whose error is one number per population: the MSE at
	// N is estimated as Σ(group error)²/groups², unbiased because groups are
	// independent and the full mean is the mean of the group means.
	MeanGroups int `json:"mean_groups"`
	Workers    int `json:"workers"`
	// Progress, if set, is called after each finished population.
	Progress func(done, total int) `json:"-"`
}

// DefaultConfig is the full benchmark: 10⁶ devices, d = 497.
func DefaultConfig() Config {
	return Config{N: 1_000_000, D: 497, L: 3, Epsilons: []float64{0.5, 1, 2, 4},
		Repeats: 12, Zipf: 1, Seed: 2026, MeanGroups: 1000, Workers: runtime.GOMAXPROCS(0)}
}

// Result is one row: a mechanism at one ε.
type Result struct {
	Mechanism      string  `json:"mechanism"`
	Kind           string  `json:"kind"` // frequency, baseline, set, mean
	Epsilon        float64 `json:"epsilon"`
	D              int     `json:"d"`
	N              int     `json:"n"`
	Repeats        int     `json:"repeats"`
	MSE            float64 `json:"mse"`             // per item (frequency, set) or of the mean
	TheoryVariance float64 `json:"theory_variance"` // the exact formula, same units
	RatioToTheory  float64 `json:"ratio_to_theory"`
	// RatioSE is the ratio's standard error from the repeats.
	RatioSE       float64 `json:"ratio_se"`
	DecodeSeconds float64 `json:"decode_seconds"` // median over repeats, n answers
	ReportBytes   int     `json:"report_bytes"`
	Chosen        bool    `json:"chosen"` // the automatic choice for this ε and d
}

// ChoiceCheck compares ldp.Choose (or ChooseMean) with the measurement.
type ChoiceCheck struct {
	Kind         string  `json:"kind"`
	Epsilon      float64 `json:"epsilon"`
	Chosen       string  `json:"chosen"`
	BestMeasured string  `json:"best_measured"`
	// WithinNoise: the choice's MSE is within 3 standard errors of the best
	// measured one; Strict: it is the best measured one.
	Strict      bool   `json:"strict"`
	WithinNoise bool   `json:"within_noise"`
	Reason      string `json:"reason"`
	// Rule is the chooser's own explanation (ldp.Choice.Reason or
	// ChooseMean's), as a campaign config would state it.
	Rule string `json:"rule"`
}

// Report is the benchmark's output.
type Report struct {
	Config  Config        `json:"config"`
	Results []Result      `json:"results"`
	Choices []ChoiceCheck `json:"choices"`
	Seconds float64       `json:"seconds"`
}

// task is one row to measure: run(seed) does one population.
type task struct {
	row Result
	run func(seed uint64) (trial, error)
}

// trial is one population's outcome.
type trial struct {
	sq     float64 // Σ squared error (over items, or per group already scaled)
	decode time.Duration
}

// Run measures every row.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.N < 10 || cfg.D < 2 || cfg.Repeats < 2 || cfg.L < 1 || cfg.MeanGroups < 1 {
		return Report{}, errors.New("ldpsim: config needs n ≥ 10, d ≥ 2, repeats ≥ 2, set size ≥ 1, mean groups ≥ 1")
	}
	// Keep at least 10 devices per mean group, so small --n runs work.
	cfg.MeanGroups = max(min(cfg.MeanGroups, cfg.N/10), 1)
	start := time.Now()
	pop := newPopulation(cfg.N, cfg.D, cfg.L, cfg.Zipf, cfg.Seed)
	var tasks []task
	for _, eps := range cfg.Epsilons {
		ts, err := tasksFor(cfg, pop, eps)
		if err != nil {
			return Report{}, err
		}
		tasks = append(tasks, ts...)
	}
	out, err := runTasks(ctx, cfg, tasks)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Config: cfg}
	for i, t := range tasks {
		rep.Results = append(rep.Results, summarize(t.row, out[i]))
	}
	rep.Choices = checkChoices(rep.Results)
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// runTasks runs every task's repeats on cfg.Workers goroutines.
func runTasks(ctx context.Context, cfg Config, tasks []task) ([][]trial, error) {
	type job struct{ t, r int }
	jobs := make(chan job)
	out := make([][]trial, len(tasks))
	for i := range out {
		out[i] = make([]trial, cfg.Repeats)
	}
	var (
		mu       sync.Mutex
		firstErr error
		done     int
		wg       sync.WaitGroup
	)
	for range max(cfg.Workers, 1) {
		wg.Go(func() {
			for j := range jobs {
				tr, err := tasks[j.t].run(seedFor(cfg.Seed, j.t, j.r))
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				out[j.t][j.r] = tr
				done++
				if cfg.Progress != nil {
					cfg.Progress(done, len(tasks)*cfg.Repeats)
				}
				mu.Unlock()
			}
		})
	}
feed:
	for t := range tasks {
		for r := range cfg.Repeats {
			select {
			case jobs <- job{t, r}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// summarize turns the repeats into a row. The per-repeat MSEs are
// independent, so their spread gives the ratio's standard error.
func summarize(row Result, trials []trial) Result {
	per := make([]float64, len(trials))
	decode := make([]float64, len(trials))
	var sum float64
	for i, tr := range trials {
		per[i] = tr.sq
		sum += tr.sq
		decode[i] = tr.decode.Seconds()
	}
	r := float64(len(trials))
	row.Repeats = len(trials)
	row.MSE = sum / r
	var ss float64
	for _, x := range per {
		ss += (x - row.MSE) * (x - row.MSE)
	}
	row.RatioToTheory = row.MSE / row.TheoryVariance
	row.RatioSE = math.Sqrt(ss/(r-1)/r) / row.TheoryVariance
	sort.Float64s(decode)
	row.DecodeSeconds = decode[len(decode)/2]
	return row
}

// checkChoices compares, per kind and ε, the chosen row with the best
// measured one.
func checkChoices(results []Result) []ChoiceCheck {
	var out []ChoiceCheck
	for _, kind := range []string{"frequency", "mean"} {
		byEps := map[float64][]Result{}
		var order []float64
		for _, r := range results {
			if r.Kind == kind {
				if _, ok := byEps[r.Epsilon]; !ok {
					order = append(order, r.Epsilon)
				}
				byEps[r.Epsilon] = append(byEps[r.Epsilon], r)
			}
		}
		for _, eps := range order {
			rows := byEps[eps]
			best, chosen := rows[0], Result{}
			for _, r := range rows {
				if r.MSE < best.MSE {
					best = r
				}
				if r.Chosen {
					chosen = r
				}
			}
			se := math.Hypot(chosen.RatioSE*chosen.TheoryVariance, best.RatioSE*best.TheoryVariance)
			var rule string
			if kind == "frequency" {
				if c, err := ldp.Choose(eps, chosen.D); err == nil {
					rule = c.Reason
				}
			} else if _, why, err := ldp.ChooseMean(eps); err == nil {
				rule = why
			}
			out = append(out, ChoiceCheck{
				Kind: kind, Epsilon: eps, Chosen: chosen.Mechanism, BestMeasured: best.Mechanism,
				Strict:      chosen.Mechanism == best.Mechanism,
				WithinNoise: chosen.MSE <= best.MSE+3*se,
				Reason:      fmt.Sprintf("chosen MSE %.4g, best measured %.4g (±%.2g)", chosen.MSE, best.MSE, se),
				Rule:        rule,
			})
		}
	}
	return out
}
