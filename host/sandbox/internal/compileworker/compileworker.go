package compileworker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Environment variables of the worker protocol. WorkerEnv switches a process
// into worker mode; the others carry the request.
const (
	WorkerEnv   = "WISP_COMPILE_WORKER" // protocol version, "1"
	envScratch  = "WISP_COMPILE_WORKER_SCRATCH"
	envCache    = "WISP_COMPILE_WORKER_CACHE"
	envAS       = "WISP_COMPILE_WORKER_AS"  // bytes, 0: no limit
	envCPU      = "WISP_COMPILE_WORKER_CPU" // whole seconds, 0: no limit
	envConfig   = "WISP_COMPILE_WORKER_CONFIG"
	protocolVer = "1"
)

// Errors wrapped by Compile's failures. Every failure also wraps exactly one
// of ErrTimeout, ErrCrashed or ErrFailed.
var (
	// ErrTimeout: the child used up its wall-time or CPU budget and was
	// killed (or stopped itself on SIGXCPU).
	ErrTimeout = errors.New("compileworker: compile budget exceeded")
	// ErrCrashed: the child died without reporting, e.g. killed by a
	// signal or a fatal Go runtime error.
	ErrCrashed = errors.New("compileworker: compile worker crashed")
	// ErrOutOfMemory additionally marks a child that hit its address-space
	// limit (the Go runtime's fatal "out of memory", or a failed mmap). It
	// comes with ErrCrashed or ErrFailed.
	ErrOutOfMemory = errors.New("compileworker: compile worker out of memory")
	// ErrFailed: the child ran to completion and reported a failure,
	// normally wazero's decode, validation or compile error.
	ErrFailed = errors.New("compileworker: compile failed")
)

// Budget caps one compile. Zero fields mean no limit of that kind (a zero
// Wall still honours ctx).
type Budget struct {
	Wall time.Duration // killed (SIGKILL) after this long
	CPU  time.Duration // RLIMIT_CPU, rounded up to whole seconds
	// AddressSpace is RLIMIT_AS headroom in bytes: the limit is set to
	// what the worker has mapped at start (about 1.5 GiB of mostly
	// unbacked Go runtime reservations, Go 1.26 linux/amd64) plus this.
	// Go grows its heap reservation in 64 MiB arenas, so it is coarse.
	AddressSpace uint64
}

// DefaultBudget suits a device compiling a Go wasip1 plugin of a few MB
// (about 2 CPU seconds and 60 MiB resident here) with room to spare.
var DefaultBudget = Budget{Wall: 30 * time.Second, CPU: 20 * time.Second, AddressSpace: 1 << 30}

// Config holds the wazero settings that must match between the worker and
// the parent's runtime for the parent to hit the cache. Build the parent's
// runtime from RuntimeConfig and add the settings that do not affect
// compilation (WithMemoryLimitPages, WithCompilationCache, ...).
type Config struct {
	// CloseOnContextDone is wazero's WithCloseOnContextDone; it changes the
	// generated code and is part of the cache key.
	CloseOnContextDone bool
	// CoreFeatures is wazero's WithCoreFeatures; zero keeps wazero's
	// default. It decides validation, not the key.
	CoreFeatures api.CoreFeatures
}

// RuntimeConfig returns the wazero configuration the worker compiles with
// (the compiler engine, no memory limit beyond wazero's own so the worker
// rejects nothing the parent could accept).
func (c Config) RuntimeConfig() wazero.RuntimeConfig {
	rc := wazero.NewRuntimeConfigCompiler()
	if c.CoreFeatures != 0 {
		rc = rc.WithCoreFeatures(c.CoreFeatures)
	}
	if c.CloseOnContextDone {
		rc = rc.WithCloseOnContextDone(true)
	}
	return rc
}

func (c Config) encode() string {
	ensure := 0
	if c.CloseOnContextDone {
		ensure = 1
	}
	return fmt.Sprintf("%d,%d", ensure, uint64(c.CoreFeatures))
}

func decodeConfig(s string) (Config, error) {
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return Config{}, fmt.Errorf("bad config %q", s)
	}
	f, err := strconv.ParseUint(b, 10, 64)
	if err != nil {
		return Config{}, fmt.Errorf("bad config %q", s)
	}
	return Config{CloseOnContextDone: a == "1", CoreFeatures: api.CoreFeatures(f)}, nil
}

