// Package prio3 runs the device side of `wisp bench prio3`: the 95%
// interval half-width of a segment estimate at one ε and population size,
// two-aggregator Prio3 with central noise against the best local-DP
// mechanism, from the exact variances, with a simulation check of the
// exact figures through the code that produces them; and what one report
// costs a device, and its size, per instance.
package prio3

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"text/tabwriter"
	"time"

	"github.com/wisp-project/wisp/internal/dpnoise"
	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/prio"
)

// Options are a run's settings.
type Options struct {
	N       int     // devices
	Epsilon float64 // ε per release (prio3) or per report (LDP)
	// Share is the segment's share of the devices (the true count is
	// Share·N); LDP variances depend on it, Prio3's do not.
	Share float64
	D     int // categories of the one-of-d and top-k rows
	// Releases is how many noised releases check each prio3 row;
	// Populations how many simulated populations of N devices check the
	// randomized-response row (0 skips a check).
	Releases, Populations int
	Seed                  uint64
	// CostTime is how long each device-cost row runs (0 skips them).
	CostTime time.Duration
	// Plot, if set, is where to write a PNG of the segment count's 95%
	// half-width against n (PlotPNG).
	Plot string
}

// DefaultOptions are the figures: ε = 1, 10⁶ devices, a segment
// of 10%, the 497 Interest categories.
func DefaultOptions() Options {
	return Options{N: 1_000_000, Epsilon: 1, Share: 0.1, D: 497, Releases: 20_000, Populations: 20, Seed: 1,
		CostTime: time.Second}
}

// Result is one row: one question answered in one mode.
type Result struct {
	Name      string  `json:"name"`
	Mode      string  `json:"mode"`      // "prio3" or "ldp"
	Mechanism string  `json:"mechanism"` // the VDAF or the LDP mechanism (and its layers)
	N         int     `json:"n"`
	Epsilon   float64 `json:"epsilon"`
	// Unit is what the estimate counts: "devices" for a count, "score"
	// for a mean in [0, 1].
	Unit string `json:"unit"`
	// Variance is the estimate's exact variance. CIHalfWidth is the 95%
	// interval's half-width: for LDP 1.96·√Variance (the estimate is a
	// sum of n independent reports, normal to a good approximation); for
	// prio3 the exact quantile of the two aggregators' discrete noise
	// (prio.Params.NoiseHalfWidth), since 1.96·√Variance — NormalHalfWidth
	// — undercovers it.
	Variance        float64 `json:"variance"`
	CIHalfWidth     float64 `json:"ci_half_width"`
	NormalHalfWidth float64 `json:"normal_half_width"`
	// SimulatedSD and Coverage (the share of simulated estimates within
	// ±CIHalfWidth of the truth) over Trials, when the row was simulated
	// (for prio3 a trial is one coordinate of one release).
	SimulatedSD float64 `json:"simulated_sd,omitempty"`
	Coverage    float64 `json:"coverage,omitempty"`
	Trials      int     `json:"trials,omitempty"`
	// SecondsPerReport is a device-cost row's CPU time per report,
	// WallSecondsPerReport its elapsed time, ReportBytes the encoded
	// report's size (Trials reports measured).
	SecondsPerReport     float64 `json:"seconds_per_report,omitempty"`
	WallSecondsPerReport float64 `json:"wall_seconds_per_report,omitempty"`
	ReportBytes          int     `json:"report_bytes,omitempty"`
}

// Report is the run's rows.
type Report struct {
	Results []Result `json:"results"`
}

// z95 is the two-sided 95% normal quantile the intervals use.
const z95 = 1.959963984540054

