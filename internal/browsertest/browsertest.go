// Package browsertest drives headless Chromium for the tests of Wisp's web
// pages (the marketer dashboard, the owner's privacy page): it finds the
// browser, starts one with a fresh profile per test, runs actions,
// evaluates expressions, saves screenshots and runs axe-core inside the
// page. Test code only (internal/archtest keeps production packages off
// it). Under CI=true a missing browser or axe-core fails the test — .ci/run
// installs both — and elsewhere the test skips or says what it did not
// check.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium finds the browser the tests drive.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but no chromium on PATH: .ci/run installs the Debian packages chromium and chromium-driver")
	}
	t.Skip("skipping the browser test: no chromium on PATH (apt-get install chromium chromium-driver; under CI=true this fails instead)")
	return ""
}

// New starts a fresh headless Chromium with its own profile and no outside
// network, and returns a tab's context whose actions must finish within
// timeout. opts add to (or override) the defaults, e.g. a window size or a
// host-resolver rule. Everything is torn down at the end of the test.
func New(t testing.TB, timeout time.Duration, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	all := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}, opts...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), all...)
	bctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	// The first action starts the browser, which lives as long as the
	// context of that call: no timeout on it, only on what follows.
	if err := chromedp.Do(bctx); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(bctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	return ctx
}

// Run runs browser actions and fails the test with what was being done.
func Run(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Eval evaluates a JavaScript expression in the page (awaiting a promise).
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %.80q: %v", expr, err)
	}
	return v
}

// Shot saves a screenshot of the page as name.png in dir, if dir is set
// (each page's tests name theirs by an environment variable).
func Shot(t testing.TB, ctx context.Context, dir, name string) {
	t.Helper()
	if dir == "" {
		return
	}
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// AxeVersion is the axe-core release the tests run (vendored from npm at
// test time into the user's cache, never committed; .ci/run installs it
// and sets WISP_AXE_JS).
const AxeVersion = "4.10.3"

var (
	axeOnce sync.Once
	axeJS   string
	axeWhy  string
)

// axeSource reads axe-core from WISP_AXE_JS, or from the user's cache,
// installing it there with npm if it is missing; "" and the reason in
// axeWhy when it cannot.
func axeSource() string {
	axeOnce.Do(func() {
		path := os.Getenv("WISP_AXE_JS")
		if path == "" {
			cache, err := os.UserCacheDir()
			if err != nil {
				cache = os.TempDir()
			}
			dir := filepath.Join(cache, "wisp", "axe-core-"+AxeVersion)
			path = filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
			if _, err := os.Stat(path); err != nil {
				npm, err := exec.LookPath("npm")
				if err != nil {
					axeWhy = "no npm on PATH to install axe-core (npm install axe-core, or set WISP_AXE_JS to axe.min.js)"
					return
				}
				cmd := exec.Command(npm, "install", "--no-audit", "--no-fund", "--no-save", "--prefix", dir, "axe-core@"+AxeVersion)
				if out, err := cmd.CombinedOutput(); err != nil {
					axeWhy = "npm install axe-core@" + AxeVersion + ": " + err.Error() + ": " + string(out)
					return
				}
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			axeWhy = err.Error()
			return
		}
		axeJS = string(b)
	})
	return axeJS
}

// Axe runs axe-core inside the page as it is now and fails the test on any
// violation. Without axe-core it fails under CI=true, and otherwise logs
// why it did not check.
func Axe(t testing.TB, ctx context.Context, page string) {
	t.Helper()
	src := axeSource()
	if src == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but axe-core is unavailable: %s", axeWhy)
		}
		t.Logf("not checking %s with axe-core: %s", page, axeWhy)
		return
	}
	// Evaluated through the DevTools protocol, which a page's CSP (no eval,
	// no inline script) does not apply to.
	if !Eval[bool](t, ctx, `!!window.axe`) {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](src+"\n;undefined")); err != nil {
			t.Fatalf("load axe-core: %v", err)
		}
	}
	violations := Eval[[]string](t, ctx, `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v =>
		v.id + ' (' + v.impact + '): ' + v.help + ' — ' + v.nodes.slice(0, 4).map(n => n.target.join(' ') + (n.failureSummary ? ' [' + n.failureSummary.replace(/\s+/g, ' ') + ']' : '')).join('; ')))`)
	for _, v := range violations {
		t.Errorf("axe-core, %s: %s", page, v)
	}
}
