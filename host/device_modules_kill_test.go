//go:build unix

package host

import (
	"os"
	"slices"
	"syscall"
	"testing"

	"github.com/wisp-project/wisp/internal/proctest"
)

// TestInstallKill kills a real device process with SIGKILL while it
// installs a plugin: after its module file is durable but before the row
// naming it commits, and just after InstallUnsigned returned. Reopened, the
// device has the plugin exactly when the install returned, running, and no
// module file no row names.
func TestInstallKill(t *testing.T) {
	if os.Getenv("WISP_INSTALL_KILL_DIR") != "" {
		t.Skip("in the child")
	}
	for _, tt := range []struct {
		step      string
		installed bool
	}{
		{"module-written", false},
		{"installed", true},
	} {
		t.Run(tt.step, func(t *testing.T) {
			dir := t.TempDir()
			proctest.RunUntilKilled(t, "TestInstallKillChild", tt.step, "WISP_INSTALL_KILL_DIR="+dir, "WISP_INSTALL_KILL_STEP="+tt.step)
			d := unsignedDevice(t, dir)
			got := running(t, d)
			if tt.installed && (len(got) != 1 || !got["workouts"]) {
				t.Errorf("plugins %v, want workouts running", got)
			}
			if !tt.installed && len(got) != 0 {
				t.Errorf("plugins %v, want none", got)
			}
			var want []string
			if tt.installed {
				want = []string{fileOf(workoutsWasm)}
			}
			if files := moduleFilesIn(t, dir); !slices.Equal(files, want) {
				t.Errorf("module files %v, want %v", files, want)
			}
		})
	}
}

// TestInstallKillChild is the device process TestInstallKill kills.
func TestInstallKillChild(t *testing.T) {
	dir := os.Getenv("WISP_INSTALL_KILL_DIR")
	if dir == "" {
		t.Skip("only run as TestInstallKill's child")
	}
	step := os.Getenv("WISP_INSTALL_KILL_STEP")
	kill := func() {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // wait for the signal
	}
	d := unsignedDevice(t, dir)
	d.fault = func(s string) error {
		if s == step {
			kill()
		}
		return nil
	}
	installUnsigned(t, d, "workouts", workoutsWasm)
	if step == "installed" {
		kill()
	}
	t.Fatalf("step %s was never reached", step)
}