// Run computes every row and simulates the checks.
func Run(ctx context.Context, o Options) (Report, error) {
	if o.N < 1 || !(o.Share >= 0 && o.Share <= 1) || o.D < 4 {
		return Report{}, fmt.Errorf("prio3 bench: n %d, share %v, d %d out of range", o.N, o.Share, o.D)
	}
	var rep Report
	add := func(r Result, err error) error {
		if err != nil {
			return err
		}
		r.N, r.Epsilon = o.N, o.Epsilon
		r.NormalHalfWidth = z95 * math.Sqrt(r.Variance)
		if r.CIHalfWidth == 0 {
			r.CIHalfWidth = r.NormalHalfWidth
		}
		rep.Results = append(rep.Results, r)
		return ctx.Err()
	}
	n, c := float64(o.N), math.Round(o.Share*float64(o.N))
	eps, eps1 := o.Epsilon, o.Epsilon*ldp.DefaultReportShare
	questions := []struct {
		name string
		p    prio.Params
		k    int // 0: threshold; else top_k over D
	}{
		{"segment count (threshold)", prio.ForThreshold(), 0},
		{fmt.Sprintf("one of %d categories, per category (top_k, k=1)", o.D), prio.ForTopK(o.D, 1), 1},
		{fmt.Sprintf("top 3 of %d categories, per category", o.D), prio.ForTopK(o.D, 3), 3},
	}
	for _, q := range questions {
		if err := add(o.prio3Row(q.name, q.p, 1)); err != nil {
			return Report{}, err
		}
		if q.k == 0 {
			if err := add(o.rrRow(q.name, c)); err != nil {
				return Report{}, err
			}
			if err := add(rrTwoLayerRow(q.name, n, c, eps, eps1)); err != nil {
				return Report{}, err
			}
			continue
		}
		if err := add(setRow(q.name, o.D, q.k, o.N, c, eps, 0)); err != nil {
			return Report{}, err
		}
		if err := add(setRow(q.name, o.D, q.k, o.N, c, eps, eps1)); err != nil {
			return Report{}, err
		}
	}
	mean := "mean score in [0, 1] (8 bits)"
	// A Sum's total is over values 0..255: the mean of scores is total/(255·n).
	if err := add(o.prio3Row(mean, prio.ForMean(8), 1/(255*n))); err != nil {
		return Report{}, err
	}
	m, _, err := ldp.ChooseMean(eps)
	if err != nil {
		return Report{}, err
	}
	// A score s maps to x = 2s − 1 in [−1, 1]: Var(ŝ) = Var(x̂)/4.
	err = add(Result{Name: mean, Mode: "ldp", Mechanism: m.Params().Mechanism.String() + " (worst case)", Unit: "score",
		Variance: ldp.WorstVariance(m, ldp.MeanGrid(m.Params().Mechanism)) / 4 / n}, nil)
	if err != nil {
		return Report{}, err
	}
	if o.Plot != "" {
		if err := writePlot(o.Plot, o); err != nil {
			return Report{}, err
		}
	}
	if o.CostTime == 0 {
		return rep, nil
	}
	cost, err := costRows(ctx, o)
	rep.Results = append(rep.Results, cost...)
	return rep, err
}

// prio3Row is p's release at ε — both aggregators' noise, exact — scaled
// by unit (1 for a count), checked over o.Releases releases of a zero
// aggregate through AddNoise and Unshard.
func (o Options) prio3Row(name string, p prio.Params, unit float64) (Result, error) {
	v, err := p.NoiseVariance(o.Epsilon)
	if err != nil {
		return Result{}, err
	}
	h, err := p.NoiseHalfWidth(o.Epsilon, 0.95)
	if err != nil {
		return Result{}, err
	}
	r := Result{Name: name, Mode: "prio3", Mechanism: p.VDAF.String() + ", central discrete Laplace", Unit: "devices",
		Variance: v * unit * unit, CIHalfWidth: float64(h) * unit}
	if unit != 1 {
		r.Unit = "score"
	}
	if o.Releases == 0 {
		return r, nil
	}
	half := float64(h)
	leaderSrc, helperSrc := dpnoise.SeededSource(o.Seed), dpnoise.SeededSource(o.Seed+1)
	var k, sum2, in float64
	zero, err := prio.NewAggShare(p)
	if err != nil {
		return Result{}, err
	}
	for range o.Releases {
		l, h := zero.Clone(), zero.Clone()
		if err := l.AddNoise(leaderSrc, o.Epsilon); err != nil {
			return Result{}, err
		}
		if err := h.AddNoise(helperSrc, o.Epsilon); err != nil {
			return Result{}, err
		}
		total, err := prio.Unshard(p, l, h)
		if err != nil {
			return Result{}, err
		}
		for _, x := range total { // every coordinate is one release's error
			e := float64(x)
			k++
			sum2 += e * e
			if math.Abs(e) <= half {
				in++
			}
		}
	}
	r.SimulatedSD, r.Coverage, r.Trials = math.Sqrt(sum2/k)*unit, in/k, int(k)
	return r, nil
}

// rrRow is one-layer randomized response at ε over n devices, c of them
// in the segment: the best LDP count (ldp.Choose for d = 2), checked over
// o.Populations simulated populations through ldp.RR.
func (o Options) rrRow(name string, c float64) (Result, error) {
	rr, err := ldp.NewRR(o.Epsilon)
	if err != nil {
		return Result{}, err
	}
	r := Result{Name: name, Mode: "ldp", Mechanism: "rr (one layer, the best LDP count)", Unit: "devices", Variance: rr.CountVariance(o.N)}
	if o.Populations == 0 {
		return r, nil
	}
	half := z95 * math.Sqrt(r.Variance)
	rng := rand.New(rand.NewPCG(o.Seed, 2))
	var sum2, in float64
	for range o.Populations {
		ones := 0
		for i := range o.N {
			if rr.Randomize(float64(i) < c, rng) {
				ones++
			}
		}
		e := rr.EstimateCount(o.N, ones).Value - c
		sum2 += e * e
		if math.Abs(e) <= half {
			in++
		}
	}
	k := float64(o.Populations)
	r.SimulatedSD, r.Coverage, r.Trials = math.Sqrt(sum2/k), in/k, o.Populations
	return r, nil
}

