package archtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestOutsideModule builds testdata/outside, a module of its own that
// imports Wisp through a replace directive, and runs its programs: a
// device maker's (device + aggregator, public doors only), a device with
// no aggregator, and the sandbox-only one. A public signature that needs an internal type, or a
// door that stops working for an outsider, fails it.
func TestOutsideModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a second module; skipped with -short")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	mod := copyOutsideModule(t, root)
	bin := t.TempDir()
	gobuild := exec.Command("go", "build", "-o", bin+string(filepath.Separator), "./...")
	gobuild.Dir = mod
	gobuild.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := gobuild.CombinedOutput(); err != nil {
		t.Fatalf("the outside module does not build against Wisp's public API: %v\n%s", err, out)
	}

	wasm := filepath.Join(root, "host", "testdata", "device_workouts.wasm")
	out := run(t, filepath.Join(bin, "sandboxonly"), wasm, "410", "625")
	if !regexp.MustCompile(`(?m)^score 410 0\.\d\d$`).MatchString(out) {
		t.Errorf("sandboxonly printed no score for category 410:\n%s", out)
	}
	out = run(t, filepath.Join(bin, "deviceonly"), wasm, t.TempDir())
	if !strings.Contains(out, "interest 410 Interest | Healthy Living | Fitness and Exercise | Running and Jogging\n") {
		t.Errorf("deviceonly printed no Running interest:\n%s", out)
	}
	out = run(t, filepath.Join(bin, "device"), wasm, t.TempDir())
	for _, want := range []string{"sent 1\n", "left: runners accepted\n", "campaigns 1 refused 0 first runners\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("device output lacks %q:\n%s", want, out)
		}
	}

	deps := exec.Command("go", "list", "-deps", "./sandboxonly")
	deps.Dir = mod
	deps.Env = gobuild.Env
	list, err := deps.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(list)) {
		for _, f := range storageAndNetwork {
			if under(p, f) {
				t.Errorf("the sandbox-only program links %s", p)
			}
		}
	}
}

// copyOutsideModule copies testdata/outside to a temporary directory with
// its replace directive pointing at root and Wisp's go.sum beside it (the
// outside module needs exactly Wisp's dependencies).
func copyOutsideModule(t *testing.T, root string) string {
	t.Helper()
	src := filepath.Join(root, "testdata", "outside")
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == "go.mod" {
			b = []byte(strings.Replace(string(b), "=> ../..", "=> "+root, 1))
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
	}
	return string(out)
}
