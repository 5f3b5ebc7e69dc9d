package archtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/wisp-project/wisp"

// rule forbids packages under From (module-relative; "" is every package)
// from linking, directly or through others, any package under Forbid.
// Module-relative prefixes are written without the module path; outside
// packages (std, modules) are written in full.
type rule struct {
	From   string
	Except []string
	Forbid []string
	Why    string
}

// storageAndNetwork is what the sandbox must never link: a program that
// only runs plugins, and a plugin author's test, carry no database and no
// HTTP stack.
var storageAndNetwork = []string{"database/sql", "modernc.org/sqlite", "github.com/jackc/pgx/v5", "net/http"}

// rules are docs/ARCHITECTURE.md's "what may import what", as data.
var rules = []rule{
	{From: "aggregator/", Forbid: []string{"host/", "cmd/"}, Why: "the server never links device code"},
	{From: "host/", Forbid: []string{"aggregator/", "cmd/"}, Why: "a device never links server code"},
	{From: "internal/", Forbid: []string{"host/", "aggregator/", "cmd/", "plugins/"}, Why: "internal/ is code both sides share and depends on neither"},
	{From: "sdk/", Forbid: []string{"host/", "aggregator/", "internal/", "cmd/"}, Why: "the SDK builds to Wasm alone"},
	{From: "host/sandbox", Forbid: append([]string{"host/internal/", "internal/"}, storageAndNetwork...), Why: "the sandbox links no storage, network or privacy code"},
	{From: "host/plugintest", Forbid: append([]string{"host/internal/", "internal/"}, storageAndNetwork...), Why: "a plugin author's test links only the sandbox"},
	{From: "aggregator", Except: []string{"aggregator/queue"}, Forbid: []string{"github.com/nats-io"}, Why: "the server knows a queue only as the aggregator.Queue interface; aggregator/queue alone links NATS"},
	{From: "", Except: []string{"testdata"}, Forbid: []string{"testdata"}, Why: "production code never imports test fixtures"},
	{From: "", Except: []string{"internal/browsertest"}, Forbid: []string{"internal/browsertest", "github.com/chromedp"}, Why: "only tests drive a browser"},
	{From: "", Except: []string{"internal/proctest"}, Forbid: []string{"internal/proctest"}, Why: "only tests start and kill child processes"},
}

// pkg is the part of `go list -json` the rules read.
type pkg struct {
	ImportPath string
	Deps       []string
}

// listPackages runs `go list -deps` on the module's packages (production
// code only: test imports are not followed).
func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Deps", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages; the module has more", len(pkgs))
	}
	return pkgs
}

// under reports whether path (a full import path) is the module-relative
// prefix p or below it, or, for a path outside the module, equals p or is
// below it.
func under(path, p string) bool {
	if rel, ok := strings.CutPrefix(path, module+"/"); ok {
		return rel == strings.TrimSuffix(p, "/") || strings.HasPrefix(rel, strings.TrimSuffix(p, "/")+"/")
	}
	return path == p || strings.HasPrefix(path, p+"/")
}

// violations lists every (package, dependency) pair that breaks a rule.
func violations(pkgs []pkg, rules []rule) []string {
	var bad []string
	for _, p := range pkgs {
		if !strings.HasPrefix(p.ImportPath, module) {
			continue
		}
		for _, r := range rules {
			if r.From != "" && !under(p.ImportPath, r.From) || excepted(p.ImportPath, r.Except) {
				continue
			}
			for _, d := range p.Deps {
				for _, f := range r.Forbid {
					if under(d, f) {
						bad = append(bad, fmt.Sprintf("%s links %s: %s", strings.TrimPrefix(p.ImportPath, module+"/"), d, r.Why))
					}
				}
			}
		}
	}
	return bad
}

func excepted(path string, except []string) bool {
	for _, e := range except {
		if under(path, e) {
			return true
		}
	}
	return false
}

func TestImportRules(t *testing.T) {
	for _, v := range violations(listPackages(t), rules) {
		t.Error(v)
	}
}

// TestImportRulesCatchViolations feeds the checker the links the rules
// exist to stop, so a rule that silently matches nothing fails here.
func TestImportRulesCatchViolations(t *testing.T) {
	m := func(rel string) string { return module + "/" + rel }
	cases := []pkg{
		{ImportPath: m("aggregator/ingestbench"), Deps: []string{m("host")}},
		{ImportPath: m("internal/demo"), Deps: []string{m("aggregator")}},
		{ImportPath: m("host/plugintest"), Deps: []string{"modernc.org/sqlite/lib"}},
		{ImportPath: m("host/sandbox"), Deps: []string{"net/http"}},
		{ImportPath: m("host"), Deps: []string{m("testdata")}},
		{ImportPath: m("sdk/guest"), Deps: []string{m("internal/wire")}},
	}
	for _, c := range cases {
		if v := violations([]pkg{c}, rules); len(v) == 0 {
			t.Errorf("%s → %v passed the rules", c.ImportPath, c.Deps)
		}
	}
	fine := []pkg{
		{ImportPath: m("host"), Deps: []string{m("host/sandbox"), m("internal/wire"), "net/http", "modernc.org/sqlite"}},
		{ImportPath: m("testdata"), Deps: []string{"embed"}},
		{ImportPath: m("host/sandbox"), Deps: []string{m("host/sandbox/internal/fuel"), m("sdk/abi"), "github.com/tetratelabs/wazero"}},
		{ImportPath: m("hostile"), Deps: []string{m("host")}}, // not under host/
	}
	for _, c := range fine {
		if v := violations([]pkg{c}, rules); len(v) != 0 {
			t.Errorf("%s wrongly refused: %v", c.ImportPath, v)
		}
	}
}

// TestSDKBuildsToWasm: everything under sdk/ compiles for wasip1 on its
// own, so a plugin author's build never needs the host.
func TestSDKBuildsToWasm(t *testing.T) {
	cmd := exec.Command("go", "build", "-o", "/dev/null", "./sdk/...")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=wasip1 go build ./sdk/...: %v\n%s", err, out)
	}
}
