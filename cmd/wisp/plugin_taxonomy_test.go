package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
)

// badPluginDir writes a plugin directory whose manifest declares 65000,
// which is no IAB Audience Taxonomy 1.1 id, beside the real 706.
func badPluginDir(t *testing.T, fixtures string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bad")
	must(t, os.MkdirAll(filepath.Join(dir, "testdata"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"name":"bad","version":"1.0.0","abi":1,"categories":[706,65000]}`), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "bad.wasm"), plugins.Example, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "testdata", "fixtures.json"), []byte(fixtures), 0o644))
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const goodFixtures = `{"plugin":"bad","cases":[{"name":"an hour","events":[{"kind":1,"value":60}],"want":{"706":0.5}}]}`

// TestUndeclaredTaxonomyCategories: a manifest category that is not an
// IAB Audience Taxonomy 1.1 id fails plugin test, sign, verify, inspect
// (non-zero exit) and device install, each naming the id.
func TestUndeclaredTaxonomyCategories(t *testing.T) {
	dir := badPluginDir(t, goodFixtures)
	wasm := filepath.Join(dir, "bad.wasm")
	key, err := sandbox.GenerateKey(sandbox.Ed25519, nil)
	must(t, err)
	keyPath := filepath.Join(dir, "author.key")
	must(t, os.WriteFile(keyPath, []byte(key.String()+"\n"), 0o600))
	trust := filepath.Join(dir, "trust.txt")
	must(t, os.WriteFile(trust, []byte(key.Public().String()+" test\n"), 0o644))
	// A signed manifest made without the CLI's check, as another tool might.
	signed, err := sandbox.SignManifest(sandbox.Manifest{Name: "bad", Version: "1.0.0", ABI: 1, Categories: []uint32{706, 65000}}, plugins.Example, key)
	must(t, err)
	signedPath := filepath.Join(dir, "bad.manifest.json")
	must(t, os.WriteFile(signedPath, signed, 0o644))
	dev := filepath.Join(t.TempDir(), "dev")
	runWisp(t, "device", "--dir", dev, "init", "--allow-unsigned")

	for _, args := range [][]string{
		{"plugin", "test", dir},
		{"plugin", "sign", dir, "--key", keyPath, "-o", filepath.Join(dir, "out.json")},
		{"plugin", "verify", "--trust", trust, signedPath, wasm},
		{"plugin", "inspect", wasm, "--manifest", filepath.Join(dir, "manifest.json")},
		{"plugin", "inspect", wasm, "--manifest", filepath.Join(dir, "manifest.json"), "--json"},
		{"device", "--dir", dev, "install", wasm, "--manifest", filepath.Join(dir, "manifest.json")},
		{"device", "--dir", dev, "install", wasm, "--manifest", signedPath},
	} {
		out, err := runErr(t, args...)
		if err == nil {
			t.Errorf("wisp %s: no error\n%s", strings.Join(args, " "), out)
			continue
		}
		if !strings.Contains(err.Error()+out, "65000 is not an IAB Audience Taxonomy 1.1 id") {
			t.Errorf("wisp %s: %v\n%s\nwant it to name category 65000", strings.Join(args, " "), err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out.json")); err == nil {
		t.Error("sign wrote a signed manifest for a plugin with a category outside the taxonomy")
	}
}

// TestPluginTestFixtureErrors: `wisp plugin test` refuses fixture files
// that would pass without testing anything or test another plugin.
func TestPluginTestFixtureErrors(t *testing.T) {
	for _, tc := range []struct{ fixtures, want string }{
		{`{"plugin":"bad","cases":[]}`, "no cases"},
		{`{"plugin":"bad","cases":[{"events":[{"kind":1,"valeu":60}],"want":{"706":0.5}}]}`, `unknown field "valeu"`},
		{`{"plugin":"bad","cases":[{"events":[{"kind":1,"value":60}],"wnat":{"706":0.5}}]}`, `unknown field "wnat"`},
		{`{"plugin":"tv","cases":[{"events":[],"only":true}]}`, `for plugin "tv"`},
		{`{"cases":[{"events":[],"want":{"707":0.5}}]}`, "category 707 is not among the manifest's categories"},
		{`{"cases":[{"name":"wrong","events":[{"kind":1,"value":60}],"want":{"706":0.9}}]}`, "1 of 1 fixtures failed"},
	} {
		dir := badPluginDir(t, tc.fixtures)
		// The taxonomy check would stop first: use a good manifest here.
		must(t, os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"name":"bad","version":"1.0.0","abi":1,"categories":[706]}`), 0o644))
		out, err := runErr(t, "plugin", "test", dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("fixtures %s: %v\n%s\nwant an error containing %q", tc.fixtures, err, out, tc.want)
		}
	}
	dir := badPluginDir(t, goodFixtures)
	must(t, os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"name":"bad","version":"1.0.0","abi":1,"categories":[706]}`), 0o644))
	if out, err := runErr(t, "plugin", "test", dir); err != nil || !strings.Contains(out, "ok  bad: 1 fixture, run twice") {
		t.Errorf("good fixtures: %v\n%s", err, out)
	}
}
