package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/plugins"
)

// runPlugin runs `wisp plugin args...` in process.
func runPlugin(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"plugin"}, args...))
	err := root.Execute()
	return out.String(), err
}

// TestPluginWorkflow scaffolds, builds, tests, signs, verifies and inspects
// a plugin in each language whose toolchain is installed.
func TestPluginWorkflow(t *testing.T) {
	sdk, err := filepath.Abs("../../sdk")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ lang, tool string }{{"wat", "wat2wasm"}, {"c", "clang"}, {"go", "go"}, {"assemblyscript", "npm"}} {
		t.Run(tc.lang, func(t *testing.T) {
			if _, err := exec.LookPath(tc.tool); err != nil {
				t.Skipf("%s not installed", tc.tool)
			}
			dir := t.TempDir()
			pdir := filepath.Join(dir, "demo"+tc.lang)
			steps := [][]string{
				{"new", "demo" + tc.lang, "--lang", tc.lang, "--dir", dir, "--sdk", sdk},
				{"build", pdir, "--sdk", sdk},
				{"test", pdir},
				{"keygen", "-o", filepath.Join(dir, "author.key")},
			}
			var pub string
			for _, s := range steps {
				out, err := runPlugin(t, s...)
				if err != nil {
					t.Fatalf("wisp plugin %s: %v\n%s", strings.Join(s, " "), err, out)
				}
				if s[0] == "keygen" {
					lines := strings.Split(strings.TrimSpace(out), "\n")
					pub = lines[len(lines)-1]
				}
			}
			trust := filepath.Join(dir, "trust.txt")
			if err := os.WriteFile(trust, []byte(pub+" test author\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			signed := filepath.Join(pdir, "demo"+tc.lang+".manifest.json")
			wasm := filepath.Join(pdir, "demo"+tc.lang+".wasm")
			for _, s := range [][]string{
				{"sign", pdir, "--key", filepath.Join(dir, "author.key")},
				{"verify", "--trust", trust, signed, wasm},
				{"inspect", wasm, "--manifest", signed},
			} {
				out, err := runPlugin(t, s...)
				if err != nil {
					t.Fatalf("wisp plugin %s: %v\n%s", strings.Join(s, " "), err, out)
				}
				if s[0] == "inspect" && (!strings.Contains(out, "abi:      v1") || strings.Contains(out, "PROBLEM")) {
					t.Fatalf("inspect:\n%s", out)
				}
			}
			// A tampered module is refused with the reason.
			b, _ := os.ReadFile(wasm)
			os.WriteFile(wasm, append(b, 0), 0o644)
			if out, err := runPlugin(t, "verify", "--trust", trust, signed, wasm); err == nil || !strings.Contains(err.Error(), "digest") {
				t.Fatalf("verify of a changed module: %v\n%s", err, out)
			}
		})
	}
}

// TestPluginTestRawEventsAndVerbose: --raw-events runs a plugin that opts
// into summaries on the raw path it must still accept (summaryonly fails
// there, and passes as a device runs it); -v shows its wisp.log line; a
// plugin without the opt-in is told it gets raw events already.
func TestPluginTestRawEventsAndVerbose(t *testing.T) {
	wasm, err := os.ReadFile("../../testdata/plugins/hostile/summaryonly.wasm")
	must(t, err)
	dir := filepath.Join(t.TempDir(), "summaryonly")
	must(t, os.MkdirAll(filepath.Join(dir, "testdata"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"name":"summaryonly","version":"1.0.0","abi":1,"categories":[706]}`), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "summaryonly.wasm"), wasm, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "testdata", "fixtures.json"), []byte(`{"cases":[{"name":"one","events":[{"kind":1,"value":1}],"only":true}]}`), 0o644))
	const logLine = "summaryonly: a raw batch, refused"

	out, err := runPlugin(t, "test", dir)
	if err != nil || !strings.Contains(out, "ok  summaryonly: 1 fixture, run twice") || !strings.Contains(out, "as a device sends them") {
		t.Fatalf("plugin test: %v\n%s", err, out)
	}
	out, err = runPlugin(t, "test", dir, "--raw-events")
	if err == nil || !strings.Contains(out, "ErrCodeBadInput") || strings.Contains(out, logLine) {
		t.Fatalf("plugin test --raw-events: %v, want a failure naming ErrCodeBadInput and no log line\n%s", err, out)
	}
	out, err = runPlugin(t, "test", dir, "--raw-events", "-v")
	if err == nil || !strings.Contains(out, logLine) {
		t.Fatalf("plugin test --raw-events -v: %v, want the plugin's log line\n%s", err, out)
	}

	must(t, os.WriteFile(filepath.Join(dir, "summaryonly.wasm"), plugins.Example, 0o644))
	if out, err := runPlugin(t, "test", dir, "--raw-events"); err == nil || !strings.Contains(err.Error(), "gets raw events already") {
		t.Fatalf("plugin test --raw-events of a raw-events plugin: %v\n%s", err, out)
	}
}
