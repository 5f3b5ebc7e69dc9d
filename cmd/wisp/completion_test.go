package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDynamicCompletion: purposes, plugin names, token and key ids complete
// from the device and the store; a missing device completes nothing.
func TestDynamicCompletion(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "dev")
	complete := func(args ...string) string {
		return runWisp(t, append([]string{"__complete"}, args...)...)
	}
	if out := complete("device", "--dir", dev, "consent", "grant", ""); strings.Contains(out, "plugin:") {
		t.Errorf("completion on no device: %s", out)
	}
	runWisp(t, "device", "--dir", dev, "init", "--allow-unsigned")
	runWisp(t, "device", "--dir", dev, "install", "fitness")
	if out := complete("device", "--dir", dev, "consent", "grant", "plu"); !strings.Contains(out, "plugin:fitness\n") {
		t.Errorf("consent grant completion:\n%s", out)
	}
	if out := complete("device", "--dir", dev, "consent", "revoke", ""); strings.Contains(out, "plugin:fitness") {
		t.Errorf("consent revoke offers a purpose not granted:\n%s", out)
	}
	runWisp(t, "device", "--dir", dev, "consent", "grant", "plugin:fitness")
	if out := complete("device", "--dir", dev, "consent", "revoke", ""); !strings.Contains(out, "plugin:fitness\n") {
		t.Errorf("consent revoke completion:\n%s", out)
	}
	for _, cmd := range []string{"remove", "forget", "plugins"} {
		if out := complete("device", "--dir", dev, cmd, ""); !strings.Contains(out, "fitness\n") {
			t.Errorf("device %s completion:\n%s", cmd, out)
		}
	}
	spec := "sqlite:" + filepath.Join(dir, "agg.db")
	if out := complete("aggregator", "tokens", "revoke", "--store", spec, ""); strings.Contains(out, "\t") {
		t.Errorf("token completion on no store:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "agg.db")); err == nil {
		t.Error("completion created the store")
	}
	runWisp(t, "aggregator", "tokens", "create", "--store", spec, "--name", "dash", "--tenant", "acme")
	if out := complete("aggregator", "tokens", "revoke", "--store", spec, ""); !strings.Contains(out, "\tmarketer acme dash") {
		t.Errorf("token completion:\n%s", out)
	}
	runWisp(t, "aggregator", "keys", "rotate", "--force", "--store", spec)
	if out := complete("aggregator", "keys", "expire", "--store", spec, ""); !strings.Contains(out, "1\tactive\n") || !strings.Contains(out, "2\tpending\n") {
		t.Errorf("key id completion:\n%s", out)
	}
	runWisp(t, "aggregator", "keys", "expire", "2", "--store", spec)
	if out := complete("aggregator", "keys", "expire", "--store", spec, ""); strings.Contains(out, "2\t") {
		t.Errorf("key id completion offers an expired key:\n%s", out)
	}
}
