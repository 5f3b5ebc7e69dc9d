package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/wire"
)

// ownerCampaigns are two weekly yes/no questions the built-in fitness
// plugin answers.
var ownerCampaigns = []campaign.Campaign{
	{ID: "runners", Name: "Running shoes", Question: campaign.Question{Type: campaign.QuestionThreshold, Category: 410, MinScore: 0.5},
		Epsilon: 1, EpochSeconds: 7 * 86400, K: 1},
	{ID: "walkers", Name: "Walking boots", Question: campaign.Question{Type: campaign.QuestionThreshold, Category: 672, MinScore: 0.5},
		Epsilon: 1, EpochSeconds: 7 * 86400, K: 1},
}

// ownerDevice is a device in its own --dir, initialized against a real
// aggregator that the test can take down, with the built-in fitness
// plugin installed and allowed, and four runs imported (6, 4 and 2 days
// and 2 hours ago); no campaign is granted.
func ownerDevice(t *testing.T) (dev string, down *atomic.Bool) {
	t.Helper()
	down = &atomic.Bool{}
	key, err := wire.GenerateKeyPair(1, rand.Reader)
	must(t, err)
	agg := aggregatortest.Start(t, aggregator.Config{Keys: []*wire.KeyPair{key}, Campaigns: ownerCampaigns}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					conn.Close() // unreachable: no answer at all
				}
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	dir := t.TempDir()
	dev = filepath.Join(dir, "my device")
	events := filepath.Join(dir, "events.jsonl")
	must(t, os.WriteFile(events, []byte(`{"plugin": "fitness", "kind": 3, "code": 1, "ago": "144h", "value": 45}
{"plugin": "fitness", "kind": 3, "code": 1, "ago": "96h", "value": 40}
{"plugin": "fitness", "kind": 3, "code": 1, "ago": "48h", "value": 50}
{"plugin": "fitness", "kind": 3, "code": 1, "ago": "2h", "value": 35}
`), 0o644))
	runWisp(t, "device", "--dir", dev, "init", "--aggregator", agg.URL, "--allow-unsigned")
	runWisp(t, "device", "--dir", dev, "install", "fitness")
	runWisp(t, "device", "--dir", dev, "consent", "grant", "plugin:fitness")
	runWisp(t, "device", "--dir", dev, "events", "import", events)
	return dev, down
}

func deviceStatus(t *testing.T, dev string) host.Status {
	t.Helper()
	var st host.Status
	must(t, json.Unmarshal([]byte(runWisp(t, "device", "--dir", dev, "status", "--json")), &st))
	return st
}

// TestDeviceHintsCarryDir: every command line the CLI suggests names the
// --dir the user gave (quoted for the shell), and none when the directory
// came from WISP_DEVICE.
func TestDeviceHintsCarryDir(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "a device")
	runWisp(t, "device", "--dir", dev, "init", "--allow-unsigned")
	out := runWisp(t, "device", "--dir", dev, "install", "fitness")
	if want := "wisp device consent grant plugin:fitness --dir '" + dev + "'"; !strings.Contains(out, want) {
		t.Errorf("install says:\n%s\nwant the hint %q", out, want)
	}
	status := runWisp(t, "device", "--dir", dev, "status")
	for _, want := range []string{"wisp device consent revoke --all --dir '" + dev + "'", "wisp device forget --all --dir '" + dev + "'", "wisp device serve --dir '" + dev + "'"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q", want)
		}
	}
	t.Setenv("WISP_DEVICE", dev)
	runWisp(t, "device", "remove", "fitness")
	out = runWisp(t, "device", "install", "fitness")
	if !strings.Contains(out, "wisp device consent grant plugin:fitness\n") {
		t.Errorf("with WISP_DEVICE, install says:\n%s\nwant the hint without --dir", out)
	}
}

