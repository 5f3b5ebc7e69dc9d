package dashboard_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/wisp-project/wisp/aggregator/dashboard"
	"github.com/wisp-project/wisp/internal/browsertest"
)

// openFixture opens the dashboard, served alone (no API behind it), so a
// test can call the page's own drawing code on fixed data. The taxonomy is
// loaded as the page loads it.
func openFixture(t *testing.T, ctx context.Context) {
	t.Helper()
	srv := httptest.NewServer(dashboard.Handler())
	t.Cleanup(srv.Close)
	browsertest.Run(t, ctx, "open the page", chromedp.Navigate(srv.URL+"/dashboard/"), chromedp.WaitVisible(chromedp.ID("signin")))
}

// TestTopKTableInBrowser: a top k over every Interest category reads as a
// table — largest first, exact values and 95% intervals, full names, the
// Interest root named rather than "#206" — showing the top rows with a
// "Show all" for the rest, and no bar per category.
func TestTopKTableInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	openFixture(t, ctx)
	type row struct {
		Name, Est, CI string
		Hidden        bool
	}
	type result struct {
		Rows                    []row
		Estimates               []float64
		Charts, Ellipses        int
		Text, Button, AfterShow string
		VisibleAfter            int
		Want206, WantFitness    string
	}
	got := browsertest.Eval[result](t, ctx, `(async () => {
		const tax = await (await fetch('/dashboard/taxonomy.json')).json();
		// Every Interest category, as the server sends them: the root 206
		// included, with no category_name for some.
		const cats = [{category: 206, estimate: 50, ci_low: 10, ci_high: 90}].concat(tax.map((c, i) => ({
			category: c.id, category_name: i % 3 ? c.name : undefined,
			estimate: (i * 7919) % 5000 - 20 + 0.4375, ci_low: (i * 7919) % 5000 - 400.25, ci_high: (i * 7919) % 5000 + 360.75})));
		const sg = {campaign: 'x', epoch: 1, suppressed: false, epoch_start: '2026-11-30T00:00:00Z', epoch_end: '2026-12-07T00:00:00Z',
			top_k: {k: 3, categories: cats}};
		const el = Wisp.topKView(sg, tax);
		document.getElementById('main').replaceChildren(Object.assign(document.createElement('h1'), {textContent: 'Top interests'}), el);
		const rows = [...el.querySelectorAll('#top-k-table tbody tr')];
		const out = {
			Rows: rows.map(r => ({Name: r.querySelector('th').textContent, Est: r.querySelector('td.est').textContent, CI: r.querySelector('td.ci').textContent, Hidden: r.hidden})),
			Estimates: rows.map(r => cats.find(c => c.category === +r.dataset.category).estimate),
			Charts: el.querySelectorAll('svg.chart').length,
			Ellipses: rows.filter(r => r.textContent.includes('…')).length,
			Text: el.textContent,
			Button: (document.getElementById('top-k-all') || {}).textContent || '',
			Want206: (el.querySelector('tr[data-category="206"] th') || {}).textContent || '',
			WantFitness: (el.querySelector('tr[data-category="225"] th') || {}).textContent || '',
		};
		document.getElementById('top-k-all').click();
		out.VisibleAfter = rows.filter(r => !r.hidden).length;
		out.AfterShow = document.getElementById('top-k-all').textContent;
		return out;
	})()`)
	if len(got.Rows) != 497 {
		t.Fatalf("%d rows, want 497", len(got.Rows))
	}
	for i := 1; i < len(got.Estimates); i++ {
		if got.Estimates[i] > got.Estimates[i-1] {
			t.Fatalf("rows not sorted by estimate, largest first: row %d (%v) above row %d (%v)", i, got.Estimates[i-1], i+1, got.Estimates[i])
		}
	}
	visible := 0
	for _, r := range got.Rows {
		if !r.Hidden {
			visible++
		}
	}
	if visible != 10 {
		t.Errorf("%d rows shown before Show all, want the top 10", visible)
	}
	if got.Button != "Show all 497 categories" || got.VisibleAfter != 497 || !strings.Contains(got.AfterShow, "top 10") {
		t.Errorf("show all: button %q, %d rows visible after, then %q", got.Button, got.VisibleAfter, got.AfterShow)
	}
	ci := regexp.MustCompile(`^-?[\d,]+ – [\d,]+$`)
	for _, r := range got.Rows[:10] {
		if r.Est == "" || r.Est == "–" || !ci.MatchString(r.CI) {
			t.Errorf("row %q: estimate %q, interval %q; want numbers", r.Name, r.Est, r.CI)
		}
	}
	if got.Charts != 0 {
		t.Errorf("%d bar charts drawn for 497 categories", got.Charts)
	}
	if got.Ellipses != 0 || strings.Contains(got.Text, "#206") {
		t.Errorf("%d names cut with …; #206 unresolved: %v", got.Ellipses, strings.Contains(got.Text, "#206"))
	}
	if !strings.HasPrefix(got.Want206, "Interest") {
		t.Errorf("category 206 (the Interest root) named %q", got.Want206)
	}
	if got.WantFitness == "" || strings.Contains(got.WantFitness, "…") {
		t.Errorf("category 225 named %q", got.WantFitness)
	}
	label := browsertest.Eval[string](t, ctx, `(async () => {
		const tax = await (await fetch('/dashboard/taxonomy.json')).json();
		return Wisp.categoryLabel({question: {type: 'top_k', categories: [206].concat(tax.map(c => c.id))}});
	})()`)
	if len(label) > 120 || strings.Contains(label, "#206") {
		t.Errorf("campaign's category label for every Interest category: %q", label)
	}
	browsertest.Axe(t, ctx, "top-k table")
}

