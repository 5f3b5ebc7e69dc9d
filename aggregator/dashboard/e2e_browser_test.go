package dashboard_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/browsertest"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/wire"
)

// testAggregator is a real aggregator on 127.0.0.1, serving its API and the
// dashboard it mounts, with a SQLite store and a clock the test moves, so
// epochs open, close and get released on cue.
type testAggregator struct {
	url string
	srv *aggregatortest.Server
	now atomic.Int64 // unix nanoseconds
}

func (a *testAggregator) setClock(t time.Time) { a.now.Store(t.UnixNano()) }

func startAggregator(t *testing.T, start time.Time) *testAggregator {
	t.Helper()
	a := &testAggregator{}
	a.setClock(start)
	srv := aggregatortest.Start(t, aggregator.Config{Now: func() time.Time { return time.Unix(0, a.now.Load()) },
		Policy: aggregator.Policy{MinK: 80}}, nil)
	a.srv, a.url = srv, srv.URL
	return a
}

func (a *testAggregator) token(t *testing.T, role api.Role, tenant string) string {
	return a.srv.Token(t, role, tenant)
}

// campaign reads campaign id through the marketer API with tok.
func (a *testAggregator) campaign(t *testing.T, tok, id string) campaign.Campaign {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.url+"/v1/campaigns/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info api.CampaignInfo
	var c campaign.Campaign
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&info) != nil || json.Unmarshal(info.Campaign, &c) != nil {
		t.Fatalf("GET /v1/campaigns/%s: %s", id, resp.Status)
	}
	return c
}

// ingest sends n simulated devices' reports for c's epoch, yes of whom
// truly are in the segment, the way devices do: host.Reporter seals each
// randomized answer and host.Client uploads the batch over HTTP.
func (a *testAggregator) ingest(t *testing.T, c *campaign.Campaign, epoch uint32, n, yes int) []wire.Envelope {
	t.Helper()
	ctx := context.Background()
	client := &host.Client{BaseURL: a.url}
	configs, err := client.KeyConfigs(ctx)
	if err != nil || len(configs.Configs) == 0 {
		t.Fatalf("key configs: %v (%d)", err, len(configs.Configs))
	}
	rep := host.Reporter{Key: configs.Configs[0]}
	batch := make([]wire.Envelope, 0, n)
	for i := range n {
		score := float32(0.1)
		if i < yes {
			score = 0.9
		}
		e, err := rep.Report(c, epoch, map[uint32]float32{c.Question.Category: score})
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, e)
	}
	resp, err := client.Upload(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Accepted != n {
		t.Fatalf("epoch %d: %d of %d reports accepted: %+v", epoch, resp.Accepted, n, resp.Results[0])
	}
	return batch
}

// ingestTopK sends n simulated devices' reports for the top_k campaign c:
// a third hold 410 (Running and Jogging) above 625 (Cycling), the rest the
// other way round.
func (a *testAggregator) ingestTopK(t *testing.T, c *campaign.Campaign, epoch uint32, n int) {
	t.Helper()
	ctx := context.Background()
	client := &host.Client{BaseURL: a.url}
	configs, err := client.KeyConfigs(ctx)
	if err != nil || len(configs.Configs) == 0 {
		t.Fatalf("key configs: %v", err)
	}
	rep := host.Reporter{Key: configs.Configs[0]}
	batch := make([]wire.Envelope, 0, n)
	for i := range n {
		scores := map[uint32]float32{410: 0.2, 625: 0.8}
		if i%3 == 0 {
			scores = map[uint32]float32{410: 0.9, 625: 0.3}
		}
		e, err := rep.Report(c, epoch, scores)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, e)
	}
	if resp, err := client.Upload(ctx, batch); err != nil || resp.Accepted != n {
		t.Fatalf("top_k epoch %d: %v, %+v", epoch, err, resp)
	}
}

