package host_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/host/sandbox"
)

// The owner's view in plain words: what runs, what it inferred, what was
// answered, what the budget allows, what left, and every consent decision.
// (A development device with an unsigned plugin, so the example needs no
// keys; a shipped device shows the author's key.)
func ExampleStatus_WriteText() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "wisp-device")
	defer os.RemoveAll(dir)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	d, err := host.Open(ctx, dir, host.NewDeviceConfig().WithUnsignedPlugins(true).WithClock(func() time.Time { return now }))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close(ctx)
	d.InstallUnsigned(ctx, sandbox.Manifest{Name: "workouts", Version: "0.1.0", Categories: []uint32{410, 625}}, exampleWasm)
	d.Grant(ctx, host.PluginPurpose("workouts"))
	d.RecordEvents(ctx, "workouts", []host.Event{
		{Kind: 3, Code: 1, Time: now.Add(-48 * time.Hour), Value: 50},
		{Kind: 3, Code: 2, Time: now.Add(-24 * time.Hour), Value: 20},
	})
	d.RunOnce(ctx)
	st, _ := d.Status(ctx)
	st.WriteText(os.Stdout)
	// Output:
	// Wisp on this device, 2026-11-23 09:00 UTC
	//
	// Plugins (1 installed)
	//   workouts 0.1.0, UNSIGNED (development only): on. 2 events kept, each for 30 days.
	//
	// What the plugins think you are interested in (stays on this device)
	//    45%  Interest | Healthy Living | Fitness and Exercise | Running and Jogging  (from workouts)
	//    25%  Interest | Sports | Cycling  (from workouts)
	//
	// Campaigns
	//   none known yet.
	//
	// Privacy budget, last 24 hours: ε spent 0.00 of 4.00, 4.00 left.
	// Privacy budget, long term (the last 365 days, since 2025-11-23; erasing everything starts it again):
	//   All topics: ε 0.00 of 64.00 used, 64.00 left.
	//   No answer has been about any one topic yet; each topic may use ε 8.00.
	//
	// Waiting to be sent (0)
	//
	// Reports that left this device (latest 0; their content is sealed and not kept here)
	//
	// Your consent history
	//   2026-11-23 09:00 UTC  allowed plugin workouts
	//
	// Data held about you on this device: 2 events, 2 interest scores, 0 queued reports, 0 answer records, 0 ad impressions, 0 remembered answers.
}
