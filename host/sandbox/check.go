package sandbox

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wisp-project/wisp/sdk/abi"
)

const abiVersion = abi.Version

// allowedImports is the WASI subset a plugin may import: enough for the Go
// and Rust runtimes to start, nothing that reaches outside. With the
// module config's defaults these see no files, no args, no env, a fake
// clock and deterministic randomness.
var allowedImports = map[string]bool{
	"args_get": true, "args_sizes_get": true, "environ_get": true, "environ_sizes_get": true,
	"clock_res_get": true, "clock_time_get": true, "random_get": true, "sched_yield": true,
	"proc_exit": true, "fd_write": true, "fd_close": true, "fd_fdstat_get": true, "fd_fdstat_set_flags": true,
	"fd_prestat_get":      true,
	"fd_prestat_dir_name": true, "fd_seek": true, "fd_read": true, "poll_oneoff": true,
}

// checkModule verifies the ABI before any guest code runs.
func checkModule(c wazero.CompiledModule) error {
	exports := c.ExportedFunctions()
	if _, ok := exports[abi.VersionExport]; !ok {
		for name := range exports {
			if strings.HasPrefix(name, "wisp_abi_v") {
				return fmt.Errorf("%w: %w: module exports %s, this host speaks %s", ErrRefused, ErrWrongABI, name, abi.VersionExport)
			}
		}
		return fmt.Errorf("%w: no %s export (not a Wisp ABI v%d plugin)", ErrRefused, abi.VersionExport, abi.Version)
	}
	i32 := api.ValueTypeI32
	want := map[string][2][]api.ValueType{
		abi.VersionExport: {nil, nil},
		abi.BufferExport:  {{i32}, {i32}},
		abi.ScoreExport:   {{i32, i32, i32, i32}, {i32}},
	}
	for _, name := range []string{abi.BufferExport, abi.ScoreExport, abi.VersionExport} {
		sig := want[name]
		fn, ok := exports[name]
		if !ok {
			return fmt.Errorf("%w: missing export %s", ErrRefused, name)
		}
		if !slices.Equal(fn.ParamTypes(), sig[0]) || !slices.Equal(fn.ResultTypes(), sig[1]) {
			return fmt.Errorf("%w: export %s has type %v -> %v", ErrRefused, name, fn.ParamTypes(), fn.ResultTypes())
		}
	}
	if _, ok := c.ExportedMemories()[abi.MemoryExport]; !ok {
		return fmt.Errorf("%w: no exported memory %q", ErrRefused, abi.MemoryExport)
	}
	if len(c.ImportedMemories()) > 0 {
		return fmt.Errorf("%w: plugins may not import memory", ErrRefused)
	}
	for _, fn := range c.ImportedFunctions() {
		mod, name, _ := fn.Import()
		switch {
		case mod == wasi_snapshot_preview1.ModuleName && allowedImports[name]:
		case mod == abi.ImportModule && name == logImport:
			if !slices.Equal(fn.ParamTypes(), []api.ValueType{i32, i32}) || len(fn.ResultTypes()) != 0 {
				return fmt.Errorf("%w: import %s.%s has type %v -> %v, want (i32, i32) -> ()", ErrRefused, mod, name, fn.ParamTypes(), fn.ResultTypes())
			}
		default:
			return fmt.Errorf("%w: import %s.%s is not allowed", ErrRefused, mod, name)
		}
	}
	return nil
}
