package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeviceLifetimeBudgetSettings: `wisp device init` writes the long-term
// budgets to device.json, every later command reads them, and the owner's
// view shows them; a device.json written before they existed keeps host's
// defaults (ε 8 per topic, 64 in all, 365 days).
func TestDeviceLifetimeBudgetSettings(t *testing.T) {
	dev := filepath.Join(t.TempDir(), "dev")
	runWisp(t, "device", "init", "--dir", dev, "--allow-unsigned",
		"--category-epsilon", "3", "--lifetime-epsilon", "20", "--lifetime-window", "30d")
	path := filepath.Join(dev, deviceSettingsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s["category_epsilon"] != 3.0 || s["lifetime_epsilon"] != 20.0 || s["lifetime_window"] != "720h0m0s" {
		t.Fatalf("device.json %s: want the long-term budgets", b)
	}
	out := runWisp(t, "device", "status", "--dir", dev)
	if !strings.Contains(out, "Privacy budget, long term (the last 30 days,") || !strings.Contains(out, "All topics: ε 0.00 of 20.00 used") {
		t.Errorf("status does not show the configured budgets:\n%s", out)
	}

	// device.json of an older init, without the long-term budgets.
	delete(s, "category_epsilon")
	delete(s, "lifetime_epsilon")
	delete(s, "lifetime_window")
	b, _ = json.Marshal(s)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out = runWisp(t, "device", "status", "--dir", dev)
	if !strings.Contains(out, "(the last 365 days,") || !strings.Contains(out, "All topics: ε 0.00 of 64.00 used") {
		t.Errorf("an older device.json does not keep the defaults:\n%s", out)
	}

	for _, bad := range [][]string{{"--category-epsilon", "0"}, {"--lifetime-epsilon", "-1"}, {"--lifetime-window", "0s"}} {
		root := newRootCmd()
		root.SetOut(new(strings.Builder))
		root.SetErr(new(strings.Builder))
		root.SetArgs(append([]string{"device", "init", "--dir", filepath.Join(t.TempDir(), "x"), "--allow-unsigned"}, bad...))
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "--lifetime-window a positive duration") {
			t.Errorf("init %v: %v, want a clear refusal", bad, err)
		}
	}
}