// TestDeviceStatusTellsHowToStop: the owner's status ends with how to
// stop sharing and erase everything, and explains ε once in plain words.
func TestDeviceStatusTellsHowToStop(t *testing.T) {
	dev, _ := ownerDevice(t)
	runWisp(t, "device", "--dir", dev, "consent", "grant", "plugin:fitness", "campaign:runners")
	runWisp(t, "device", "--dir", dev, "run", "--flush")
	out := runWisp(t, "device", "--dir", dev, "status")
	if n := strings.Count(out, "What ε means"); n != 1 {
		t.Errorf("status explains ε %d times, want once:\n%s", n, out)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	tail := strings.Join(lines[len(lines)-3:], "\n")
	for _, want := range []string{"To stop sharing at once:", "wisp device consent revoke --all", "wisp device forget --all"} {
		if !strings.Contains(tail, want) {
			t.Errorf("status does not end with %q:\n%s", want, tail)
		}
	}
}

// TestDeviceConsentRefusesUnknown: granting a campaign the aggregator does
// not offer, or a plugin that is not installed, is refused, and nothing in
// the same command is granted.
func TestDeviceConsentRefusesUnknown(t *testing.T) {
	dev, _ := ownerDevice(t)
	for _, c := range []struct{ arg, want string }{
		{"campaign:runnres", `no campaign "runnres": the aggregator does not offer it (known campaigns: runners, walkers)`},
		{"plugin:fitnes", `no plugin "fitnes" is installed (installed: fitness); install it first: wisp device install fitnes --dir`},
	} {
		out, err := runErr(t, "device", "--dir", dev, "consent", "grant", "campaign:runners", c.arg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("grant %s: %v\n%s\nwant an error saying %q", c.arg, err, out, c.want)
		}
	}
	if st := deviceStatus(t, dev); len(st.Consent) != 1 {
		t.Errorf("a refused grant recorded %v", st.Consent)
	}
	// A campaign the device had not fetched yet, but the aggregator offers.
	out := runWisp(t, "device", "--dir", dev, "consent", "grant", "campaign:walkers")
	if !strings.Contains(out, "granted campaign:walkers") {
		t.Errorf("grant of an offered campaign: %s", out)
	}
}

// TestDeviceConsentRevokeAll: after revoking the plugin the campaigns it
// fed are shown as not answerable; revoke --all then turns everything off.
func TestDeviceConsentRevokeAll(t *testing.T) {
	dev, _ := ownerDevice(t)
	runWisp(t, "device", "--dir", dev, "consent", "grant", "plugin:fitness", "campaign:runners", "campaign:walkers")
	runWisp(t, "device", "--dir", dev, "run", "--flush")
	out := runWisp(t, "device", "--dir", dev, "consent", "revoke", "plugin:fitness")
	for _, id := range []string{"runners", "walkers"} {
		if !strings.Contains(out, "campaign "+id+" (about ") || !strings.Contains(out, "is no longer answerable") {
			t.Errorf("revoking the plugin says:\n%s\nwant %s shown as no longer answerable", out, id)
		}
	}
	if text := runWisp(t, "device", "--dir", dev, "status"); strings.Count(text, "not answerable now: no plugin you allowed scores this interest") != 2 {
		t.Errorf("status after revoking the plugin:\n%s\nwant both answered campaigns shown as not answerable", text)
	}
	runWisp(t, "device", "--dir", dev, "consent", "grant", "plugin:fitness")
	out = runWisp(t, "device", "--dir", dev, "consent", "revoke", "--all")
	for _, want := range []string{"revoked campaign:runners", "revoked campaign:walkers", "revoked plugin:fitness", "Everything is off"} {
		if !strings.Contains(out, want) {
			t.Errorf("revoke --all says:\n%s\nwant %q", out, want)
		}
	}
	st := deviceStatus(t, dev)
	for _, p := range st.Plugins {
		if p.Consent {
			t.Errorf("plugin %s still allowed after revoke --all", p.Name)
		}
	}
	for _, c := range st.Campaigns {
		if c.Consent {
			t.Errorf("campaign %s still allowed after revoke --all", c.ID)
		}
	}
	if out := runWisp(t, "device", "--dir", dev, "consent", "revoke", "--all"); !strings.Contains(out, "everything is already off") {
		t.Errorf("a second revoke --all says %q", out)
	}
	if _, err := runErr(t, "device", "--dir", dev, "consent", "revoke", "--all", "plugin:fitness"); err == nil {
		t.Error("revoke --all with a purpose was accepted")
	}
}

// TestDeviceRetentionNamesPlugin: --retention without a plugin is refused
// (it would delete data) and deletes nothing; with one it says what it
// deleted.
func TestDeviceRetentionNamesPlugin(t *testing.T) {
	dev, _ := ownerDevice(t)
	out, err := runErr(t, "device", "--dir", dev, "plugins", "--retention", "3d")
	if err == nil || !strings.Contains(err.Error(), "name the plugin, e.g. wisp device plugins fitness --retention 3d --dir") {
		t.Errorf("--retention without a plugin: %v\n%s", err, out)
	}
	if n := deviceStatus(t, dev).Plugins[0].Events; n != 4 {
		t.Errorf("%d events after a refused retention change, want 4", n)
	}
	out = runWisp(t, "device", "--dir", dev, "plugins", "fitness", "--retention", "3d")
	if want := "fitness: events are now kept for 3d; deleted 2 older events (4 → 2 kept)."; !strings.Contains(out, want) {
		t.Errorf("retention change says:\n%s\nwant %q", out, want)
	}
	out = runWisp(t, "device", "--dir", dev, "plugins", "fitness", "--retention", "30d")
	if !strings.Contains(out, "deleted 0 older events (2 → 2 kept)") {
		t.Errorf("a longer retention says:\n%s", out)
	}
}

// TestDeviceRunFlushOutage: with the aggregator down, run --flush prints
// one plain line, keeps the report for a retry with backoff, and succeeds.
func TestDeviceRunFlushOutage(t *testing.T) {
	dev, down := ownerDevice(t)
	runWisp(t, "device", "--dir", dev, "consent", "grant", "plugin:fitness", "campaign:runners")
	runWisp(t, "device", "--dir", dev, "run") // answers; the reports wait out their send delay
	down.Store(true)
	out, err := runErr(t, "device", "--dir", dev, "run", "--flush")
	if err != nil {
		t.Fatalf("run --flush with the aggregator down: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 1 || !strings.Contains(out, "could not be reached; 1 reports wait on this device and will be sent at a later run") {
		t.Errorf("run --flush with the aggregator down printed:\n%s\nwant one plain line", out)
	}
	if q := deviceStatus(t, dev).Queued; len(q) != 1 || q[0].Attempts != 1 {
		t.Errorf("after the outage the outbox holds %+v, want the report kept, with its failed attempt", q)
	}
}

// TestDeviceServe: wisp device serve prints a sign-in link on 127.0.0.1;
// following it shows the owner's page, and the address without the link
// shows nothing.
func TestDeviceServe(t *testing.T) {
	dev, _ := ownerDevice(t)
	runWisp(t, "device", "--dir", dev, "run")
	root := newRootCmd()
	pr, pw := io.Pipe()
	root.SetOut(pw)
	root.SetErr(pw)
	root.SetArgs([]string{"device", "--dir", dev, "serve", "--listen", "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx); pw.Close() }()
	sc := bufio.NewScanner(pr)
	var link string
	for link == "" && sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "http://127.0.0.1:") && strings.Contains(l, "/session?key=") {
			link = l
		}
	}
	go io.Copy(io.Discard, pr)
	if link == "" {
		cancel()
		t.Fatalf("serve printed no sign-in link: %v", <-done)
	}
	base, _, _ := strings.Cut(link, "session?")
	if resp, err := http.Get(base); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the page without the link: %v %v, want 401", resp.Status, err)
	}
	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar}).Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Running and Jogging") {
		t.Errorf("the signed-in page: %s\n%.300s", resp.Status, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve after interruption: %v", err)
	}
}

