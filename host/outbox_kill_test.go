//go:build unix

package host

import (
	"context"
	"encoding/base64"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/internal/proctest"
)

// TestOutboxKill kills a real device process with SIGKILL between two steps
// of answering and sending — no deferred cleanup, no Close — then reopens
// its directory in this process and checks nothing acknowledged was lost
// and nothing was stored twice.
func TestOutboxKill(t *testing.T) {
	if os.Getenv("WISP_KILL_DIR") != "" {
		t.Skip("in the child")
	}
	tests := []struct {
		step            string
		stored, uploads int
	}{
		{"ledger-after-commit", 0, 0},
		{"after-claim", 1, 1},
		{"after-upload", 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.step, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			agg := startTestAggregator(t, clock)
			dir := t.TempDir()
			d, a := readyDevice(t, dir, clock, agg)
			if err := d.Revoke(ctx, CampaignPurpose("cyclists"), false); err != nil {
				t.Fatal(err)
			}
			d.Close(ctx)

			proctest.RunUntilKilled(t, "TestOutboxKillChild", tt.step, "WISP_KILL_DIR="+dir, "WISP_KILL_URL="+agg.URL, "WISP_KILL_STEP="+tt.step,
				"WISP_KILL_KEY="+a.key.String(), "WISP_KILL_CAMPAIGN_KEY="+base64.StdEncoding.EncodeToString(agg.key), "WISP_KILL_NOW="+clock.Now().Format(time.RFC3339Nano))

			d = testDevice(t, dir, clock, a, agg)
			for range 2 {
				if _, err := d.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
			epoch := testCampaigns[0].Epoch(clock.Now())
			if got := agg.stored(t, "runners", epoch); got != tt.stored {
				t.Errorf("aggregator holds %d reports, want %d", got, tt.stored)
			}
			if got := agg.uploads.Load(); got != int64(tt.uploads) {
				t.Errorf("%d uploads, want %d", got, tt.uploads)
			}
			if spent, _ := d.spentPerCampaign(ctx); spent["runners"] != 1 {
				t.Errorf("ε spent on runners = %v, want 1", spent["runners"])
			}
			if log, _ := d.SentLog(ctx, 0); len(log) != tt.stored {
				t.Errorf("sent log has %d entries, want %d", len(log), tt.stored)
			}
		})
	}
}

// TestOutboxKillChild is the device process TestOutboxKill kills.
func TestOutboxKillChild(t *testing.T) {
	dir := os.Getenv("WISP_KILL_DIR")
	if dir == "" {
		t.Skip("only run as TestOutboxKill's child")
	}
	key, err := sandbox.ParsePrivateKey(os.Getenv("WISP_KILL_KEY"))
	if err != nil {
		t.Fatal(err)
	}
	now, err := time.Parse(time.RFC3339Nano, os.Getenv("WISP_KILL_NOW"))
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: now}
	ckey, err := base64.StdEncoding.DecodeString(os.Getenv("WISP_KILL_CAMPAIGN_KEY"))
	if err != nil {
		t.Fatal(err)
	}
	d := testDevice(t, dir, clock, author{key: key}, &testAggregator{URL: os.Getenv("WISP_KILL_URL"), key: ckey})
	step := os.Getenv("WISP_KILL_STEP")
	d.fault = func(s string) error {
		if s == step {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // wait for the signal
		}
		return nil
	}
	d.Flush(context.Background())
	t.Fatalf("step %s was never reached", step)
}
