package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/plugins"
)

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"1.2.10", "1.2.9", 1}, {"1.0", "1.0.0", 0}, {"v2.0.0", "1.9.9", 1}, {"1.0.0", "1.0.1", -1}, {"1.0.0-rc1", "1.0.0-rc2", -1}} {
		if got := compareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestInstallVersions: an upgrade says the consent was kept, a downgrade
// is refused without --allow-downgrade, a same-version reinstall is noted.
func TestInstallVersions(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "dev")
	wasm := filepath.Join(dir, "ex.wasm")
	must(t, os.WriteFile(wasm, plugins.Example, 0o644))
	manifest := func(v string) string {
		p := filepath.Join(dir, "ex-"+v+".json")
		must(t, os.WriteFile(p, []byte(fmt.Sprintf(`{"name":"ex","version":%q,"abi":1,"categories":[706]}`, v)), 0o644))
		return p
	}
	runWisp(t, "device", "--dir", dev, "init", "--allow-unsigned")
	if out := runWisp(t, "device", "--dir", dev, "install", wasm, "--manifest", manifest("1.0.0")); !strings.Contains(out, "installed ex 1.0.0") || !strings.Contains(out, "off until") {
		t.Errorf("first install: %s", out)
	}
	if out := runWisp(t, "device", "--dir", dev, "install", wasm, "--manifest", manifest("1.1.0")); !strings.Contains(out, "upgraded ex from 1.0.0 to 1.1.0") || !strings.Contains(out, "off until") {
		t.Errorf("upgrade without consent: %s", out)
	}
	runWisp(t, "device", "--dir", dev, "consent", "grant", "plugin:ex")
	if out := runWisp(t, "device", "--dir", dev, "install", wasm, "--manifest", manifest("1.2.0")); !strings.Contains(out, "upgraded ex from 1.1.0 to 1.2.0") || !strings.Contains(out, "consent is kept: it is on") {
		t.Errorf("upgrade with consent: %s", out)
	}
	if out, err := runErr(t, "device", "--dir", dev, "install", wasm, "--manifest", manifest("1.0.5")); err == nil || !strings.Contains(err.Error(), "--allow-downgrade") {
		t.Errorf("downgrade: %v\n%s", err, out)
	}
	if out := runWisp(t, "device", "--dir", dev, "install", wasm, "--manifest", manifest("1.0.5"), "--allow-downgrade"); !strings.Contains(out, "downgraded ex from 1.2.0 to 1.0.5") {
		t.Errorf("downgrade allowed: %s", out)
	}
	if out := runWisp(t, "device", "--dir", dev, "install", wasm, "--manifest", manifest("1.0.5")); !strings.Contains(out, "reinstalled ex 1.0.5") || !strings.Contains(out, "already installed") {
		t.Errorf("same version: %s", out)
	}
}
