package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"github.com/spf13/cobra"
)

// The scaffolds score one category, Interest | Television (706), from
// kind-1 events' minutes, m / (m + 60), in each language, so a new plugin
// builds and passes its fixtures before its author changes anything.
var scaffold = map[string]map[string]string{
	"go": {
		"main.go": `//go:build wasip1

// Command [[.Name]] is a Wisp scoring plugin (ABI: sdk/ABI.md in the Wisp
// repository). Build: wisp plugin build . ; test: wisp plugin test .
package main

import "github.com/wisp-project/wisp/sdk/guest"

func init() { guest.Handle(score) }

func main() {}
`,
		"score.go": `package main

import "github.com/wisp-project/wisp/sdk/guest"

// Television is Interest | Television in the IAB Audience Taxonomy 1.1.
const Television = 706

// score is pure: the same events give the same scores. Kind 1 is "watched",
// its value the minutes.
func score(events []guest.Event, out *guest.Scores) error {
	var minutes float64
	for _, e := range events {
		if e.Kind == 1 && e.Value >= 0 && e.Value <= 1e9 {
			minutes += e.Value
		}
	}
	if minutes > 0 {
		out.Set(Television, minutes/(minutes+60))
	}
	return nil
}
`,
		"score_test.go": `package main

import (
	"testing"

	"github.com/wisp-project/wisp/sdk/guest"
)

func TestScore(t *testing.T) {
	var out guest.Scores
	if err := score([]guest.Event{{Kind: 1, Value: 60}}, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.List(); len(got) != 1 || got[0].Value != 0.5 {
		t.Fatalf("scores %v, want Television 0.5", got)
	}
}
`,
	},
	"c": {
		"[[.Name]].c": `/*
 * [[.Name]] — a Wisp scoring plugin in C with no libc (sdk/c/wisp.h, sdk/ABI.md).
 * Build: wisp plugin build . ; test: wisp plugin test .
 */
#define WISP_IMPLEMENT
#include "wisp.h"

enum { WATCHED = 1 };      /* event kind: value = minutes */
enum { TELEVISION = 706 }; /* Interest | Television (IAB Audience Taxonomy 1.1) */

int wisp_plugin_score(const wisp_batch *batch, wisp_scores *out) {
	double minutes = 0;
	for (wisp_u32 i = 0; i < batch->count; i++) {
		const wisp_event *e = wisp_batch_event(batch, i);
		if (e->kind == WATCHED && wisp_valid(e->value)) minutes += e->value;
	}
	if (minutes > 0) wisp_set(out, TELEVISION, wisp_saturate(minutes, 60));
	return 0;
}
`,
	},
	"wat": {
		"[[.Name]].wat": `;; [[.Name]] — a Wisp scoring plugin in WAT (sdk/ABI.md).
;; Kind 1 = watched, value = minutes; scores Interest | Television (706) as m / (m + 60).
(module
  (memory (export "memory") 5)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param $size i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $size) (i32.const 326656))
      (then (i32.const 0)) (else (i32.const 1024))))
  (func (export "wisp_score") (param $in i32) (param $len i32) (param $out i32) (param $cap i32) (result i32)
    (local $n i32) (local $size i32) (local $p i32) (local $m f64) (local $v f64)
    (if (i32.lt_u (local.get $len) (i32.const 16)) (then (return (i32.const -1))))
    (if (i32.ne (i32.load (local.get $in)) (i32.const 1)) (then (return (i32.const -1))))
    (local.set $n (i32.load offset=4 (local.get $in)))
    (local.set $size (i32.load offset=8 (local.get $in)))
    (if (i32.lt_u (local.get $size) (i32.const 24)) (then (return (i32.const -1))))
    (local.set $p (i32.add (local.get $in) (i32.const 16)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $v (f64.load offset=16 (local.get $p)))
        (if (i32.and (i32.eq (i32.load (local.get $p)) (i32.const 1))
                     (i32.and (f64.ge (local.get $v) (f64.const 0)) (f64.le (local.get $v) (f64.const 1e9))))
          (then (local.set $m (f64.add (local.get $m) (local.get $v)))))
        (local.set $p (i32.add (local.get $p) (local.get $size)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (if (f64.eq (local.get $m) (f64.const 0)) (then (return (i32.const 0))))
    (if (i32.lt_s (local.get $cap) (i32.const 1)) (then (return (i32.const -2))))
    (i32.store (local.get $out) (i32.const 706))
    (f32.store offset=4 (local.get $out)
      (f32.demote_f64 (f64.div (local.get $m) (f64.add (local.get $m) (f64.const 60)))))
    (i32.const 1)))
`,
	},
}

