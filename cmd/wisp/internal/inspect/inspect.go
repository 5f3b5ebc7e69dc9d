// Package inspect reads a Wasm module the way `wisp plugin inspect` shows
// it: size and digest, ABI version, exports, imports and memory, and,
// given a manifest, its categories and whether manifest and module agree
// and a device would load them.
package inspect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wisp-project/wisp/cmd/wisp/internal/plugindir"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/internal/taxonomy"
)

// Report is what `wisp plugin inspect` reports.
type Report struct {
	File       string            `json:"file"`
	Bytes      int               `json:"bytes"`
	SHA256     string            `json:"sha256"`
	ABI        string            `json:"abi"`
	Exports    []string          `json:"exports"`
	Imports    []string          `json:"imports"`
	Memory     string            `json:"memory"`
	Manifest   *json.RawMessage  `json:"manifest,omitempty"`
	Categories map[uint32]string `json:"categories,omitempty"`
	Problems   []string          `json:"problems,omitempty"`
}

// Inspect reads the module at path and, if manifestPath is set, the
// manifest (bare or signed, not verified) to check against it. What a
// device would refuse is in Problems, not an error.
func Inspect(ctx context.Context, path, manifestPath string) (Report, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return Report{}, err
	}
	sum := sha256.Sum256(wasm)
	in := Report{File: path, Bytes: len(wasm), SHA256: hex.EncodeToString(sum[:]), ABI: "none (no wisp_abi_v* export)"}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(wazero.NewCompilationCache()))
	defer rt.Close(ctx)
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return Report{}, fmt.Errorf("%s: not a valid module: %w", path, err)
	}
	for name, fn := range compiled.ExportedFunctions() {
		in.Exports = append(in.Exports, fmt.Sprintf("%s%s", name, sigString(fn.ParamTypes(), fn.ResultTypes())))
		if strings.HasPrefix(name, "wisp_abi_v") {
			in.ABI = strings.TrimPrefix(name, "wisp_abi_")
		}
	}
	for name, mem := range compiled.ExportedMemories() {
		in.Exports = append(in.Exports, name+" (memory)")
		max, hasMax := mem.Max()
		in.Memory = fmt.Sprintf("%d pages initial", mem.Min())
		if hasMax {
			in.Memory += fmt.Sprintf(", %d max", max)
		}
	}
	sort.Strings(in.Exports)
	for _, fn := range compiled.ImportedFunctions() {
		mod, name, _ := fn.Import()
		in.Imports = append(in.Imports, fmt.Sprintf("%s.%s%s", mod, name, sigString(fn.ParamTypes(), fn.ResultTypes())))
	}
	sort.Strings(in.Imports)
	// Would a device load it? (Unsigned: the module and ABI checks only.)
	m := sandbox.Manifest{Name: filepath.Base(path)}
	if manifestPath != "" {
		if m, err = plugindir.ReadManifest(manifestPath); err != nil {
			return Report{}, err
		}
		raw, _ := m.MarshalJSON()
		rm := json.RawMessage(raw)
		in.Manifest = &rm
		in.Categories = map[uint32]string{}
		names := taxonomyNames()
		for _, c := range m.Categories {
			in.Categories[c] = names[c]
			if names[c] == "" {
				in.Problems = append(in.Problems, fmt.Sprintf("category %d is not an IAB Audience Taxonomy 1.1 id", c))
			}
		}
		if m.WasmSHA256 != ([32]byte{}) && m.WasmSHA256 != sum {
			in.Problems = append(in.Problems, "the manifest's wasm_sha256 is not this module's")
		}
	}
	hrt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	defer hrt.Close(ctx)
	if p, err := hrt.Load(ctx, m, wasm); err != nil {
		in.Problems = append(in.Problems, err.Error())
	} else {
		p.Close(ctx)
	}
	return in, nil
}

// WriteText prints in as `wisp plugin inspect` does.
func WriteText(w io.Writer, in Report) {
	fmt.Fprintf(w, "file:     %s (%d bytes)\nsha256:   %s\nabi:      %s\nmemory:   %s\n", in.File, in.Bytes, in.SHA256, in.ABI, in.Memory)
	fmt.Fprintf(w, "exports:  %s\nimports:  %s\n", strings.Join(in.Exports, ", "), orNone(in.Imports))
	if in.Manifest != nil {
		fmt.Fprintf(w, "manifest: %s\n", *in.Manifest)
		cats := make([]uint32, 0, len(in.Categories))
		for c := range in.Categories {
			cats = append(cats, c)
		}
		sort.Slice(cats, func(i, j int) bool { return cats[i] < cats[j] })
		for _, c := range cats {
			fmt.Fprintf(w, "  category %d\t%s\n", c, in.Categories[c])
		}
	}
	for _, p := range in.Problems {
		fmt.Fprintf(w, "PROBLEM:  %s\n", p)
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}

func sigString(params, results []api.ValueType) string {
	name := func(ts []api.ValueType) string {
		var s []string
		for _, t := range ts {
			s = append(s, api.ValueTypeName(t))
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("(%s) -> (%s)", name(params), name(results))
}

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