// TestDatesAndChartsInBrowser: epochs read as dates in the viewer's time
// zone, the trend axis says dates, charts have y-axis titles, a suppressed
// epoch is a full-height hatched band saying "below k" (not a 25% bar),
// and a negative estimate is clamped with a note.
func TestDatesAndChartsInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	browsertest.Run(t, ctx, "time zone", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"})
		return err
	}))
	openFixture(t, ctx)
	type result struct {
		Week, Hour, Tick string
		XTicks           []string
		BarTitle         string
		TrendTitle       string
		SupHeight, Plot  float64
		SupLabel         string
		Negative         string
	}
	got := browsertest.Eval[result](t, ctx, `(() => {
		// New York midnight to midnight: 05:00 UTC.
		const week = {epoch: 2969, epoch_start: '2026-11-30T05:00:00Z', epoch_end: '2026-12-07T05:00:00Z'};
		const hour = {epoch: 498921, epoch_start: '2026-11-30T19:00:00Z', epoch_end: '2026-11-30T20:00:00Z'};
		const pts = [
			Wisp.segmentPoint(Object.assign({estimate: 100, ci_low: 80, ci_high: 120, reports: 500, epsilon: 1}, week), 'a'),
			{label: 'b', suppressed: true},
			{label: 'c', estimate: -10, low: -40, high: 20},
		];
		const bars = Wisp.barChart(pts, {width: 400, height: 280});
		const series = [{name: 's', points: [0, 1, 2].map(i => Wisp.segmentPoint({epoch: 498921 + i, estimate: 10 + i, ci_low: 5, ci_high: 20 + i, reports: 200, epsilon: 1,
			epoch_start: new Date(Date.UTC(2026, 10, 30, 19 + i)).toISOString(), epoch_end: new Date(Date.UTC(2026, 10, 30, 20 + i)).toISOString()}, 'x'))}];
		const trend = Wisp.trendChart(series, {width: 600});
		const sup = bars.querySelector('rect.bar.suppressed');
		return {
			Week: Wisp.epochRange(week), Hour: Wisp.epochRange(hour), Tick: Wisp.epochTick(week),
			XTicks: [...trend.querySelectorAll('text.xtick')].map(e => e.textContent),
			BarTitle: (bars.querySelector('text.ytitle') || {}).textContent || '',
			TrendTitle: (trend.querySelector('text.ytitle') || {}).textContent || '',
			SupHeight: +sup.getAttribute('height'), Plot: 280 - 16 - 48,
			SupLabel: (bars.querySelector('text.label-suppressed') || {}).textContent || '',
			Negative: (bars.querySelector('text.note-negative') || {}).textContent || '',
		};
	})()`)
	if got.Week != "Mon 30 Nov – Sun 6 Dec" {
		t.Errorf("a week's epoch reads %q, want Mon 30 Nov – Sun 6 Dec", got.Week)
	}
	if got.Hour != "Mon 30 Nov 14:00–15:00" {
		t.Errorf("an hour's epoch reads %q, want Mon 30 Nov 14:00–15:00 (New York)", got.Hour)
	}
	if got.Tick != "30 Nov" {
		t.Errorf("axis label %q, want 30 Nov", got.Tick)
	}
	epochNumber := regexp.MustCompile(`^\d{4,}$`)
	if len(got.XTicks) == 0 {
		t.Error("the trend chart has no x-axis labels")
	}
	for _, x := range got.XTicks {
		if epochNumber.MatchString(x) || !strings.Contains(x, "Nov") {
			t.Errorf("trend axis label %q, want a date", x)
		}
	}
	if got.BarTitle == "" || got.TrendTitle == "" {
		t.Errorf("y-axis titles: bars %q, trend %q", got.BarTitle, got.TrendTitle)
	}
	if got.SupHeight != got.Plot || got.SupLabel != "below k" {
		t.Errorf("suppressed placeholder: height %v of %v, label %q; want the full height and \"below k\"", got.SupHeight, got.Plot, got.SupLabel)
	}
	if !strings.Contains(got.Negative, "-10") || !strings.Contains(got.Negative, "0") {
		t.Errorf("negative estimate note %q", got.Negative)
	}
}

