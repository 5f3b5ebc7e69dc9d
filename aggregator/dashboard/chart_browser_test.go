package dashboard_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wisp-project/wisp/aggregator/dashboard"
	"github.com/wisp-project/wisp/internal/browsertest"
)

// TestChartsInBrowser runs the page's chart and validation code in a real
// browser on fixed data and checks the SVG it draws.
func TestChartsInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	srv := httptest.NewServer(dashboard.Handler())
	defer srv.Close()
	browsertest.Run(t, ctx, "open the page", chromedp.Navigate(srv.URL+"/dashboard/"), chromedp.WaitVisible(chromedp.ID("signin")))

	type result struct {
		Bars, Suppressed, ErrorBars, Caps int
		Labels                            []string
		BarHeights                        []float64
		ErrTop, ErrBottom                 []float64
		Ticks                             []float64
		TrendSeries, TrendLines, Dots     int
	}
	const script = `(() => {
		const pts = [
			{label: 'e1', estimate: 100, low: 80, high: 120},
			{label: 'e2', suppressed: true},
			{label: 'e3', estimate: 200, low: 150, high: 250},
			{label: 'e4', estimate: -10, low: -40, high: 20},
		];
		const svg = Wisp.barChart(pts, {width: 400, height: 300});
		document.body.append(svg);
		const q = (sel) => [...svg.querySelectorAll(sel)];
		const trend = Wisp.trendChart([
			{name: 'a', points: [{epoch: 1, estimate: 10, low: 5, high: 15}, {epoch: 2, estimate: 12, low: 6, high: 18}, {epoch: 3, suppressed: true}]},
			{name: 'b', points: [{epoch: 2, estimate: 30, low: 20, high: 40}]},
		]);
		return {
			Bars: q('rect.bar:not(.suppressed)').length,
			Suppressed: q('rect.bar.suppressed').length,
			ErrorBars: q('g.errorbar').length,
			Caps: q('g.errorbar line').length,
			Labels: q('g.point > text.label').map(e => e.textContent),
			BarHeights: q('rect.bar:not(.suppressed)').map(e => +e.getAttribute('height')),
			ErrTop: q('g.errorbar line:first-child').map(e => +e.getAttribute('y2')),
			ErrBottom: q('g.errorbar line:first-child').map(e => +e.getAttribute('y1')),
			Ticks: Wisp.niceTicks(250),
			TrendSeries: trend.querySelectorAll('g.series').length,
			TrendLines: trend.querySelectorAll('path.line').length,
			Dots: trend.querySelectorAll('circle').length,
		};
	})()`
	got := browsertest.Eval[result](t, ctx, script)

	if got.Bars != 3 || got.Suppressed != 1 || got.ErrorBars != 3 || got.Caps != 9 {
		t.Errorf("bars %d, suppressed %d, error bars %d (%d lines); want 3, 1, 3 (9)", got.Bars, got.Suppressed, got.ErrorBars, got.Caps)
	}
	if want := []string{"e1", "e2", "e3", "e4"}; len(got.Labels) != 4 || got.Labels[1] != want[1] || got.Labels[3] != want[3] {
		t.Errorf("labels %q, want %q", got.Labels, want)
	}
	// Bar heights are proportional to the estimate; a negative estimate
	// draws no bar but keeps its (clipped) interval.
	if len(got.BarHeights) == 3 {
		if h1, h3 := got.BarHeights[0], got.BarHeights[1]; h1 <= 0 || h3 < 1.99*h1 || h3 > 2.01*h1 {
			t.Errorf("bar heights %v: want the 200 bar twice the 100 bar", got.BarHeights)
		}
		if got.BarHeights[2] != 0 {
			t.Errorf("negative estimate drew a bar of height %v", got.BarHeights[2])
		}
	}
	for i := range got.ErrTop {
		if got.ErrTop[i] >= got.ErrBottom[i] {
			t.Errorf("error bar %d: top y %v not above bottom y %v", i, got.ErrTop[i], got.ErrBottom[i])
		}
	}
	if want := []float64{0, 50, 100, 150, 200, 250}; len(got.Ticks) != len(want) || got.Ticks[5] != 250 {
		t.Errorf("niceTicks(250) = %v, want %v", got.Ticks, want)
	}
	if got.TrendSeries != 2 || got.TrendLines != 1 || got.Dots != 3 {
		t.Errorf("trend: %d series, %d lines, %d dots; want 2, 1, 3", got.TrendSeries, got.TrendLines, got.Dots)
	}
}

