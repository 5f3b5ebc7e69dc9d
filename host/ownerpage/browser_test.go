package ownerpage_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wisp-project/wisp/internal/browsertest"
)

// TestOwnerPageInBrowser drives the page as the owner does, in headless
// Chromium: without the link it shows nothing, nor under a rebound DNS
// name; sign in with the link, read the interests, what left and the
// budget; a page on another origin tries to pause sharing and is refused;
// pause all sharing, after which a real aggregator receives nothing
// however the device runs, until the owner resumes; delete an interest;
// forget everything. axe-core finds no accessibility violation. With
// WISP_OWNERPAGE_SHOTS set to a directory, the screenshots in
// docs/DEVICE.md are saved there.
func TestOwnerPageInBrowser(t *testing.T) {
	w := newWorld(t)
	ctx := browsertest.New(t, 90*time.Second, chromedp.Flag("host-resolver-rules", "MAP evil.example 127.0.0.1"), chromedp.WindowSize(1100, 900))
	aggHost := strings.TrimPrefix(w.agg.URL, "http://")

	browsertest.Run(t, ctx, "without the link", chromedp.Navigate(w.url), chromedp.WaitVisible(chromedp.CSS("body")))
	if body := text(t, ctx, "body"); !strings.Contains(body, "Open this page with the link") || strings.Contains(body, "Running") {
		t.Errorf("the page without the session secret shows %q", body)
	}
	// DNS rebinding: evil.example resolves to 127.0.0.1 (the browser's
	// resolver is told so), the page's port answers, its Host is refused.
	rebound := strings.Replace(w.url, "127.0.0.1", "evil.example", 1)
	browsertest.Run(t, ctx, "a rebound name", chromedp.Navigate(rebound+w.page.LoginPath()), chromedp.WaitVisible(chromedp.CSS("body")))
	if body := text(t, ctx, "body"); !strings.Contains(body, "answers only on this device's own address") {
		t.Errorf("the page under a rebound name shows %q", body)
	}
	browsertest.Run(t, ctx, "sign in", chromedp.Navigate(w.url+w.page.LoginPath()), chromedp.WaitVisible(chromedp.CSS("#interests")))
	if loc := browsertest.Eval[string](t, ctx, `location.href`); loc != w.url {
		t.Errorf("after sign-in the address is %s, want %s (the secret out of the address bar)", loc, w.url)
	}
	if got := text(t, ctx, "#interests"); !strings.Contains(got, "Running and Jogging") {
		t.Errorf("interests:\n%s\nwant Running and Jogging", got)
	}
	left := text(t, ctx, "#left")
	want := "A randomized yes/no about Running and Jogging, sent to " + aggHost + " on 23 Nov 2026 at 09:00 UTC."
	if !strings.Contains(left, want) {
		t.Errorf("what left:\n%s\nwant %q", left, want)
	}
	if got := text(t, ctx, "#budget-410-label"); got != "Running and Jogging: 1 of 8 privacy units used this year" {
		t.Errorf("Running's budget reads %q", got)
	}
	if got := text(t, ctx, "#budget-device-label"); got != "All topics together: 2 of 64 privacy units used this year" {
		t.Errorf("the device's budget reads %q", got)
	}
	browsertest.Axe(t, ctx, "the privacy page")
	browsertest.Shot(t, ctx, os.Getenv("WISP_OWNERPAGE_SHOTS"), "ownerpage")

	// Another origin (a page on another port of 127.0.0.1: same site, so
	// even the SameSite=Strict cookie goes along) posts the pause form.
	evil := serve(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, `<!doctype html><title>x</title><form method="post" action="%ssharing"><input name="sharing" value="pause"><input name="csrf" value="guess"></form>
<script>document.forms[0].submit()</script>`, w.url)
	}))
	browsertest.Run(t, ctx, "another origin posts", chromedp.Navigate(evil), chromedp.WaitVisible(chromedp.CSS("body")))
	waitFor(t, ctx, `location.href.endsWith("/sharing")`)
	if body := text(t, ctx, "body"); !strings.Contains(body, "Refused") {
		t.Errorf("the cross-origin post got %q, want Refused", body)
	}
	if paused, _, _ := w.dev.SharingPaused(t.Context()); paused {
		t.Fatal("a page on another origin paused sharing")
	}

	browsertest.Run(t, ctx, "pause all sharing", chromedp.Navigate(w.url), chromedp.WaitVisible(chromedp.CSS("#pause")),
		chromedp.Click(chromedp.CSS("#pause")), chromedp.WaitVisible(chromedp.CSS("#resume")))
	if got := text(t, ctx, "#sharing-state"); !strings.Contains(got, "All sharing is paused") {
		t.Errorf("after pausing the page says %q", got)
	}
	browsertest.Shot(t, ctx, os.Getenv("WISP_OWNERPAGE_SHOTS"), "ownerpage-paused")
	before := w.requests.Load()
	w.clock.Advance(7 * 24 * time.Hour) // a new epoch: both campaigns want an answer
	if err := w.dev.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if sum, err := w.dev.RunOnce(t.Context()); err != nil || sum.Answered != 0 || sum.Sent != 0 {
		t.Fatalf("paused pass: %+v, %v", sum, err)
	}
	if sum, err := w.dev.Flush(t.Context()); err != nil || sum.Sent != 0 {
		t.Fatalf("paused flush: %+v, %v", sum, err)
	}
	if n := w.requests.Load() - before; n != 0 {
		t.Errorf("the aggregator received %d requests while sharing was paused", n)
	}
	if n := w.stored(t, "runners", w.clock.Now()); n != 0 {
		t.Errorf("the aggregator holds %d reports of the paused epoch", n)
	}

	browsertest.Run(t, ctx, "resume", chromedp.Click(chromedp.CSS("#resume")), chromedp.WaitVisible(chromedp.CSS("#pause")))
	if sum, err := w.dev.RunOnce(t.Context()); err != nil || sum.Answered != 2 || sum.Sent != 2 {
		t.Fatalf("after resume: %+v, %v; want both answered and sent", sum, err)
	}
	if n := w.stored(t, "runners", w.clock.Now()); n != 1 {
		t.Errorf("after resume the aggregator holds %d runners reports of the epoch, want 1", n)
	}

	browsertest.Run(t, ctx, "delete an interest", chromedp.Navigate(w.url), chromedp.WaitVisible(chromedp.CSS(`button[data-category="410"]`)),
		chromedp.Click(chromedp.CSS(`button[data-category="410"]`)), chromedp.WaitVisible(chromedp.CSS(".done")))
	if got := text(t, ctx, "#interests"); strings.Contains(got, "Running and Jogging") {
		t.Errorf("interests after deleting Running and Jogging:\n%s", got)
	}
	in, err := w.dev.Interests(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range in {
		if i.Category == 410 {
			t.Errorf("the device still holds Running and Jogging: %+v", in)
		}
	}
	if browsertest.Eval[int](t, ctx, `document.querySelectorAll('button[data-category="410"]').length`) != 0 {
		t.Error("the page still offers to delete Running and Jogging")
	}

	st, err := w.dev.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Run(t, ctx, "forget everything", chromedp.Click(chromedp.CSS("#confirm")), chromedp.Click(chromedp.CSS("#forget")),
		chromedp.WaitVisible(chromedp.CSS("#forgot")))
	rows := browsertest.Eval[[][]string](t, ctx, `[...document.querySelectorAll('#forgot tbody tr')].map(r => [...r.cells].map(c => c.textContent))`)
	if len(rows) == 0 || rows[0][0] != "events the plugins read" || rows[0][1] != fmt.Sprint(st.Stored["events"]) || rows[0][2] != "0" || st.Stored["events"] == 0 {
		t.Errorf("forget shows %v; want events %d → 0", rows, st.Stored["events"])
	}
	after, err := w.dev.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if after.Stored["events"] != 0 || after.Stored["answers"] != 0 || len(after.Interests) != 0 {
		t.Errorf("after forget the device holds %v, %d interests", after.Stored, len(after.Interests))
	}
	browsertest.Axe(t, ctx, "the forget result")
	browsertest.Shot(t, ctx, os.Getenv("WISP_OWNERPAGE_SHOTS"), "ownerpage-forgot")
}

// text is the visible text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return browsertest.Eval[string](t, ctx, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, sel))
}

// waitFor waits until a JavaScript condition holds in the page.
func waitFor(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	for range 100 {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond)); err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waited in vain for %s", cond)
}