// stubAPI is a minimal stand-in for the aggregator's API beside the real
// dashboard handler: one marketer, no campaigns. While down is set every
// API request has its connection dropped, as an unreachable aggregator.
type stubAPI struct {
	down atomic.Bool
	url  string
}

func startStub(t *testing.T) *stubAPI {
	t.Helper()
	st := &stubAPI{}
	mux := http.NewServeMux()
	mux.Handle(dashboard.Prefix, dashboard.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if st.down.Load() {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.(*net.TCPConn).SetLinger(0)
					c.Close()
					return
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/whoami":
			w.Write([]byte(`{"role": "marketer", "tenant": "acme"}`))
		case "/v1/campaigns":
			if r.Method == http.MethodPost {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusConflict)
				w.Write([]byte(`{"title": "conflict", "status": 409, "detail": "store: add_campaign: store: already exists: campaign \"runners\""}`))
				return
			}
			w.Write([]byte(`{"campaigns": []}`))
		case "/v1/segments":
			w.Write([]byte(`{"segments": []}`))
		case "/v1/policy":
			w.Write([]byte(`{"max_epsilon": 8, "min_epoch_seconds": 3600, "max_epoch_seconds": 7776000, "min_k": 50}`))
		default:
			http.NotFound(w, r)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	st.url = srv.URL
	return st
}

// TestErrorsAndForecastInBrowser: an unreachable aggregator says so in
// words with a Retry that works; internal error chains never reach the
// page; reject reasons read as words; the form forecasts the precision.
func TestErrorsAndForecastInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	st := startStub(t)
	browsertest.Run(t, ctx, "open", chromedp.Navigate(st.url+"/dashboard/"), chromedp.WaitVisible(chromedp.ID("signin")))
	browsertest.Axe(t, ctx, "sign-in page")

	// Signed in, then the aggregator goes away.
	st.down.Store(true)
	browsertest.Run(t, ctx, "unreachable",
		chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem('wisp.token', 'wisp_test'); location.hash = '#/x'; null`),
		chromedp.WaitVisible(chromedp.ID("retry")))
	msg := browsertest.Eval[string](t, ctx, `document.getElementById('error-message').textContent`)
	if !strings.Contains(msg, "Can't reach the aggregator") || strings.Contains(msg, "Failed to fetch") {
		t.Errorf("unreachable aggregator: %q", msg)
	}
	browsertest.Axe(t, ctx, "error page")
	st.down.Store(false)
	browsertest.Run(t, ctx, "retry", chromedp.Click(chromedp.ID("retry")), chromedp.WaitVisible(chromedp.ID("no-campaigns")))

	for _, c := range []struct{ expr, want string }{
		{`Wisp.plainMessage(new Wisp.APIError(409, {detail: 'store: add_campaign: store: already exists: campaign "runners"'}))`, "already exists"},
		{`Wisp.plainMessage(new Wisp.APIError(500, {detail: 'store: sqlite: database is locked'}))`, "Retry"},
		{`Wisp.plainMessage(new TypeError('Failed to fetch'))`, "Can't reach the aggregator"},
		{`Wisp.reasonText('epoch_too_late')`, "epoch already closed"},
		{`Wisp.reasonText('decrypt_failure')`, "could not be decrypted"},
	} {
		got := browsertest.Eval[string](t, ctx, c.expr)
		if !strings.Contains(got, c.want) || strings.Contains(got, "store:") || strings.Contains(got, "_") {
			t.Errorf("%s = %q, want words with %q", c.expr, got, c.want)
		}
	}

	// The form: the forecast follows ε and the expected devices.
	browsertest.Run(t, ctx, "form", chromedp.Navigate(st.url+"/dashboard/#/new"), chromedp.WaitVisible(chromedp.ID("forecast")))
	fc := browsertest.Eval[string](t, ctx, `document.getElementById('forecast').textContent`)
	// Var = n·e^ε/(e^ε−1)²: n 100,000, ε 1 → 1.96·√92,067 ≈ 595.
	if !strings.Contains(fc, "ε 1") || !strings.Contains(fc, "100,000") || !strings.Contains(fc, "±595 devices") {
		t.Errorf("forecast %q, want ±595 devices at ε 1 and ~100,000", fc)
	}
	browsertest.Run(t, ctx, "ε 2", setValue("f-epsilon", "2"), chromedp.Poll[chromedp.Void](`document.getElementById('forecast').textContent.includes('ε 2')`, chromedp.WithPollingTimeout(5*time.Second)))
	if fc := browsertest.Eval[string](t, ctx, `document.getElementById('forecast').textContent`); !strings.Contains(fc, "±264 devices") {
		t.Errorf("forecast at ε 2: %q, want ±264", fc)
	}
	browsertest.Axe(t, ctx, "new campaign form")

	// Many matches say how many more there are; a word starting the
	// category's own name ranks first.
	browsertest.Run(t, ctx, "broad search", setValue("category-search", "e"), chromedp.WaitVisible(chromedp.ID("category-more")))
	if more := browsertest.Eval[string](t, ctx, `document.getElementById('category-more').textContent`); !regexp.MustCompile(`^\d+ more match`).MatchString(more) {
		t.Errorf("more matches: %q", more)
	}
	browsertest.Run(t, ctx, "search running", setValue("category-search", "running"), chromedp.WaitVisible(chromedp.CSS(`#category-results li[data-id="410"]`)))
	if first := browsertest.Eval[string](t, ctx, `document.querySelector('#category-results li[data-id]').dataset.id`); first != "410" {
		t.Errorf("search running: first hit %s, want 410 Running and Jogging", first)
	}
	// Everyday words find the taxonomy's wording.
	for q, id := range map[string]string{"coffee": "377", "sneakers": "676"} {
		browsertest.Run(t, ctx, "search "+q, setValue("category-search", q), chromedp.WaitVisible(chromedp.CSS(`#category-results li[data-id="`+id+`"]`)))
	}
	browsertest.Run(t, ctx, "clear search", setValue("category-search", ""))

	// A server refusal in words, marked on its field for assistive technology.
	browsertest.Run(t, ctx, "taken id",
		setValue("f-id", "runners"), setValue("f-name", "Runners"),
		chromedp.SendKeys(chromedp.ID("category-search"), "running jog"),
		chromedp.WaitVisible(chromedp.CSS(`#category-results li[data-id="410"]`)))
	type combo struct{ Role, Expanded, Active, ListName string }
	if c := browsertest.Eval[combo](t, ctx, `(() => { const i = document.getElementById('category-search'); return {Role: i.getAttribute('role'), Expanded: i.getAttribute('aria-expanded'),
		Active: i.getAttribute('aria-activedescendant') || '', ListName: document.getElementById('category-results').getAttribute('aria-label') || ''}; })()`); c.Role != "combobox" || c.Expanded != "true" || c.Active == "" || c.ListName == "" {
		t.Errorf("category search: %+v; want a combobox, expanded, with an active option and a named listbox", c)
	}
	browsertest.Axe(t, ctx, "category search open")
	browsertest.Run(t, ctx, "choose and submit",
		chromedp.SendKeys(chromedp.ID("category-search"), "\r"),
		chromedp.WaitVisible(chromedp.CSS(`#category-chosen .chip[data-id="410"]`)),
		chromedp.Click(chromedp.ID("create")),
		chromedp.Poll[chromedp.Void](`document.getElementById('err-id').textContent !== ''`, chromedp.WithPollingTimeout(10*time.Second)))
	type idErr struct{ Text, Invalid, DescribedBy, Chip string }
	e := browsertest.Eval[idErr](t, ctx, `({Text: document.getElementById('err-id').textContent, Invalid: document.getElementById('f-id').getAttribute('aria-invalid') || '',
		DescribedBy: document.getElementById('f-id').getAttribute('aria-describedby') || '', Chip: document.querySelector('#category-chosen .chip button').getAttribute('aria-label') || ''})`)
	if strings.Contains(e.Text, "store:") || !strings.Contains(e.Text, "already exists") {
		t.Errorf("taken id: %q", e.Text)
	}
	if e.Invalid != "true" || !strings.Contains(e.DescribedBy, "err-id") {
		t.Errorf("the id field: aria-invalid %q, aria-describedby %q", e.Invalid, e.DescribedBy)
	}
	if !strings.HasPrefix(e.Chip, "Remove ") {
		t.Errorf("the chip's × button is named %q", e.Chip)
	}
	browsertest.Axe(t, ctx, "form with errors")
	browsertest.Run(t, ctx, "narrow form", chromedp.EmulateViewport(400, 800), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("forecast")))
	checkNarrow(t, ctx, "new campaign form")
}

