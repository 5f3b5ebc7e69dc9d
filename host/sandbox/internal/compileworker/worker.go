package compileworker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/tetratelabs/wazero"
)

// init turns the process into a compile worker when WorkerEnv is set: it
// never returns then, so main (or the test framework) never runs.
func init() {
	if os.Getenv(WorkerEnv) == "" {
		return
	}
	os.Exit(worker())
}

var reportOnce sync.Once

// report writes the status line once; a SIGXCPU report racing the normal
// one loses.
func report(st status) {
	reportOnce.Do(func() {
		line, _ := json.Marshal(st)
		os.Stdout.Write(append(line, '\n'))
	})
}

func fail(format string, args ...any) int {
	msg := fmt.Sprintf(format, args...)
	report(status{Error: msg, OOM: isOOM(msg)})
	return 1
}

func isOOM(msg string) bool {
	return strings.Contains(msg, "cannot allocate memory") || strings.Contains(msg, "out of memory") ||
		strings.Contains(msg, syscall.ENOMEM.Error())
}

func worker() int {
	if v := os.Getenv(WorkerEnv); v != protocolVer {
		return fail("worker protocol %q, want %q", v, protocolVer)
	}
	scratch, cacheDir := os.Getenv(envScratch), os.Getenv(envCache)
	if scratch == "" || cacheDir == "" {
		return fail("missing %s or %s", envScratch, envCache)
	}
	as, err1 := strconv.ParseUint(os.Getenv(envAS), 10, 64)
	cpu, err2 := strconv.ParseUint(os.Getenv(envCPU), 10, 64)
	cfg, err3 := decodeConfig(os.Getenv(envConfig))
	if err := errors.Join(err1, err2, err3); err != nil {
		return fail("bad request: %v", err)
	}
	if err := setLimits(as, cpu, func() {
		report(status{CPU: true, Error: fmt.Sprintf("exceeded %ds CPU time", cpu)})
		os.Exit(3)
	}); err != nil {
		return fail("%v", err)
	}
	wasm, err := io.ReadAll(os.Stdin)
	if err != nil {
		return fail("read module: %v", err)
	}

	ctx := context.Background()
	// A private, empty cache: the one file wazero writes is this module's,
	// whatever other workers do to the shared directory meanwhile.
	cache, err := wazero.NewCompilationCacheWithDir(scratch)
	if err != nil {
		return fail("%v", err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg.RuntimeConfig().WithCompilationCache(cache))
	if _, err := rt.CompileModule(ctx, wasm); err != nil {
		return fail("%v", err)
	}
	// The entry is on disk already (wazero writes it, synced and renamed,
	// inside CompileModule); closing just releases the code.
	rt.Close(ctx)
	cache.Close(ctx)

	sub := versionDir()
	entries, err := os.ReadDir(filepath.Join(scratch, sub))
	if err != nil {
		return fail("no cache entry (is the compiler engine supported here?): %v", err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasSuffix(e.Name(), ".tmp") {
			names = append(names, e.Name())
		}
	}
	if len(names) != 1 {
		return fail("want one cache entry in %s, found %d", sub, len(names))
	}
	if err := os.MkdirAll(filepath.Join(cacheDir, sub), 0o700); err != nil {
		return fail("%v", err)
	}
	dst := filepath.Join(cacheDir, sub, names[0])
	if err := os.Rename(filepath.Join(scratch, sub, names[0]), dst); err != nil {
		return fail("%v", err)
	}
	report(status{OK: true, Path: dst})
	return 0
}
