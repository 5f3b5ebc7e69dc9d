package scaffold_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/cmd/wisp/internal/scaffold"
)

// TestNewWritesTheTemplates checks each language's files, rendered: the
// build and the fixtures are TestPluginWorkflow's (cmd/wisp).
func TestNewWritesTheTemplates(t *testing.T) {
	sdk, err := filepath.Abs("../../../../sdk")
	if err != nil {
		t.Fatal(err)
	}
	common := []string{".gitignore", "manifest.json", "testdata/fixtures.json"}
	for lang, want := range map[string][]string{
		"go":             {"go.mod", "go.sum", "main.go", "score.go", "score_test.go"},
		"c":              {"tvish.c"},
		"wat":            {"tvish.wat"},
		"assemblyscript": {"package.json", "assembly/index.ts"},
	} {
		parent := t.TempDir()
		dir, err := scaffold.New(scaffold.Options{Name: "tvish", Lang: lang, Parent: parent, SDK: sdk})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				rel, _ := filepath.Rel(dir, p)
				got = append(got, filepath.ToSlash(rel))
				b, _ := os.ReadFile(p)
				if strings.Contains(string(b), "[[") || strings.Contains(string(b), "<no value>") {
					t.Errorf("%s %s: not rendered:\n%s", lang, rel, b)
				}
			}
			return nil
		})
		want = append(want, common...)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: files %v, want %v", lang, got, want)
		}
		m, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if !strings.Contains(string(m), `"name": "tvish"`) {
			t.Errorf("%s manifest:\n%s", lang, m)
		}
		if _, err := scaffold.New(scaffold.Options{Name: "tvish", Lang: lang, Parent: parent, SDK: sdk}); err == nil {
			t.Errorf("%s: New over an existing directory succeeded", lang)
		}
	}
	for _, bad := range []scaffold.Options{{Name: "Bad Name", Lang: "c"}, {Name: "ok", Lang: "rust"}} {
		bad.Parent = t.TempDir()
		if _, err := scaffold.New(bad); err == nil {
			t.Errorf("New(%+v) succeeded", bad)
		}
	}
}

// TestDefaultLang: inside this checkout with go installed, the default is Go.
func TestDefaultLang(t *testing.T) {
	if got := scaffold.DefaultLang("."); got != "go" {
		t.Errorf("DefaultLang in the checkout = %q, want go", got)
	}
	if got := scaffold.DefaultLang(t.TempDir()); got == "c" {
		t.Errorf("DefaultLang outside a checkout = c, which needs the checkout's wisp.h")
	}
}