// Result describes a successful Compile.
type Result struct {
	// Path is wazero's cache file for the module. The parent's CompileModule
	// loads it instead of compiling; if it is gone, wazero would compile
	// in-process, so check it (Ready) just before compiling.
	Path string
	// Cached reports that an earlier Compile left the entry and no child
	// was started.
	Cached bool
	// Wall is how long the child ran; zero when Cached.
	Wall time.Duration
	// CPU is the child's user+system CPU time; MaxRSS its peak resident
	// set in bytes (Linux; zero elsewhere).
	CPU    time.Duration
	MaxRSS int64
}

// Ready reports whether the cache file is still present.
func (r Result) Ready() bool {
	st, err := os.Stat(r.Path)
	return err == nil && st.Mode().IsRegular() && st.Size() > 0
}

// status is the worker's one line on stdout.
type status struct {
	OK    bool   `json:"ok"`
	Path  string `json:"path,omitempty"`
	Error string `json:"error,omitempty"`
	CPU   bool   `json:"cpu,omitempty"` // stopped by SIGXCPU
	OOM   bool   `json:"oom,omitempty"` // an allocation or mmap failed
}

// Compile compiles wasm in a child process under b, leaving wazero's
// compiled code in cacheDir, and returns where. It returns early, without a
// child, when an earlier Compile of the same bytes and cfg left an entry.
// Failures wrap ErrTimeout, ErrCrashed or ErrFailed (and ErrOutOfMemory
// when the address-space limit was the cause) with the child's reason.
//
// The parent must then compile the same bytes with a runtime built from
// cfg.RuntimeConfig().WithCompilationCache(c) where c is
// wazero.NewCompilationCacheWithDir(cacheDir).
func Compile(ctx context.Context, cacheDir string, wasm []byte, cfg Config, b Budget) (Result, error) {
	cacheDir, err := filepath.Abs(cacheDir)
	if err != nil {
		return Result{}, err
	}
	idx := indexPath(cacheDir, wasm, cfg)
	if rel, err := os.ReadFile(idx); err == nil {
		r := Result{Path: filepath.Join(cacheDir, filepath.Clean(string(rel))), Cached: true}
		if filepath.Dir(r.Path) == filepath.Join(cacheDir, versionDir()) && r.Ready() {
			return r, nil
		}
	}
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return Result{}, fmt.Errorf("compileworker: %w", err)
	}
	sweepScratch(cacheDir)
	scratch, err := os.MkdirTemp(cacheDir, ".compileworker-")
	if err != nil {
		return Result{}, fmt.Errorf("compileworker: %w", err)
	}
	defer os.RemoveAll(scratch)

	exe, err := self()
	if err != nil {
		return Result{}, fmt.Errorf("compileworker: cannot re-execute self: %w", err)
	}
	// The clock starts before the deadline is set, so a child killed at
	// the deadline has always used up b.Wall by this measure (under load
	// the goroutine may wait between the two).
	start := time.Now()
	if b.Wall > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.Wall)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Args = []string{"wisp-compile-worker"}
	cmd.Env = append(os.Environ(),
		WorkerEnv+"="+protocolVer,
		envScratch+"="+scratch,
		envCache+"="+cacheDir,
		envAS+"="+strconv.FormatUint(b.AddressSpace, 10),
		envCPU+"="+strconv.FormatInt(int64((b.CPU+time.Second-1)/time.Second), 10),
		envConfig+"="+cfg.encode(),
	)
	cmd.Stdin = bytes.NewReader(wasm)
	var stdout bytes.Buffer
	stderr := &headBuffer{max: 8 << 10}
	cmd.Stdout = &stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = time.Second // stdin/stdout copying must not outlive the kill

	runErr := cmd.Run()
	wall := time.Since(start)

	var res Result
	res.Wall = wall
	if ps := cmd.ProcessState; ps != nil {
		res.CPU = ps.UserTime() + ps.SystemTime()
		res.MaxRSS = maxRSS(ps)
	}
	var st status
	line, _, _ := bytes.Cut(stdout.Bytes(), []byte("\n"))
	haveStatus := json.Unmarshal(line, &st) == nil

	switch {
	case ctx.Err() != nil:
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && b.Wall > 0 && wall >= b.Wall {
			return res, fmt.Errorf("%w: exceeded %v wall time", ErrTimeout, b.Wall)
		}
		return res, fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
	case haveStatus && st.OK && runErr == nil:
		if filepath.Dir(st.Path) != filepath.Join(cacheDir, versionDir()) {
			return res, fmt.Errorf("%w: worker wrote %s outside %s", ErrFailed, st.Path, cacheDir)
		}
		res.Path = st.Path
		rel, _ := filepath.Rel(cacheDir, st.Path)
		_ = writeFileAtomic(idx, []byte(rel))
		return res, nil
	case haveStatus && st.CPU:
		return res, fmt.Errorf("%w: exceeded %v CPU time", ErrTimeout, b.CPU)
	case haveStatus && !st.OK:
		if st.OOM {
			return res, fmt.Errorf("%w: %w: %s", ErrFailed, ErrOutOfMemory, st.Error)
		}
		return res, fmt.Errorf("%w: %s", ErrFailed, st.Error)
	}
	// Died without a status line.
	reason := describeExit(cmd.ProcessState, runErr)
	tail := stderr.String()
	if first := firstFatal(tail); first != "" {
		reason += ": " + first
	}
	if strings.Contains(tail, "out of memory") || strings.Contains(tail, "cannot allocate memory") {
		return res, fmt.Errorf("%w: %w: %s", ErrCrashed, ErrOutOfMemory, reason)
	}
	if cpuKilled(cmd.ProcessState) || isSignal(cmd.ProcessState, syscall.SIGKILL) && b.CPU > 0 && res.CPU >= b.CPU {
		return res, fmt.Errorf("%w: exceeded %v CPU time (%s)", ErrTimeout, b.CPU, reason)
	}
	return res, fmt.Errorf("%w: %s", ErrCrashed, reason)
}

