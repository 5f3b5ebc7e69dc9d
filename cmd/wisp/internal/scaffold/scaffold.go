// Package scaffold writes the plugin directory `wisp plugin new` creates.
// The templates are the files under templates/ (common/ for every
// language, then go/, c/, wat/ or assemblyscript/), each NAME.tmpl rendered with
// text/template, delimiters [[ ]], to NAME; a file's name is a template
// too. Every scaffold scores one category, Interest | Television (706),
// from kind-1 events' minutes, m / (m + 60), so a new plugin builds and
// passes its fixtures before its author changes anything.
package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/wisp-project/wisp/cmd/wisp/internal/plugindir"
)

//go:embed all:templates
var templates embed.FS

// langs are the languages a scaffold can be written in.
var langs = []string{"go", "c", "wat", "assemblyscript"}

var validName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

// DefaultLang is the language `wisp plugin new` picks without --lang: Go
// when a Wisp sdk/ is found from parent and go is installed (the
// friendliest, and the SDK it builds against is there), else WAT when
// wat2wasm is installed (it needs nothing else), else C, else WAT.
func DefaultLang(parent string) string {
	if _, err := exec.LookPath("go"); err == nil {
		if _, err := plugindir.FindSDK(parent); err == nil {
			return "go"
		}
	}
	if _, err := exec.LookPath("wat2wasm"); err == nil {
		return "wat"
	}
	if _, err := exec.LookPath("clang"); err == nil {
		if _, err := plugindir.FindSDK(parent); err == nil {
			return "c"
		}
	}
	return "wat"
}

// Options say what to scaffold.
type Options struct {
	Name   string // the plugin's name: lowercase letters, digits, - and _
	Lang   string // go, c, wat or assemblyscript
	Parent string // the directory to create the plugin directory in
	// SDK is the Wisp checkout's sdk directory a Go plugin created outside
	// the checkout builds against ("": found from Parent or the working
	// directory).
	SDK string
}

// New creates Parent/Name and returns its path. It refuses a directory
// that exists.
func New(opts Options) (string, error) {
	if !validName.MatchString(opts.Name) {
		return "", fmt.Errorf("plugin name %q: use lowercase letters, digits, - and _", opts.Name)
	}
	if !slices.Contains(langs, opts.Lang) {
		return "", fmt.Errorf("--lang %q: want %s", opts.Lang, strings.Join(langs, ", "))
	}
	dir := filepath.Join(opts.Parent, opts.Name)
	if _, err := os.Stat(dir); err == nil {
		return "", fmt.Errorf("%s already exists", dir)
	}
	data := struct {
		Name, Lang, ASCVersion string
		Pages                  int
	}{opts.Name, opts.Lang, plugindir.ASCVersion, 16}
	if opts.Lang == "go" {
		data.Pages = 256 // the Go runtime starts with about 40 pages
	}
	files := map[string]string{}
	for _, sub := range []string{"common", opts.Lang} {
		root := path.Join("templates", sub)
		err := fs.WalkDir(templates, root, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			name, err := render(strings.TrimSuffix(strings.TrimPrefix(p, root+"/"), ".tmpl"), data)
			if err != nil {
				return err
			}
			b, err := templates.ReadFile(p)
			if err != nil {
				return err
			}
			if files[name], err = render(string(b), data); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	if opts.Lang == "go" {
		gomod, err := goModFor(dir, opts.Name, opts.SDK)
		if err != nil {
			return "", err
		}
		for k, v := range gomod {
			files[k] = v
		}
	}
	for name, text := range files {
		full := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(full, []byte(text), 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
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
		if sdk, err = plugindir.FindSDK(filepath.Dir(dir)); err != nil {
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
