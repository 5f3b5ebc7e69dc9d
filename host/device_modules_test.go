package host

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wisp-project/wisp/host/sandbox"
)

// otherWorkouts is workoutsWasm with a custom section appended: another
// module (another digest) that runs the same.
var otherWorkouts = append(slices.Clip(workoutsWasm), 0, 3, 1, 'x', 0)

func unsignedDevice(t *testing.T, dir string, opts ...func(DeviceConfig) DeviceConfig) *Device {
	t.Helper()
	opts = append([]func(DeviceConfig) DeviceConfig{func(c DeviceConfig) DeviceConfig { return c.WithUnsignedPlugins(true) }}, opts...)
	return testDevice(t, dir, newFakeClock(), newAuthor(t), nil, opts...)
}

func installUnsigned(t *testing.T, d *Device, name string, wasm []byte) {
	t.Helper()
	if _, err := d.InstallUnsigned(context.Background(), sandbox.Manifest{Name: name, Categories: []uint32{410, 625}}, wasm); err != nil {
		t.Fatal(err)
	}
}

// moduleFilesIn lists the module files in a device's folder, by the hex
// digest they are named by.
func moduleFilesIn(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, ModulesDir))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Name() != lockName {
			out = append(out, e.Name())
		}
	}
	return out
}

func fileOf(wasm []byte) string {
	sum := sha256.Sum256(wasm)
	return hex.EncodeToString(sum[:]) + ".wasm"
}

