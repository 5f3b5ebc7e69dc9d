package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wisp-project/wisp/internal/demo"
)

// TestDemoScreenshot is the tool that makes docs/dashboard.png: it runs the
// demo (10,000 simulated wearables), signs in to the demo aggregator's
// dashboard with the demo's token and saves the main page. It runs only when
// asked:
//
//	WISP_DASHBOARD_SCREENSHOT=$PWD/docs/dashboard.png go test -run TestDemoScreenshot ./aggregator/dashboard
func TestDemoScreenshot(t *testing.T) {
	out := os.Getenv("WISP_DASHBOARD_SCREENSHOT")
	if out == "" {
		t.Skip("set WISP_DASHBOARD_SCREENSHOT=/path/to/dashboard.png to take the README's screenshot")
	}
	chromium(t)
	opts := demo.DefaultOptions()
	opts.Serve = func(_ context.Context, res demo.Result, s demo.Serving) error {
		resp, err := http.Get(s.DashboardURL)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s (is the dashboard mounted in the aggregator's handler?)", s.DashboardURL, resp.Status)
		}
		ctx := newBrowser(t) // after the simulation: its timeout starts now
		signIn(t, ctx, s.URL, s.Token)
		run(t, ctx, "main page", chromedp.WaitVisible(chromedp.CSS("#overview svg")))
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			return err
		}
		if err := os.WriteFile(out, png, 0o644); err != nil {
			return err
		}
		// With WISP_DASHBOARD_SHOTS set, every demo campaign's page too.
		if os.Getenv("WISP_DASHBOARD_SHOTS") != "" {
			for _, sg := range res.Segments {
				run(t, ctx, "campaign page", chromedp.Navigate(s.DashboardURL+"#/campaign/"+sg.Campaign), chromedp.Reload(),
					chromedp.WaitVisible(chromedp.CSS("#releases")))
				shot(t, ctx, "demo-"+sg.Campaign)
			}
		}
		return nil
	}
	if _, err := demo.Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", out)
}