// TestDeviceSharingPause: while sharing is paused nothing is answered or
// sent, and a grant that would need the aggregator says to resume first;
// after resume the report leaves.
func TestDeviceSharingPause(t *testing.T) {
	dev, _ := ownerDevice(t)
	runWisp(t, "device", "--dir", dev, "consent", "grant", "campaign:runners")
	if out := runWisp(t, "device", "--dir", dev, "sharing", "pause"); !strings.Contains(out, "until you run wisp device sharing resume --dir") {
		t.Errorf("pause says %q", out)
	}
	out := runWisp(t, "device", "--dir", dev, "run", "--flush")
	if !strings.Contains(out, "answered 0 campaigns, sent 0 reports") || !strings.Contains(out, "sharing is paused: nothing was fetched, answered or sent") {
		t.Errorf("a paused run says:\n%s", out)
	}
	if st := deviceStatus(t, dev); len(st.Sent) != 0 || len(st.Queued) != 0 || st.Budget.SpentToday != 0 || st.PausedSince.IsZero() {
		t.Errorf("paused: sent %v, queued %v, ε %.2f spent, paused since %v; want nothing, and the pause shown", st.Sent, st.Queued, st.Budget.SpentToday, st.PausedSince)
	}
	if status := runWisp(t, "device", "--dir", dev, "status"); !strings.Contains(status, "ALL SHARING IS PAUSED since") {
		t.Errorf("status does not say sharing is paused:\n%s", status)
	}
	if _, err := runErr(t, "device", "--dir", dev, "consent", "grant", "campaign:later"); err == nil || !strings.Contains(err.Error(), "while sharing is paused it does not ask the aggregator; resume first") {
		t.Errorf("a grant of an unknown campaign while paused: %v", err)
	}
	runWisp(t, "device", "--dir", dev, "sharing", "resume")
	if out := runWisp(t, "device", "--dir", dev, "run", "--flush"); !strings.Contains(out, "answered 1 campaigns, sent 1 reports") {
		t.Errorf("after resume: %s", out)
	}
}