// TestValidationInBrowser checks the campaign form's client-side checks.
func TestValidationInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	srv := httptest.NewServer(dashboard.Handler())
	defer srv.Close()
	browsertest.Run(t, ctx, "open the page", chromedp.Navigate(srv.URL+"/dashboard/"), chromedp.WaitVisible(chromedp.ID("signin")))
	good := browsertest.Eval[[]string](t, ctx, `Object.keys(Wisp.validateCampaign({id: 'runners', name: 'R', question: {type: 'threshold', category: 410, min_score: 0.6}, epsilon: 1, epoch_seconds: 86400, k: 100}))`)
	bad := browsertest.Eval[[]string](t, ctx, `Object.keys(Wisp.validateCampaign({id: 'Bad Id', name: '', question: {type: 'threshold', min_score: 2}, epsilon: 0, epoch_seconds: 10, k: 0.5})).sort()`)
	policy := browsertest.Eval[[]string](t, ctx, `Object.keys(Wisp.validateCampaign({id: 'ok', name: 'R', question: {category: 1, min_score: 0.5}, epsilon: 3, epoch_seconds: 86400, k: 10}, {max_epsilon: 2, min_k: 50})).sort()`)
	server := browsertest.Eval[[]string](t, ctx, `Object.keys(Wisp.serverFieldErrors({title: 'invalid campaign', detail: 'campaign: invalid: campaign "x": epsilon 9 is not in (0, 8]'}))`)
	conflict := browsertest.Eval[[]string](t, ctx, `Object.keys(Wisp.serverFieldErrors({title: 'policy', detail: 'aggregator: k 10 is below the operator\'s minimum 50 for campaign "epoch-k"'}))`)
	if len(conflict) != 1 || conflict[0] != "k" {
		t.Errorf("policy problem mapped to %v, want [k]", conflict)
	}
	type metrics struct {
		Accepted float64
		Rejects  map[string]float64
	}
	m := browsertest.Eval[metrics](t, ctx, "Wisp.parseMetrics(`# HELP x\nwisp_ingest_reports_accepted_total 12\nwisp_ingest_reports_rejected_total{reason=\"replay\"} 3\nwisp_ingest_reports_rejected_total{reason=\"epoch_too_late\"} 1\n`)")
	if m.Accepted != 12 || m.Rejects["replay"] != 3 || m.Rejects["epoch_too_late"] != 1 {
		t.Errorf("parseMetrics = %+v", m)
	}
	if sup := browsertest.Eval[bool](t, ctx, `Wisp.segmentPoint({epoch: 1, reports: 500, suppressed: false, mean: {mean: 0.4, ci_low: 0.3, ci_high: 0.5}}, 'e').suppressed`); sup {
		t.Error("a released mean result is drawn as suppressed")
	}
	if len(good) != 0 {
		t.Errorf("a valid campaign got errors on %v", good)
	}
	if want := []string{"category", "epoch_seconds", "epsilon", "id", "k", "min_score", "name"}; len(bad) != len(want) {
		t.Errorf("invalid campaign: errors on %v, want %v", bad, want)
	}
	if len(policy) != 2 || policy[0] != "epsilon" || policy[1] != "k" {
		t.Errorf("policy: errors on %v, want [epsilon k]", policy)
	}
	// Per question type: top_k needs 2+ categories (or none: every Interest
	// category) and a top k within them; mean needs one category, no score.
	base := `{id: 'q', name: 'Q', epsilon: 1, epoch_seconds: 86400, k: 100, question: `
	for q, want := range map[string]string{
		`{type: 'top_k', categories: [410, 625], k: 1}`: "",
		`{type: 'top_k', categories: [], k: 32}`:        "",
		`{type: 'top_k', categories: [410], k: 1}`:      "category",
		`{type: 'top_k', categories: [410, 625], k: 3}`: "top",
		`{type: 'top_k', categories: [], k: 33}`:        "top",
		`{type: 'mean', category: 410}`:                 "",
		`{type: 'mean'}`:                                "category",
	} {
		got := browsertest.Eval[[]string](t, ctx, `Object.keys(Wisp.validateCampaign(`+base+q+`}))`)
		if strings.Join(got, ",") != want {
			t.Errorf("question %s: errors on %v, want [%s]", q, got, want)
		}
	}
	if top := browsertest.Eval[[]string](t, ctx, `Object.keys(Wisp.serverFieldErrors({title: 'invalid campaign', detail: 'campaign: top_k k 40 is not in [1, min(32, 497 categories)]'}))`); len(top) != 1 || top[0] != "top" {
		t.Errorf("top_k problem mapped to %v, want [top]", top)
	}
	if len(server) != 1 || server[0] != "epsilon" {
		t.Errorf("server problem mapped to %v, want [epsilon]", server)
	}
}