var scaffoldCommon = map[string]string{
	"manifest.json": `{
  "name": "[[.Name]]",
  "version": "0.1.0",
  "abi": 1,
  "wasm_sha256": "",
  "categories": [706],
  "limits": {"memory_pages": [[.Pages]], "deadline_ms": 20, "max_scores": 8}
}
`,
	"testdata/fixtures.json": `{
  "plugin": "[[.Name]]",
  "cases": [
    {"name": "no events, no scores", "events": [], "only": true},
    {"name": "an hour of television", "events": [{"kind": 1, "value": 20}, {"kind": 1, "value": 40}], "want": {"706": 0.5}, "only": true},
    {"name": "broken readings ignored", "events": [{"kind": 1, "value": -5}, {"kind": 2, "value": 30}], "only": true}
  ]
}
`,
	".gitignore": "[[.Name]].wasm\n",
}

var pluginName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

func pluginNewCmd() *cobra.Command {
	var lang, parent, sdkDir string
	cmd := &cobra.Command{
		Use:   "new <name>",
		Short: "Scaffold a plugin directory (go, c or wat) that builds and passes its fixtures as is",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if !pluginName.MatchString(name) {
				return fmt.Errorf("plugin name %q: use lowercase letters, digits, - and _", name)
			}
			files, ok := scaffold[lang]
			if !ok {
				return fmt.Errorf("--lang %q: want go, c or wat", lang)
			}
			dir := filepath.Join(parent, name)
			if _, err := os.Stat(dir); err == nil {
				return fmt.Errorf("%s already exists", dir)
			}
			data := struct {
				Name  string
				Pages int
			}{name, 16}
			if lang == "go" {
				data.Pages = 256 // the Go runtime starts with about 40 pages
			}
			all := map[string]string{}
			for k, v := range scaffoldCommon {
				all[k] = v
			}
			for k, v := range files {
				all[k] = v
			}
			if lang == "go" {
				gomod, err := goModFor(dir, name, sdkDir)
				if err != nil {
					return err
				}
				for k, v := range gomod {
					all[k] = v
				}
			}
			for pathTmpl, body := range all {
				path, err := render(pathTmpl, data)
				if err != nil {
					return err
				}
				text, err := render(body, data)
				if err != nil {
					return err
				}
				full := filepath.Join(dir, path)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(full, []byte(text), 0o644); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s (%s). Next:\n  wisp plugin build %s\n  wisp plugin test %s\n", dir, lang, dir, dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&lang, "lang", "c", "go, c or wat")
	cmd.Flags().StringVar(&parent, "dir", ".", "where to create the plugin directory")
	cmd.Flags().StringVar(&sdkDir, "sdk", "", "the Wisp checkout's sdk directory a Go plugin builds against (default: found from --dir or the working directory)")
	return cmd
}

func render(text string, data any) (string, error) {
	t, err := template.New("").Delims("[[", "]]").Parse(text)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// goModFor returns a go.mod (and go.sum) for a Go plugin created outside the
// Wisp module: it requires the SDK from the Wisp checkout the command finds,
// so the scaffold builds offline. Inside the Wisp module it needs none.
func goModFor(dir, name, sdk string) (map[string]string, error) {
	if sdk == "" {
		var err error
		if sdk, err = findSDK(filepath.Dir(dir)); err != nil {
			return nil, err
		}
	}
	root, err := filepath.Abs(filepath.Dir(sdk))
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(dir)
	if strings.HasPrefix(abs, root+string(filepath.Separator)) {
		return nil, nil // inside the checkout: part of its module
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return map[string]string{
		"go.mod": fmt.Sprintf("module example.com/%s\n\ngo 1.24\n\nrequire github.com/wisp-project/wisp v0.0.0\n\nreplace github.com/wisp-project/wisp => %s\n", name, root),
		"go.sum": string(sum),
	}, nil
}
