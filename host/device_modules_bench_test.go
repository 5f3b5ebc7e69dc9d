package host

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
)

// fleetConfig is how a process hosting many devices opens them: one shared
// runtime in which the 2.6 MB Go fitness plugin is compiled already.
func fleetConfig(b *testing.B) DeviceConfig {
	ctx := context.Background()
	rt, err := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().WithCompilationCacheDir(filepath.Join(b.TempDir(), "cache")))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close(ctx) })
	p, err := rt.Load(ctx, fitnessManifest, plugins.Fitness)
	if err != nil {
		b.Fatal(err)
	}
	p.Close(ctx)
	return NewDeviceConfig().WithSandbox(rt).WithUnsignedPlugins(true).WithClock(newFakeClock().Now)
}

var fitnessManifest = sandbox.Manifest{Name: "fitness", Version: "1.0.0", ABI: 1, Categories: []uint32{410, 625}}

// BenchmarkDeviceInstall: a new device's InstallUnsigned of the Go fitness
// plugin (load: hash, start an instance; store: the module and its row,
// durably), the opening and closing of the device untimed.
func BenchmarkDeviceInstall(b *testing.B) {
	for _, tt := range []struct {
		name string
		cfg  func(DeviceConfig, string) DeviceConfig
	}{
		{"own", func(c DeviceConfig, _ string) DeviceConfig { return c }},
		{"shared", func(c DeviceConfig, dir string) DeviceConfig {
			return c.WithSharedModules(filepath.Join(dir, "shared"))
		}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			ctx := context.Background()
			base := tt.cfg(fleetConfig(b), b.TempDir())
			root := b.TempDir()
			i := 0
			for b.Loop() {
				b.StopTimer()
				i++
				d, err := Open(ctx, filepath.Join(root, time.Duration(i).String()), base)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := d.InstallUnsigned(ctx, fitnessManifest, plugins.Fitness); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				d.Close(ctx)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkDeviceReopen: Open and Close of a device with the fitness
// plugin installed (reading the module back, checking its digest, starting
// an instance).
func BenchmarkDeviceReopen(b *testing.B) {
	ctx := context.Background()
	cfg := fleetConfig(b)
	dir := b.TempDir()
	d, err := Open(ctx, dir, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.InstallUnsigned(ctx, fitnessManifest, plugins.Fitness); err != nil {
		b.Fatal(err)
	}
	d.Close(ctx)
	for b.Loop() {
		d, err := Open(ctx, dir, cfg)
		if err != nil {
			b.Fatal(err)
		}
		d.Close(ctx)
	}
}