// setValue sets a form control's value as typing would, firing input.
func setValue(id, value string) chromedp.Action[chromedp.Void] {
	b, _ := json.Marshal([]string{id, value})
	return chromedp.Evaluate[chromedp.Void](`((a) => { const e = document.getElementById(a[0]); e.value = a[1]; e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); })(` + string(b) + `)`)
}

// signIn opens the dashboard signed out and signs in with tok.
func signIn(t *testing.T, ctx context.Context, url, tok string) {
	t.Helper()
	browsertest.Run(t, ctx, "sign in",
		chromedp.Navigate(url+"/dashboard/"),
		chromedp.Evaluate[chromedp.Void](`sessionStorage.clear(); location.hash = '#/'; null`, chromedp.EvalIgnoreExceptions),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), tok),
		chromedp.Click(chromedp.CSS("#signin button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("signout")),
	)
}

// TestDashboardEndToEnd drives the dashboard in headless Chromium against a
// real aggregator: a marketer signs in, creates a campaign through the form
// (validation errors shown in place first), devices report over three
// epochs, the campaign page charts two released epochs with error bars and
// one suppressed epoch, the CSV export downloads, and a marketer of another
// tenant cannot see the campaign.
func TestDashboardEndToEnd(t *testing.T) {
	ctx := newBrowser(t)
	const epochSeconds = 3600
	e0 := uint32(time.Now().Unix()/epochSeconds) - 10
	epochStart := func(e uint32) time.Time { return time.Unix(int64(e)*epochSeconds, 0) }
	agg := startAggregator(t, epochStart(e0).Add(10*time.Minute))
	acme := agg.token(t, api.RoleMarketer, "acme")
	globex := agg.token(t, api.RoleMarketer, "globex")
	operator := agg.token(t, api.RoleOperator, "")

	// Sign in: a wrong token is refused in place.
	browsertest.Run(t, ctx, "bad token", chromedp.Navigate(agg.url+"/dashboard/"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), "wisp_not-a-token"), chromedp.Click(chromedp.CSS("#signin button[type=submit]")),
		chromedp.Poll[chromedp.Void](`document.getElementById('token-error').textContent.includes('not valid')`, chromedp.WithPollingTimeout(10*time.Second)))
	signIn(t, ctx, agg.url, acme)
	if who := browsertest.Eval[string](t, ctx, `document.getElementById('identity').textContent`); !strings.Contains(who, "marketer") {
		t.Errorf("identity %q, want a marketer", who)
	}

	// Create a campaign: first with errors, which show beside their fields.
	browsertest.Run(t, ctx, "open the form", chromedp.Navigate(agg.url+"/dashboard/#/new"), chromedp.WaitVisible(chromedp.ID("new-campaign")))
	browsertest.Run(t, ctx, "submit a bad campaign",
		chromedp.SendKeys(chromedp.ID("f-id"), "Acme Runners"),
		setValue("f-epsilon", "9"),
		setValue("f-k", "5"),
		chromedp.Click(chromedp.ID("create")),
		chromedp.WaitVisible(chromedp.ID("err-epsilon")))
	shot(t, ctx, "form-errors")
	browsertest.Axe(t, ctx, "new campaign form with errors")
	errs := browsertest.Eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll('.field-error')].map(e => [e.id, e.textContent]))`)
	for _, f := range []string{"err-id", "err-name", "err-category", "err-epsilon", "err-k"} {
		if errs[f] == "" {
			t.Errorf("no error shown in %s (errors: %v)", f, errs)
		}
	}
	if !strings.Contains(errs["err-k"], "80") {
		t.Errorf("k error %q does not state the operator's minimum 80 (GET /v1/policy)", errs["err-k"])
	}
	if errs["err-min_score"] != "" || errs["err-epoch"] != "" {
		t.Errorf("errors on valid fields: %v", errs)
	}
	// Then correct it: category through the taxonomy search.
	browsertest.Run(t, ctx, "fill the form",
		setValue("f-id", "acme-runners"),
		chromedp.SendKeys(chromedp.ID("f-name"), "Acme runners"),
		chromedp.SendKeys(chromedp.ID("category-search"), "running jog"),
		chromedp.WaitVisible(chromedp.CSS(`#category-results li[data-id="410"]`)),
		chromedp.SendKeys(chromedp.ID("category-search"), "\r"),
		chromedp.WaitVisible(chromedp.CSS(`#category-chosen .chip[data-id="410"]`)),
		setValue("f-epsilon", "1"),
		setValue("f-epoch", "1"), setValue("f-epoch_unit", "3600"),
		setValue("f-k", "100"),
		chromedp.Click(chromedp.ID("create")),
		chromedp.WaitVisible(chromedp.ID("no-reports")))
	if txt := browsertest.Eval[string](t, ctx, `document.getElementById('no-reports').textContent`); !strings.Contains(txt, "closes") || !strings.Contains(txt, "k = 100") {
		t.Errorf("a new campaign says %q: want when its first epoch closes and the k it needs", txt)
	}

	// The server is the authority: a taken id comes back as an error in place.
	browsertest.Run(t, ctx, "create it again",
		chromedp.Navigate(agg.url+"/dashboard/#/new"), chromedp.WaitVisible(chromedp.ID("new-campaign")),
		chromedp.SendKeys(chromedp.ID("f-id"), "acme-runners"), chromedp.SendKeys(chromedp.ID("f-name"), "again"),
		chromedp.SendKeys(chromedp.ID("category-search"), "cycling"), chromedp.WaitVisible(chromedp.CSS(`#category-results li[data-id]`)),
		chromedp.SendKeys(chromedp.ID("category-search"), "\r"),
		chromedp.Click(chromedp.ID("create")),
		chromedp.Poll[chromedp.Void](`document.getElementById('err-id').textContent !== ''`, chromedp.WithPollingTimeout(10*time.Second)))
	if taken := browsertest.Eval[string](t, ctx, `document.getElementById('err-id').textContent`); strings.Contains(taken, "store:") || !strings.Contains(taken, "already exists") {
		t.Errorf("a taken id reads %q: want plain words, no internal error text", taken)
	}

	// The other question types: a top_k over two categories, then a mean.
	browsertest.Run(t, ctx, "create a top_k campaign", // a fresh form: the page is still on #/new
		chromedp.Navigate(agg.url+"/dashboard/#/new"), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("new-campaign")),
		setValue("f-type", "top_k"),
		chromedp.WaitVisible(chromedp.ID("f-top")), chromedp.WaitNotVisible(chromedp.ID("f-min_score")),
		chromedp.SendKeys(chromedp.ID("f-id"), "acme-top-sport"), chromedp.SendKeys(chromedp.ID("f-name"), "Top sport"),
		chromedp.SendKeys(chromedp.ID("category-search"), "running jog"), chromedp.WaitVisible(chromedp.CSS(`#category-results li[data-id="410"]`)),
		chromedp.SendKeys(chromedp.ID("category-search"), "\r"),
		setValue("f-top", "5"), chromedp.Click(chromedp.ID("create")),
		chromedp.WaitVisible(chromedp.ID("err-category")))
	if errs := browsertest.Eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll('.field-error')].filter(e => e.textContent).map(e => [e.id, e.textContent]))`); errs["err-category"] == "" || errs["err-top"] == "" {
		t.Errorf("top_k with one category and k 5: errors %v, want err-category and err-top", errs)
	}
	// Cycling chosen by browsing the taxonomy tree: Sports, then its Add.
	browsertest.Run(t, ctx, "fix the top_k campaign",
		chromedp.Click(chromedp.CSS(`#category-tree > summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#category-tree li[data-id="607"] > details > summary`)),
		chromedp.Click(chromedp.CSS(`#category-tree li[data-id="607"] > details > summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#category-tree button[data-add="625"]`)),
		chromedp.Click(chromedp.CSS(`#category-tree button[data-add="625"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#category-chosen .chip[data-id="625"]`)),
		setValue("f-top", "1"), setValue("f-k", "100"), setValue("f-epoch", "1"), setValue("f-epoch_unit", "3600"), chromedp.Click(chromedp.ID("create")),
		chromedp.WaitVisible(chromedp.ID("no-reports")))
	browsertest.Run(t, ctx, "create a mean campaign",
		chromedp.Navigate(agg.url+"/dashboard/#/new"), chromedp.WaitVisible(chromedp.ID("new-campaign")),
		setValue("f-type", "mean"), chromedp.WaitNotVisible(chromedp.ID("f-top")),
		chromedp.SendKeys(chromedp.ID("f-id"), "acme-run-mean"), chromedp.SendKeys(chromedp.ID("f-name"), "Running score"),
		chromedp.SendKeys(chromedp.ID("category-search"), "running jog"), chromedp.WaitVisible(chromedp.CSS(`#category-results li[data-id="410"]`)),
		chromedp.SendKeys(chromedp.ID("category-search"), "\r"),
		setValue("f-k", "100"), chromedp.Click(chromedp.ID("create")),
		chromedp.WaitVisible(chromedp.ID("no-reports")))
	for id, want := range map[string]campaign.Question{
		"acme-top-sport": {Type: campaign.QuestionTopK, Categories: []uint32{410, 625}, K: 1},
		"acme-run-mean":  {Type: campaign.QuestionMean, Category: 410},
	} {
		got := agg.campaign(t, acme, id)
		if !reflect.DeepEqual(got.Question, want) {
			t.Errorf("%s registered with question %+v, want %+v", id, got.Question, want)
		}
	}

	// Devices report in three epochs; the third has fewer than k reports.
	c := &campaign.Campaign{ID: "acme-runners", Name: "Acme runners",
		Question: campaign.Question{Type: campaign.QuestionThreshold, Category: 410, MinScore: 0.6},
		Epsilon:  1, EpochSeconds: epochSeconds, K: 100}
	for i, n := range []int{400, 600, 40} {
		e := e0 + uint32(i)
		agg.setClock(epochStart(e).Add(10 * time.Minute))
		batch := agg.ingest(t, c, e, n, n/4)
		if i == 0 {
			top := agg.campaign(t, acme, "acme-top-sport")
			agg.ingestTopK(t, &top, e, 300)
		}
		if i == 2 { // a device resends: replays are rejected, and counted
			resp, err := (&host.Client{BaseURL: agg.url}).Upload(context.Background(), batch[:7])
			if err != nil || resp.Rejected != 7 {
				t.Fatalf("replay: %v, %d rejected", err, resp.Rejected)
			}
		}
	}
	agg.setClock(epochStart(e0 + 6))                                 // all three epochs closed and settled
	if err := agg.srv.ReleaseDue(context.Background()); err != nil { // the serve loop's pass
		t.Fatal(err)
	}

	browsertest.Run(t, ctx, "campaign page", chromedp.Navigate(agg.url+"/dashboard/#/campaign/acme-runners"), chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS("#epochs svg")))
	shot(t, ctx, "campaign")
	browsertest.Axe(t, ctx, "campaign page")
	// Epochs read as dates, not epoch numbers.
	if when := browsertest.Eval[[]string](t, ctx, `[...document.querySelectorAll('#releases td.when')].map(e => e.textContent)`); len(when) != 3 || !regexp.MustCompile(`^[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} \d\d:\d\d`).MatchString(when[0]) {
		t.Errorf("release dates %q, want e.g. Mon 30 Nov 14:00–15:00", when)
	}
	// Reach: each released epoch's audience as a share of its reporters,
	// with the interval; the suppressed epoch has none.
	reach := browsertest.Eval[[]string](t, ctx, `[...document.querySelectorAll('#releases td.reach')].map(e => e.textContent)`)
	if len(reach) != 3 || !regexp.MustCompile(`^-?\d+(\.\d)?% \(-?\d+(\.\d)?% – -?\d+(\.\d)?%\)$`).MatchString(reach[0]) || reach[2] != "–" {
		t.Errorf("reach cells %q, want e.g. 48%% (41%% – 55%%) for released epochs and – for the suppressed one", reach)
	}
	// 400 px wide: nothing off screen, chart text readable.
	browsertest.Run(t, ctx, "narrow", chromedp.EmulateViewport(400, 800), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#epochs svg")))
	checkNarrow(t, ctx, "campaign page")
	shot(t, ctx, "narrow-campaign")
	browsertest.Run(t, ctx, "narrow campaigns", chromedp.Navigate(agg.url+"/dashboard/#/"), chromedp.WaitVisible(chromedp.CSS("#overview svg")))
	checkNarrow(t, ctx, "campaigns page")
	shot(t, ctx, "narrow-campaigns")
	browsertest.Axe(t, ctx, "campaigns page")
	browsertest.Run(t, ctx, "wide again", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(agg.url+"/dashboard/#/campaign/acme-runners"), chromedp.WaitVisible(chromedp.CSS("#epochs svg")))
	// A top k campaign's page: the table, at 400 px too.
	browsertest.Run(t, ctx, "top k page", chromedp.Navigate(agg.url+"/dashboard/#/campaign/acme-top-sport"), chromedp.WaitVisible(chromedp.ID("top-k-table")))
	shot(t, ctx, "top-k")
	// Both categories by full name, largest estimate first (the estimates
	// are noisy: which one leads is not asserted).
	type topRow struct {
		Name string
		Est  float64
	}
	rowsK := browsertest.Eval[[]topRow](t, ctx, `[...document.querySelectorAll('#top-k-table tbody tr')].map(r => ({Name: r.querySelector('th').textContent, Est: +r.querySelector('td.est').textContent.replace(/,/g, '')}))`)
	if len(rowsK) != 2 || rowsK[0].Est < rowsK[1].Est || !strings.Contains(rowsK[0].Name+rowsK[1].Name, "Sports | Cycling") ||
		!strings.Contains(rowsK[0].Name+rowsK[1].Name, "Healthy Living | Fitness and Exercise | Running and Jogging") {
		t.Errorf("top k table rows %+v, want Cycling and Running and Jogging by full name, largest first", rowsK)
	}
	browsertest.Axe(t, ctx, "top k page")
	browsertest.Run(t, ctx, "narrow top k", chromedp.EmulateViewport(400, 800), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("top-k-table")))
	checkNarrow(t, ctx, "top k page")
	browsertest.Run(t, ctx, "wide top k", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(agg.url+"/dashboard/#/campaign/acme-runners"), chromedp.WaitVisible(chromedp.CSS("#epochs svg")))

	// Duplicate: the form starts as a copy with a new id.
	browsertest.Run(t, ctx, "duplicate", chromedp.Click(chromedp.ID("duplicate")), chromedp.WaitVisible(chromedp.CSS(`#category-chosen .chip[data-id="410"]`)))
	type dup struct{ ID, Name, Eps, Epoch, Unit, K, Forecast string }
	if d := browsertest.Eval[dup](t, ctx, `(() => { const v = (id) => document.getElementById(id).value; return {ID: v('f-id'), Name: v('f-name'), Eps: v('f-epsilon'), Epoch: v('f-epoch'), Unit: v('f-epoch_unit'), K: v('f-k'),
		Forecast: document.getElementById('forecast').textContent}; })()`); d.ID != "acme-runners-copy" || d.Eps != "1" || d.Epoch != "1" || d.Unit != "3600" || d.K != "100" || !strings.Contains(d.Forecast, "±") {
		t.Errorf("duplicated form: %+v", d)
	}
	browsertest.Run(t, ctx, "back", chromedp.Navigate(agg.url+"/dashboard/#/campaign/acme-runners"), chromedp.WaitVisible(chromedp.CSS("#epochs svg")))
	type chart struct{ Bars, ErrorBars, Suppressed, Rows, SuppressedRows int }
	got := browsertest.Eval[chart](t, ctx, `({
		Bars: document.querySelectorAll('#epochs rect.bar:not(.suppressed)').length,
		ErrorBars: document.querySelectorAll('#epochs g.errorbar').length,
		Suppressed: document.querySelectorAll('#epochs rect.bar.suppressed').length,
		Rows: document.querySelectorAll('#releases tbody tr').length,
		SuppressedRows: document.querySelectorAll('#releases .badge.suppressed').length,
	})`)
	if got != (chart{Bars: 2, ErrorBars: 2, Suppressed: 1, Rows: 3, SuppressedRows: 1}) {
		t.Errorf("campaign page: %+v; want 2 bars with 2 error bars, 1 suppressed, 3 rows of which 1 suppressed", got)
	}

	// Download the CSV export through the page.
	dir := t.TempDir()
	browsertest.Run(t, ctx, "download CSV",
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
			return err
		}),
		chromedp.Click(chromedp.CSS(`#exports button[data-format="csv"]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById('export-status').textContent.startsWith('Downloaded')`, chromedp.WithPollingTimeout(10*time.Second)))
	// The file is named for the campaign and the day.
	rows := readCSV(t, filepath.Join(dir, "acme-runners-"+time.Now().Format("2006-01-02")+".csv"))
	if len(rows) != 4 {
		t.Fatalf("CSV has %d rows, want a header and 3 epochs: %q", len(rows), rows)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"campaign", "epoch_start", "reports", "suppressed", "estimate", "ci95_low", "ci95_high", "share", "epsilon"} {
		if _, ok := col[h]; !ok {
			t.Errorf("CSV header %q lacks %q", rows[0], h)
		}
	}
	for i, want := range []struct{ reports, suppressed string }{{"400", "false"}, {"600", "false"}, {"", "true"}} {
		r := rows[i+1]
		if r[col["campaign"]] != "acme-runners" || r[col["reports"]] != want.reports || r[col["suppressed"]] != want.suppressed {
			t.Errorf("CSV row %d: %q, want campaign acme-runners, %s reports, suppressed %s", i+1, r, want.reports, want.suppressed)
		}
	}
	if rows[3][col["estimate"]] != "" {
		t.Errorf("suppressed row carries an estimate: %q", rows[3])
	}

	// Another tenant's marketer sees neither the campaign nor its results.
	signIn(t, ctx, agg.url, globex)
	browsertest.Run(t, ctx, "globex campaigns", chromedp.WaitVisible(chromedp.ID("no-campaigns")))
	// Node-wide ingest counters (every tenant's devices) are for operators.
	browsertest.Run(t, ctx, "globex health", chromedp.Navigate(agg.url+"/dashboard/#/health"), chromedp.WaitVisible(chromedp.ID("ingest-operators-only")))
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll('#ingest-totals, #rejects').length`); n != 0 {
		t.Errorf("a marketer sees the node's ingest counters")
	}
	// … and their own campaigns' counts only: globex has none.
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll('#tenant-ingest tr[data-campaign]').length`); n != 0 {
		t.Errorf("globex's ingest table lists %d campaigns, want none", n)
	}
	browsertest.Run(t, ctx, "globex opens acme's campaign", chromedp.Navigate(agg.url+"/dashboard/#/campaign/acme-runners"),
		chromedp.WaitVisible(chromedp.ID("not-found")))
	// acme's marketer sees their campaign's counts at this node.
	signIn(t, ctx, agg.url, acme)
	browsertest.Run(t, ctx, "acme health", chromedp.Navigate(agg.url+"/dashboard/#/health"), chromedp.WaitVisible(chromedp.ID("tenant-ingest")))
	if accepted := browsertest.Eval[string](t, ctx, `(document.querySelector('#tenant-ingest tr[data-campaign="acme-runners"] td.num') || {}).textContent || ''`); accepted == "" || accepted == "0" {
		t.Errorf("acme's ingest row says %q accepted, want its campaign acme-runners with its reports", accepted)
	}

	// The operator sees every tenant.
	signIn(t, ctx, agg.url, operator)
	browsertest.Run(t, ctx, "operator campaigns", chromedp.WaitVisible(chromedp.CSS(`#campaigns tr[data-campaign="acme-runners"]`)))
	if tenants := browsertest.Eval[string](t, ctx, `document.querySelector('#campaigns tr[data-campaign="acme-runners"]').textContent`); !strings.Contains(tenants, "acme") {
		t.Errorf("operator's row %q does not name the tenant", tenants)
	}
	shot(t, ctx, "operator")
	browsertest.Axe(t, ctx, "operator campaigns page")
	browsertest.Run(t, ctx, "health page", chromedp.Navigate(agg.url+"/dashboard/#/health"), chromedp.WaitVisible(chromedp.ID("reports-per-epoch")))
	shot(t, ctx, "health")
	browsertest.Axe(t, ctx, "health page")
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll('#reports-per-epoch tbody tr').length`); n != 4 {
		t.Errorf("health page lists %d epochs, want 4 (3 of acme-runners, 1 of acme-top-sport)", n)
	}
	if replays := browsertest.Eval[string](t, ctx, `(document.querySelector('#rejects tr[data-reason="replay"]') || {}).textContent || ''`); replays != "sent twice (replay)7" {
		t.Errorf("health page's replay row %q, want sent twice (replay), 7", replays)
	}

	// Lifecycle: pause withdraws the campaign from devices, resume brings
	// it back, archive (two clicks) ends it and takes it off the list.
	stateIs := func(want string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](`(document.getElementById('campaign-state') || {}).textContent === '`+want+`'`, chromedp.WithPollingTimeout(10*time.Second))
	}
	served := func() bool {
		resp, err := http.Get(agg.url + "/v1/campaign-configs")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var list api.SignedCampaignList
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			t.Fatal(err)
		}
		for _, sc := range list.Campaigns {
			var c campaign.Campaign
			if err := json.Unmarshal(sc.Config, &c); err != nil {
				t.Fatal(err)
			}
			if c.ID == "acme-top-sport" {
				return true
			}
		}
		return false
	}
	browsertest.Run(t, ctx, "top k page as operator", chromedp.Navigate(agg.url+"/dashboard/#/campaign/acme-top-sport"), stateIs("active"))
	if !served() {
		t.Fatal("acme-top-sport is not served to devices before the pause")
	}
	browsertest.Run(t, ctx, "pause", chromedp.Click(chromedp.ID("pause")), stateIs("paused"), chromedp.WaitVisible(chromedp.ID("resume")))
	browsertest.Axe(t, ctx, "paused campaign page")
	if served() {
		t.Error("a paused campaign is still served to devices")
	}
	browsertest.Run(t, ctx, "resume", chromedp.Click(chromedp.ID("resume")), stateIs("active"))
	if !served() {
		t.Error("a resumed campaign is not served to devices")
	}
	browsertest.Run(t, ctx, "archive", chromedp.Click(chromedp.ID("archive")),
		chromedp.Poll[chromedp.Void](`document.getElementById('archive').textContent.includes('again')`, chromedp.WithPollingTimeout(5*time.Second)),
		chromedp.Click(chromedp.ID("archive")), stateIs("archived"))
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll('#pause, #resume, #archive').length`); n != 0 {
		t.Errorf("an archived campaign still offers %d lifecycle buttons", n)
	}
	browsertest.Run(t, ctx, "list without the archived", chromedp.Navigate(agg.url+"/dashboard/#/"), chromedp.WaitVisible(chromedp.CSS(`#campaigns tr[data-campaign="acme-runners"]`)))
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll('#campaigns tr[data-campaign="acme-top-sport"]').length`); n != 0 {
		t.Error("the archived campaign is still listed")
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	var b []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		if b, err = os.ReadFile(path); err == nil && len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(filepath.Dir(path))
			t.Fatalf("no download at %s (%v in the directory)", path, entries)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, b)
	}
	return rows
}