// checkNarrow sets a 400 px wide viewport and checks that nothing the
// page shows lies outside it and that chart text stays readable (≥ 10 px).
func checkNarrow(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	type box struct {
		What        string
		Left, Right float64
	}
	type result struct {
		Width, ScrollWidth float64
		Outside            []box
		SmallestText       float64
		Texts              int
	}
	got := browsertest.Eval[result](t, ctx, `(() => {
		const vw = document.documentElement.clientWidth;
		const outside = [];
		for (const el of document.querySelectorAll('header, header *, main h1, main .card, svg.chart, #signout, #nav a, .actions button, main input, main select, main table')) {
			const r = el.getBoundingClientRect();
			if (r.width === 0 && r.height === 0) continue;
			if (r.left < -0.5 || r.right > vw + 0.5) outside.push({What: el.id || el.tagName + '.' + el.className.baseVal + el.className, Left: r.left, Right: r.right});
		}
		let smallest = 1e9, n = 0;
		for (const t of document.querySelectorAll('svg.chart text')) {
			const svg = t.ownerSVGElement, scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
			const px = parseFloat(getComputedStyle(t).fontSize) * scale;
			smallest = Math.min(smallest, px); n++;
		}
		return {Width: vw, ScrollWidth: document.documentElement.scrollWidth, Outside: outside, SmallestText: n ? smallest : 0, Texts: n};
	})()`)
	if got.ScrollWidth > got.Width+0.5 {
		t.Errorf("%s at %v px: the page is %v px wide", page, got.Width, got.ScrollWidth)
	}
	for _, b := range got.Outside {
		t.Errorf("%s at %v px: %s spans %v–%v, off screen", page, got.Width, b.What, b.Left, b.Right)
	}
	if got.Texts > 0 && got.SmallestText < 10 {
		t.Errorf("%s at %v px: chart text as small as %.1f px", page, got.Width, got.SmallestText)
	}
}

// axe-core, the accessibility checker, is vendored at test time from npm
// into the user's cache (or read from WISP_AXE_JS, as .ci/run sets it).