// sweepScratch removes scratch directories that a parent killed mid-Compile
// left behind (an hour is far beyond any sane Wall budget).
func sweepScratch(cacheDir string) {
	old, _ := filepath.Glob(filepath.Join(cacheDir, ".compileworker-*"))
	for _, d := range old {
		if st, err := os.Stat(d); err == nil && time.Since(st.ModTime()) > time.Hour {
			os.RemoveAll(d)
		}
	}
}

// versionDir is the subdirectory wazero's NewCompilationCacheWithDir uses,
// computed as wazero's internal/version does.
// versionDir is computed once: debug.ReadBuildInfo parses the binary's
// module list on every call, which a warm restart would pay on each load.
var versionDir = sync.OnceValue(func() string {
	v := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if strings.Contains(dep.Path, "github.com/tetratelabs/wazero") {
				v = dep.Version
			}
		}
		if v == "" || v == "(devel)" {
			v = info.Main.Version
		}
	}
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	return "wazero-" + v + "-" + runtime.GOARCH + "-" + runtime.GOOS
})

// VersionDir is the name of wazero's cache subdirectory for the running
// binary, "wazero-<version>-<GOARCH>-<GOOS>": it changes with the wazero
// version, so callers can key their own caches of wazero's verdicts by it.
func VersionDir() string { return versionDir() }

// indexPath names the file recording which cache entry an earlier Compile
// produced for these bytes and settings, so a warm restart starts no child.
// It sits in wazero's version directory, so a new wazero starts afresh.
func indexPath(cacheDir string, wasm []byte, cfg Config) string {
	h := sha256.New()
	h.Write([]byte(cfg.encode()))
	h.Write([]byte{0})
	h.Write(wasm)
	return filepath.Join(cacheDir, versionDir(), "compileworker-"+hex.EncodeToString(h.Sum(nil))+".idx")
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

func describeExit(ps *os.ProcessState, runErr error) string {
	if ps == nil {
		return fmt.Sprintf("could not run: %v", runErr)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by signal " + ws.Signal().String()
	}
	return fmt.Sprintf("exited with status %d and no report", ps.ExitCode())
}

func isSignal(ps *os.ProcessState, sig syscall.Signal) bool {
	if ps == nil {
		return false
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// firstFatal picks the Go runtime's "fatal error: ..." line (or the first
// line) from the child's stderr.
func firstFatal(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "fatal error:") || strings.HasPrefix(l, "panic:") {
			return l
		}
	}
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// headBuffer keeps the first max bytes written (the Go runtime prints its
// fatal error first, then goroutine dumps).
type headBuffer struct {
	buf bytes.Buffer
	max int
}

func (t *headBuffer) Write(p []byte) (int, error) {
	if room := t.max - t.buf.Len(); room > 0 {
		t.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (t *headBuffer) String() string { return t.buf.String() }