// running reports, by name, whether each installed plugin runs.
func running(t *testing.T, d *Device) map[string]bool {
	t.Helper()
	list, err := d.Plugins(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, p := range list {
		out[p.Name] = p.Running
	}
	return out
}

func TestModuleFilesFollowTheRows(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := unsignedDevice(t, dir)
	installUnsigned(t, d, "a", workoutsWasm)
	installUnsigned(t, d, "b", workoutsWasm)
	if got, want := moduleFilesIn(t, dir), []string{fileOf(workoutsWasm)}; !slices.Equal(got, want) {
		t.Fatalf("two plugins of one module: files %v, want %v", got, want)
	}
	if b, err := os.ReadFile(filepath.Join(dir, ModulesDir, fileOf(workoutsWasm))); err != nil || !slices.Equal(b, workoutsWasm) {
		t.Fatalf("the module file holds %d bytes (%v), want the module's %d", len(b), err, len(workoutsWasm))
	}
	installUnsigned(t, d, "a", otherWorkouts) // an upgrade to other bytes
	want := []string{fileOf(workoutsWasm), fileOf(otherWorkouts)}
	slices.Sort(want)
	if got := moduleFilesIn(t, dir); !slices.Equal(got, want) {
		t.Fatalf("after the upgrade: files %v, want %v", got, want)
	}
	if err := d.Remove(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if got, want := moduleFilesIn(t, dir), []string{fileOf(otherWorkouts)}; !slices.Equal(got, want) {
		t.Fatalf("after removing b: files %v, want %v (b's module is no row's)", got, want)
	}
	d.Close(ctx)

	// What a crash can leave: a temporary file, a file whose row never
	// committed. The next open removes them and keeps a's.
	for _, name := range []string{"." + fileOf(workoutsWasm) + ".tmp-X", fileOf(workoutsWasm)} {
		if err := os.WriteFile(filepath.Join(dir, ModulesDir, name), workoutsWasm, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d = unsignedDevice(t, dir)
	if got, want := moduleFilesIn(t, dir), []string{fileOf(otherWorkouts)}; !slices.Equal(got, want) {
		t.Errorf("after reopening: files %v, want %v", got, want)
	}
	if got := running(t, d); len(got) != 1 || !got["a"] {
		t.Errorf("after reopening: plugins %v, want a running", got)
	}
}

// A module file changed on disk (to another module that would run) is
// refused at the next open, signed or not, and a missing one leaves the
// plugin installed but not running; the bytes put back run again.
func TestModuleFileTamperedIsRefused(t *testing.T) {
	ctx := context.Background()
	for _, signed := range []bool{false, true} {
		dir := t.TempDir()
		clock := newFakeClock()
		a := newAuthor(t)
		open := func() *Device {
			return testDevice(t, dir, clock, a, nil, func(c DeviceConfig) DeviceConfig { return c.WithUnsignedPlugins(!signed) })
		}
		d := open()
		if signed {
			if _, err := d.Install(ctx, a.signedManifest, workoutsWasm); err != nil {
				t.Fatal(err)
			}
		} else {
			installUnsigned(t, d, "workouts", workoutsWasm)
		}
		d.Close(ctx)
		path := filepath.Join(dir, ModulesDir, fileOf(workoutsWasm))
		// Another valid module: only the digest tells it from the one
		// installed.
		if err := os.WriteFile(path, otherWorkouts, 0o600); err != nil {
			t.Fatal(err)
		}
		d = open()
		if got := running(t, d); len(got) != 1 || got["workouts"] {
			t.Errorf("signed %v: with the module file changed, plugins %v, want workouts installed, not running", signed, got)
		}
		d.Close(ctx)
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		d = open()
		if got := running(t, d); len(got) != 1 || got["workouts"] {
			t.Errorf("signed %v: with the module file gone, plugins %v, want workouts installed, not running", signed, got)
		}
		d.Close(ctx)
		if err := os.WriteFile(path, workoutsWasm, 0o600); err != nil {
			t.Fatal(err)
		}
		d = open()
		if got := running(t, d); !got["workouts"] {
			t.Errorf("signed %v: with the module put back, plugins %v, want workouts running", signed, got)
		}
	}
}

// A data directory from before device.db's migration 9 (the module in the
// row) opens with its plugin running and its module moved to a file.
func TestModuleMovesOutOfAnOldDataDir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newFakeClock()
	d, a := readyDevice(t, dir, clock, nil)
	d.Close(ctx)
	// Make it what migration 8 left: the bytes in plugin_modules.wasm, no
	// sha256 column, no module folder.
	db, err := sql.Open("sqlite", filepath.Join(dir, DeviceDB))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE plugin_modules SET wasm = ?`,
		`ALTER TABLE plugin_modules DROP COLUMN sha256`,
		`PRAGMA user_version = 8`,
	} {
		var args []any
		if q == `UPDATE plugin_modules SET wasm = ?` {
			args = []any{workoutsWasm}
		}
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	if err := os.RemoveAll(filepath.Join(dir, ModulesDir)); err != nil {
		t.Fatal(err)
	}

	d = testDevice(t, dir, clock, a, nil)
	if got := running(t, d); !got["workouts"] {
		t.Fatalf("the old data dir's plugins: %v, want workouts running", got)
	}
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if in, err := d.Interests(ctx, 1); err != nil || len(in) != 1 || in[0].Category != 410 {
		t.Errorf("the old data dir's interests: %+v, %v, want Running", in, err)
	}
	if got, want := moduleFilesIn(t, dir), []string{fileOf(workoutsWasm)}; !slices.Equal(got, want) {
		t.Errorf("module files: %v, want %v", got, want)
	}
	d.Close(ctx)
	db, err = sql.Open("sqlite", "file:"+filepath.Join(dir, DeviceDB)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT length(wasm) FROM plugin_modules`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the row still holds %d bytes of module (%v), want 0", n, err)
	}
}

// Devices sharing a module folder hold one file of a module between them,
// and a device's removal takes nothing from the others.
func TestSharedModulesAreStoredOnce(t *testing.T) {
	ctx := context.Background()
	shared := filepath.Join(t.TempDir(), "shared")
	withShared := func(c DeviceConfig) DeviceConfig { return c.WithSharedModules(shared) }
	dirs := []string{t.TempDir(), t.TempDir()}
	var devices []*Device
	for _, dir := range dirs {
		d := unsignedDevice(t, dir, withShared)
		installUnsigned(t, d, "workouts", workoutsWasm)
		devices = append(devices, d)
	}
	src, err := os.Stat(filepath.Join(shared, fileOf(workoutsWasm)))
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		fi, err := os.Stat(filepath.Join(dir, ModulesDir, fileOf(workoutsWasm)))
		if err != nil || !os.SameFile(src, fi) {
			t.Fatalf("%s's module file is not the shared one: %v", dir, err)
		}
	}
	if err := devices[0].Remove(ctx, "workouts"); err != nil {
		t.Fatal(err)
	}
	if got := moduleFilesIn(t, dirs[0]); len(got) != 0 {
		t.Errorf("after Remove, the device keeps %v", got)
	}
	devices[1].Close(ctx)
	d := unsignedDevice(t, dirs[1], withShared)
	if got := running(t, d); !got["workouts"] {
		t.Errorf("the other device after reopening: %v, want workouts running", got)
	}
	if _, err := os.Stat(filepath.Join(shared, fileOf(workoutsWasm))); err != nil {
		t.Errorf("the shared file: %v", err)
	}
}
