package dashboard_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wisp-project/wisp/internal/browsertest"
)

// TestDemoScreenshot is the tool that makes docs/dashboard.png: it runs the
// demo (wisp demo --serve: 10,000 simulated wearables), signs in to the demo
// aggregator's dashboard with the demo's token and saves the main page. It
// runs only when asked:
//
//	WISP_DASHBOARD_SCREENSHOT=$PWD/docs/dashboard.png go test -run TestDemoScreenshot ./aggregator/dashboard
func TestDemoScreenshot(t *testing.T) {
	out := os.Getenv("WISP_DASHBOARD_SCREENSHOT")
	if out == "" {
		t.Skip("set WISP_DASHBOARD_SCREENSHOT=/path/to/dashboard.png to take the README's screenshot")
	}
	browsertest.Chromium(t)
	res, s := serveDemo(t)
	err := func() error {
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
		browsertest.Run(t, ctx, "main page", chromedp.WaitVisible(chromedp.CSS("#overview svg")))
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
				browsertest.Run(t, ctx, "campaign page", chromedp.Navigate(s.DashboardURL+"#/campaign/"+sg.Campaign), chromedp.Reload(),
					chromedp.WaitVisible(chromedp.CSS("#releases")))
				shot(t, ctx, "demo-"+sg.Campaign)
			}
		}
		return nil
	}()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", out)
}

// demoServing is how to reach the demo's running aggregator, as wisp demo
// --serve prints it.
type demoServing struct{ URL, DashboardURL, Token string }

// demoResult is the part of wisp demo --json's result the screenshots use.
type demoResult struct {
	Segments []struct {
		Campaign string `json:"campaign"`
	} `json:"segments"`
}

// serveDemo builds the wisp CLI and runs wisp demo --serve --json (the
// demo lives in cmd/wisp, which the aggregator's tree does not import): it
// returns the demo's result and where its aggregator serves, and stops it
// as Ctrl-C does when the test ends.
func serveDemo(t *testing.T) (demoResult, demoServing) {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "wisp")
	build := exec.Command("go", "build", "-o", exe, "../../cmd/wisp")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build ./cmd/wisp: %v", err)
	}
	cmd := exec.Command(exe, "demo", "--serve", "--json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	var res demoResult
	if err := json.NewDecoder(stdout).Decode(&res); err != nil {
		t.Fatalf("wisp demo --serve --json: %v", err)
	}
	var s demoServing
	sc := bufio.NewScanner(stderr)
	for s.URL == "" && sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "dashboard:":
			s.DashboardURL = f[1]
		case "token:":
			s.Token = f[1]
		case "API:":
			s.URL = f[1]
		}
	}
	if s.URL == "" || s.DashboardURL == "" || s.Token == "" {
		t.Fatalf("wisp demo --serve printed no URL, dashboard and token (%v)", sc.Err())
	}
	go func() { // keep draining, so the demo never blocks on stderr
		for sc.Scan() {
		}
	}()
	return res, s
}
