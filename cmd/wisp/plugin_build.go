package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tetratelabs/wazero/api"

	"github.com/wisp-project/wisp/internal/taxonomy"
)

type wazeroValueType = api.ValueType

func valueTypeName(t api.ValueType) string { return api.ValueTypeName(t) }

func taxonomyNames() map[uint32]string {
	names := map[uint32]string{}
	t := taxonomy.Default()
	for id := uint32(1); id < 2000; id++ {
		if c, ok := t.Lookup(id); ok {
			names[id] = c.Name()
		}
	}
	return names
}

// pluginLang guesses a plugin directory's language from its sources.
func pluginLang(dir string) (string, error) {
	for _, probe := range []struct{ glob, lang string }{{"*.go", "go"}, {"*.c", "c"}, {"*.wat", "wat"}} {
		if m, _ := filepath.Glob(filepath.Join(dir, probe.glob)); len(m) > 0 {
			return probe.lang, nil
		}
	}
	return "", fmt.Errorf("%s: no main.go, *.c or *.wat source", dir)
}

func pluginBuildCmd() *cobra.Command {
	var sdkDir string
	cmd := &cobra.Command{
		Use:   "build <plugin dir>",
		Short: "Build a plugin directory to <dir>/<name>.wasm (Go: go; C: clang + wasm-ld; WAT: wat2wasm)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := readPluginDir(args[0])
			if err != nil {
				return err
			}
			lang, err := pluginLang(d.dir)
			if err != nil {
				return err
			}
			if err := buildPlugin(d, lang, sdkDir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "built %s (%s)\n", d.wasmPath(), lang)
			return nil
		},
	}
	cmd.Flags().StringVar(&sdkDir, "sdk", "", "the Wisp checkout's sdk/ directory, for C's wisp.h (default: found from the working directory)")
	return cmd
}

// buildPlugin runs the same commands as plugins/build.sh.
func buildPlugin(d pluginDir, lang, sdkDir string) error {
	out, err := filepath.Abs(d.wasmPath())
	if err != nil {
		return err
	}
	var c *exec.Cmd
	switch lang {
	case "go":
		c = exec.Command("go", "build", "-trimpath", "-ldflags=-s", "-buildmode=c-shared", "-o", out, ".")
		// -mod=mod lets a scaffold outside the Wisp module settle its go.mod offline.
		c.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=-mod=mod")
	case "c":
		if sdkDir == "" {
			if sdkDir, err = findSDK(d.dir); err != nil {
				return err
			}
		}
		srcs, _ := filepath.Glob("*.c")
		if abs, _ := filepath.Abs(d.dir); abs != "" {
			srcs, _ = filepath.Glob(filepath.Join(abs, "*.c"))
		}
		c = exec.Command("clang", append([]string{"--target=wasm32", "-nostdlib", "-O2", "-mbulk-memory",
			"-I" + filepath.Join(sdkDir, "c"), "-Wl,--no-entry", "-Wl,--strip-debug", "-o", out}, srcs...)...)
	case "wat":
		srcs, _ := filepath.Glob(filepath.Join(d.dir, "*.wat"))
		if len(srcs) != 1 {
			return fmt.Errorf("%s: want exactly one .wat file, found %d", d.dir, len(srcs))
		}
		abs, _ := filepath.Abs(srcs[0])
		c = exec.Command("wat2wasm", abs, "-o", out)
	default:
		return fmt.Errorf("unknown language %q (go, c or wat)", lang)
	}
	c.Dir = d.dir
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	if err := c.Run(); err != nil {
		var notFound *exec.Error
		if errors.As(err, &notFound) {
			return fmt.Errorf("%s not found: install it (apt-get install clang lld wabt, or Go from go.dev)", c.Path)
		}
		return fmt.Errorf("%s: %w", strings.Join(c.Args, " "), err)
	}
	return nil
}

// findSDK looks for a Wisp checkout's sdk/ directory from dir upwards, then
// from the working directory.
func findSDK(dir string) (string, error) {
	for _, start := range []string{dir, "."} {
		d, _ := filepath.Abs(start)
		for {
			if _, err := os.Stat(filepath.Join(d, "sdk", "c", "wisp.h")); err == nil {
				return filepath.Join(d, "sdk"), nil
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	return "", errors.New("cannot find sdk/c/wisp.h: run inside a Wisp checkout or pass --sdk")
}
