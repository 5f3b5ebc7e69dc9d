// Command deviceonly embeds the full device runtime (package host) with no
// aggregator: it installs a plugin, records the owner's events and prints
// the interest profile the device keeps. Its binary size is the device
// runtime's in docs/BENCHMARKS.md.
//
//	deviceonly plugin.wasm workdir
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/host/sandbox"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "deviceonly:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: deviceonly plugin.wasm workdir")
	}
	wasm, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	d, err := host.Open(ctx, args[1], host.NewDeviceConfig().WithUnsignedPlugins(true).WithClock(func() time.Time { return now }))
	if err != nil {
		return err
	}
	defer d.Close(ctx)
	if _, err := d.InstallUnsigned(ctx, sandbox.Manifest{Name: "workouts", Version: "1", Categories: []uint32{410, 625}}, wasm); err != nil {
		return err
	}
	if err := d.Grant(ctx, host.PluginPurpose("workouts")); err != nil {
		return err
	}
	if err := d.RecordEvent(ctx, "workouts", host.Event{Kind: 3, Code: 1, Time: now, Value: 40}); err != nil {
		return err
	}
	if _, err := d.RunOnce(ctx); err != nil {
		return err
	}
	interests, err := d.Interests(ctx, 1)
	if err != nil {
		return err
	}
	for _, in := range interests {
		fmt.Printf("interest %d %s\n", in.Category, in.Name)
	}
	return nil
}
