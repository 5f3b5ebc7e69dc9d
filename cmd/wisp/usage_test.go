package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// runErr runs `wisp args...` in process and returns its error.
func runErr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// TestWrongInvocations runs wrong invocations of the CLI: each must fail
// with an error that names what was expected and gives an example, and
// no Go-internal text (parser errors, cobra's defaults).
func TestWrongInvocations(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want []string // substrings of the error
	}{
		{[]string{"demo", "--devices", "abc"}, []string{"--devices", "whole number", `"abc"`}},
		{[]string{"demo", "--devices", "-5"}, []string{"--devices", "at least 1", "-5"}},
		{[]string{"demo", "--workers", "0"}, []string{"--workers", "at least 1"}},
		{[]string{"demo", "--mode", "dap"}, []string{"--mode", "ldp or prio3", `"dap"`}},
		{[]string{"demo", "--bogus"}, []string{"no flag --bogus", "--devices"}},
		{[]string{"demo", "extra"}, []string{"takes no arguments", `"extra"`}},
		{[]string{"bench", "privacy", "--n"}, []string{"--n needs a value", "whole number"}},
		{[]string{"bench", "privacy", "--seed", "x"}, []string{"--seed", `"x"`}},
		{[]string{"devcie"}, []string{`no command "devcie"`, "device"}},
		{[]string{"device", "bogus"}, []string{`no command "bogus"`, "init"}},
		{[]string{"plugin", "sign"}, []string{"1 argument: <plugin dir>", "got no arguments"}},
		{[]string{"plugin", "verify", "x"}, []string{"2 arguments: <signed manifest> <wasm>", `"x"`}},
		{[]string{"plugin", "inspect"}, []string{"<wasm>"}},
		{[]string{"plugin", "test", "a", "b"}, []string{"at most 1 argument"}},
		{[]string{"plugin", "test"}, []string{"a plugin directory", "--wasm, --manifest and --fixtures"}},
		{[]string{"plugin", "test", "--wasm", "x.wasm"}, []string{"--manifest and --fixtures"}},
		{[]string{"plugin", "test", dir}, []string{"not a plugin directory", "no manifest.json", "wisp plugin new"}},
		{[]string{"plugin", "sign", dir}, []string{"not a plugin directory"}},
		{[]string{"plugin", "new"}, []string{"<name>"}},
		{[]string{"plugin", "build"}, []string{"<plugin dir>"}},
		{[]string{"device", "--dir", dir, "consent", "grant"}, []string{"at least 1 argument", "plugin:NAME"}},
		{[]string{"device", "--dir", dir, "events", "import"}, []string{"<file.jsonl | ->"}},
		{[]string{"device", "--dir", dir, "install"}, []string{"<plugin.wasm | fitness>"}},
		{[]string{"device", "--dir", dir, "run", "--every", "soon"}, []string{"--every", "duration", `"soon"`}},
		{[]string{"device", "--dir", dir, "init", "--daily-epsilon", "lots"}, []string{"--daily-epsilon", "a number"}},
		{[]string{"device", "--dir", dir, "init", "--retention", "30x"}, []string{"--retention", "duration", "30d"}},
		{[]string{"device", "--dir", dir, "plugins", "fitness", "--retention", "week"}, []string{"--retention", "duration"}},
		{[]string{"aggregator", "serve", "--min-epoch", "3600"}, []string{"--min-epoch", "duration"}},
		{[]string{"aggregator", "serve", "--log-level", "loud"}, []string{"--log-level", "debug, info, warn or error"}},
		{[]string{"aggregator", "keys", "expire"}, []string{"1 argument: ID"}},
		{[]string{"aggregator", "keys", "expire", "abc"}, []string{`key id "abc"`, "0–255"}},
		{[]string{"aggregator", "tokens", "revoke"}, []string{"1 argument: ID"}},
		{[]string{"aggregator", "serve", "--max-epsilon", "big"}, []string{"--max-epsilon", "a number"}},
		{[]string{"aggregator", "serve", "--grace", "5"}, []string{"--grace", "duration"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, err := runErr(t, tc.args...)
			if err == nil {
				t.Fatalf("no error; printed:\n%s", out)
			}
			msg := err.Error()
			for _, w := range append(tc.want, "e.g.") {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			for _, bad := range []string{"strconv", "parsing", "invalid syntax", "arg(s)", "accepts", "batch size", "pflag", "unknown shorthand"} {
				if strings.Contains(msg, bad) {
					t.Errorf("error %q shows Go-internal text %q", msg, bad)
				}
			}
		})
	}
}

// TestVersion checks wisp version and wisp --version print one line with
// the module version and the Go version.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := runErr(t, args...)
		if err != nil {
			t.Fatalf("wisp %s: %v", args[0], err)
		}
		if !strings.HasPrefix(out, "wisp ") || !strings.Contains(out, "go1.") || strings.Count(out, "\n") != 1 {
			t.Errorf("wisp %s printed %q, want one line: wisp VERSION [(REVISION)] goVERSION", args[0], out)
		}
	}
	if out, _ := runErr(t, "version"); out != versionString()+"\n" {
		t.Errorf("version printed %q", out)
	}
}

func TestPrettyDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0s", time.Hour: "1h", 90 * time.Minute: "1h30m", time.Minute: "1m",
		720 * time.Hour: "30d", 36 * time.Hour: "1d12h", 1500 * time.Millisecond: "1.5s"} {
		if got := prettyDuration(d); got != want {
			t.Errorf("prettyDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := parseDuration(want); err != nil || back != d {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", want, back, err, d)
		}
	}
}