// rrTwoLayerRow is randomized response as Wisp's LDP campaigns send it:
// a permanent answer at ε∞ = eps, fresh noise at ε1 = eps1 per report
// (ldp.Longitudinal). Its count variance is the support variance of the
// composed oracle (p*, q*): ((n−c)·q*(1−q*) + c·p*(1−p*)) / (p* − q*)².
func rrTwoLayerRow(name string, n, c, eps, eps1 float64) (Result, error) {
	fo, err := ldp.NewLongitudinal(ldp.MechanismRR, eps, eps1, 2)
	if err != nil {
		return Result{}, err
	}
	p, q := fo.Support()
	return Result{Name: name, Mode: "ldp", Mechanism: fmt.Sprintf("rr (two layers, ε∞=%g ε1=%g, as deployed)", eps, eps1),
		Unit: "devices", Variance: ((n-c)*q*(1-q) + c*p*(1-p)) / ((p - q) * (p - q))}, nil
}

// setRow is padding-and-sampling over d categories and k per device with
// the least-variance frequency oracle (ldp.Choose over d+k items, or
// ldp.ChooseLongitudinal when eps1 > 0: two layers, as deployed), for a
// category held by c of n devices (SetSampler.CountVariance, exact).
func setRow(name string, d, k, n int, c, eps, eps1 float64) (Result, error) {
	var s ldp.SetSampler
	var label string
	if eps1 == 0 {
		ch, err := ldp.Choose(eps, d+k)
		if err != nil {
			return Result{}, err
		}
		if s, err = ldp.NewSetSampler(ch.Mechanism, eps, d, k); err != nil {
			return Result{}, err
		}
		label = fmt.Sprintf("%v padding-and-sampling (one layer, the best LDP)", ch.Mechanism)
	} else {
		ch, err := ldp.ChooseLongitudinal(eps, eps1, d+k)
		if err != nil {
			return Result{}, err
		}
		if s, err = ldp.NewLongitudinalSetSampler(ch.Mechanism, eps, eps1, d, k); err != nil {
			return Result{}, err
		}
		label = fmt.Sprintf("%v padding-and-sampling (two layers, ε∞=%g ε1=%g, as deployed)", ch.Mechanism, eps, eps1)
	}
	return Result{Name: name, Mode: "ldp", Mechanism: label, Unit: "devices", Variance: s.CountVariance(n, c)}, nil
}

// WriteText prints the rows as a table, with each prio3 row's gain over
// the best LDP row of its question.
func WriteText(w io.Writer, rep Report) {
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "question\tmode\tmechanism\tn\tε\t95% CI ±\tsd (exact)\tsd (simulated)\tcoverage\t")
	for _, r := range rep.Results {
		if r.SecondsPerReport > 0 {
			continue
		}
		sim, cov := "-", "-"
		if r.Trials > 0 {
			sim, cov = fmt.Sprintf("%.4g (%d)", r.SimulatedSD, r.Trials), fmt.Sprintf("%.3f", r.Coverage)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%g\t%.4g %s\t%.4g\t%s\t%s\t\n", r.Name, r.Mode, r.Mechanism, r.N, r.Epsilon,
			r.CIHalfWidth, r.Unit, math.Sqrt(r.Variance), sim, cov)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 2, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "device cost\tmode\tinstance\tCPU per report\twall per report\treport size\t")
	for _, r := range rep.Results {
		if r.SecondsPerReport > 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f µs\t%.0f µs\t%d B\t\n", r.Name, r.Mode, r.Mechanism, r.SecondsPerReport*1e6, r.WallSecondsPerReport*1e6, r.ReportBytes)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	best := map[string]float64{}
	for _, r := range rep.Results {
		if r.Mode == "ldp" && (best[r.Name] == 0 || r.CIHalfWidth < best[r.Name]) {
			best[r.Name] = r.CIHalfWidth
		}
	}
	for _, r := range rep.Results {
		if r.Mode == "prio3" && best[r.Name] > 0 {
			fmt.Fprintf(w, "%s: prio3 ±%.4g vs best LDP ±%.4g — %.0f× narrower\n", r.Name, r.CIHalfWidth, best[r.Name], best[r.Name]/r.CIHalfWidth)
		}
	}
}
