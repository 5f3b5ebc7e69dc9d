package wasmlimits

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/plugins"
)

var realPlugins = map[string][]byte{
	"fitness":       plugins.Fitness,
	"fridge":        plugins.Fridge,
	"fridge-events": plugins.FridgeEvents,
	"fridge-go":     plugins.FridgeGo,
	"car":           plugins.Car,
	"tv":            plugins.TV,
	"home":          plugins.Home,
	"example":       plugins.Example,
}

func TestRealPluginsPass(t *testing.T) {
	for name, wasm := range realPlugins {
		s, err := Measure(wasm)
		if err != nil {
			t.Errorf("%s: Measure: %v", name, err)
		}
		if err := Check(wasm, Default()); err != nil {
			t.Errorf("%s: Check: %v", name, err)
		}
		if os.Getenv("WASMLIMITS_TABLE") != "" {
			d, _ := compileTime(t, wasm)
			fmt.Printf("%s compile=%v controlwork=%d\n", name, d, s.ControlWork)
			fmt.Printf("%s bytes=%d funcs=%d imports=%d(funcs %d) types=%d params=%d results=%d exports=%d globals=%d data=%d elem=%d elemItems=%d tables=%d tableElems=%d names=%d\n  locals max=%d total=%d body max=%d code=%d depth=%d control max=%d total=%d loops max=%d total=%d ifs max=%d brtable max=%d func=%d total=%d\n",
				name, len(wasm), s.Functions, s.Imports, s.ImportedFuncs, s.Types, s.Params, s.Results, s.Exports, s.Globals, s.DataSegments, s.ElemSegments, s.ElemItems, s.Tables, s.TableElems, s.NameEntries,
				s.Locals.Value, s.LocalsTotal, s.BodyBytes.Value, s.CodeBytes, s.NestingDepth.Value, s.Control.Value, s.ControlTotal, s.Loops.Value, s.LoopsTotal, s.Ifs.Value, s.BrTable.Value, s.BrTableTotal.Value, s.BrTableTargets)
		}
	}
}

func TestHostilePluginsPass(t *testing.T) {
	files, err := filepath.Glob("../../../../testdata/plugins/hostile/*.wasm")
	if err != nil || len(files) == 0 {
		t.Fatalf("no hostile modules: %v", err)
	}
	for _, f := range files {
		wasm, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, cerr := compileTime(t, wasm); cerr != nil {
			continue // wazero refuses it anyway
		}
		name := filepath.Base(f)
		err = Check(wasm, Default())
		if want, ok := hostileRefused[name]; ok {
			if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: Check = %v, want ErrLimit naming %q", name, err, want)
			}
		} else if err != nil {
			t.Errorf("%s: wazero compiles it but Check refuses: %v", name, err)
		}
	}
}

// hostileRefused are the hostile modules wazero compiles but Check
// refuses (the host refuses them anyway, later).
var hostileRefused = map[string]string{
	"bigtable.wasm": "100000000 initial table elements", // 100M-entry table: 800 MB at instantiation
}
