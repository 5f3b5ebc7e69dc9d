package compileworker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/wisp-project/wisp/plugins"
)

// snapshot maps each file under dir to its inode and modification time.
func snapshot(t *testing.T, dir string) map[string][2]int64 {
	t.Helper()
	out := map[string][2]int64{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		out[p] = [2]int64{int64(st.Ino), info.ModTime().UnixNano()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// parentCompile compiles wasm the way package sandbox does: a fresh runtime
// per plugin over a cache in dir, plus a memory cap (not part of the key).
func parentCompile(t testing.TB, dir string, cfg Config, wasm []byte) time.Duration {
	t.Helper()
	ctx := context.Background()
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close(ctx)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg.RuntimeConfig().WithMemoryLimitPages(512).WithCompilationCache(cache))
	defer rt.Close(ctx)
	start := time.Now()
	if _, err := rt.CompileModule(ctx, wasm); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

func TestWorkerFillsCacheParentHits(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	res, err := Compile(ctx, dir, plugins.Fitness, Config{}, DefaultBudget)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("worker: wall %v, cpu %v, maxrss %d MiB, entry %s", res.Wall, res.CPU, res.MaxRSS>>20, res.Path)
	if res.Cached || !res.Ready() {
		t.Fatalf("want a fresh, present entry: %+v", res)
	}
	if got, want := filepath.Dir(res.Path), filepath.Join(dir, versionDir()); got != want {
		t.Fatalf("entry in %s, want wazero's %s", got, want)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".compileworker-*")); len(left) != 0 {
		t.Fatalf("scratch left behind: %v", left)
	}

	// A miss makes wazero write the entry again (temp file + rename: a new
	// inode); a hit only reads it. So an unchanged tree proves the hit.
	before := snapshot(t, dir)
	took := parentCompile(t, dir, Config{}, plugins.Fitness)
	after := snapshot(t, dir)
	if len(after) != len(before) {
		t.Fatalf("parent compile added files: before %v after %v", before, after)
	}
	for p, v := range before {
		if after[p] != v {
			t.Fatalf("parent compile rewrote %s: a cache miss", p)
		}
	}
	t.Logf("parent load from cache: %v", took)

	// The check above does detect a miss: a key-changing setting
	// (ensureTermination) in the parent writes a second entry.
	parentCompile(t, dir, Config{CloseOnContextDone: true}, plugins.Fitness)
	if n := len(snapshot(t, dir)); n != len(before)+1 {
		t.Fatalf("mismatched config: %d files, want %d (a miss writing one entry)", n, len(before)+1)
	}

	// Same bytes again: no child.
	again, err := Compile(ctx, dir, plugins.Fitness, Config{}, DefaultBudget)
	if err != nil || !again.Cached || again.Path != res.Path {
		t.Fatalf("second Compile = %+v, %v; want cached %s", again, err, res.Path)
	}
	// A vanished entry is compiled again rather than trusted.
	os.Remove(res.Path)
	third, err := Compile(ctx, dir, plugins.Fitness, Config{}, DefaultBudget)
	if err != nil || third.Cached || !third.Ready() {
		t.Fatalf("after removal Compile = %+v, %v; want a fresh entry", third, err)
	}
}

func TestCompileBombKilledAtWallBudget(t *testing.T) {
	bomb := loopBomb(20000) // 60 KB; ~13 s in-process on the reference box
	start := time.Now()
	_, err := Compile(context.Background(), t.TempDir(), bomb, Config{}, Budget{Wall: 2 * time.Second, AddressSpace: 1 << 30})
	took := time.Since(start)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if !strings.Contains(err.Error(), "exceeded 2s wall time") {
		t.Errorf("reason %q does not name the wall budget", err)
	}
	if took > 4*time.Second {
		t.Fatalf("took %v: the child was not killed at the budget", took)
	}
	t.Logf("%v after %v", err, took)
}

func TestCompileBombStoppedAtCPUBudget(t *testing.T) {
	if !LimitsEnforced {
		t.Skip("no RLIMIT_CPU on this platform")
	}
	start := time.Now()
	_, err := Compile(context.Background(), t.TempDir(), loopBomb(20000), Config{}, Budget{Wall: time.Minute, CPU: time.Second})
	took := time.Since(start)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "CPU") {
		t.Fatalf("err = %v, want ErrTimeout for CPU", err)
	}
	if took > 5*time.Second {
		t.Fatalf("took %v: RLIMIT_CPU did not stop the child", took)
	}
	t.Logf("%v after %v", err, took)
}

func TestAddressSpaceLimitFailsChildNotParent(t *testing.T) {
	if !LimitsEnforced {
		t.Skip("no RLIMIT_AS on this platform")
	}
	b := Budget{Wall: time.Minute, AddressSpace: 256 << 20}
	// The budget is enough for real plugins...
	if _, err := Compile(context.Background(), t.TempDir(), plugins.Fitness, Config{}, b); err != nil {
		t.Fatalf("fitness under %d MiB: %v", b.AddressSpace>>20, err)
	}
	// ...but not for a 14 KB module whose compile grows to ~600 MiB.
	bomb := loopBombLocals(2000, 2000)
	_, err := Compile(context.Background(), t.TempDir(), bomb, Config{}, b)
	if !errors.Is(err, ErrOutOfMemory) {
		t.Fatalf("err = %v, want ErrOutOfMemory", err)
	}
	if !errors.Is(err, ErrCrashed) && !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want ErrCrashed or ErrFailed too", err)
	}
	t.Logf("%v", err)
}

func TestInvalidModuleReportsWazeroError(t *testing.T) {
	dir := t.TempDir()
	bad := []byte("\x00asm\x01\x00\x00\x00\x0a\x05\x01") // truncated code section
	_, err := Compile(context.Background(), dir, bad, Config{}, DefaultBudget)
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed", err)
	}
	// The same text wazero gives in-process.
	rt := wazero.NewRuntime(context.Background())
	defer rt.Close(context.Background())
	_, want := rt.CompileModule(context.Background(), bad)
	if want == nil || !strings.Contains(err.Error(), want.Error()) {
		t.Fatalf("err = %v, want it to carry wazero's %v", err, want)
	}
	if idx, _ := filepath.Glob(filepath.Join(dir, "*", "*.idx")); len(idx) != 0 {
		t.Fatalf("failure recorded in the index: %v", idx)
	}
}

func TestContextCancelKillsChild(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	_, err := Compile(ctx, t.TempDir(), loopBomb(20000), Config{}, Budget{Wall: time.Minute})
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrTimeout wrapping context.Canceled", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("took %v after cancel at 0.5s", took)
	}
}

func TestSmallPluginsThroughWorker(t *testing.T) {
	dir := t.TempDir()
	for name, wasm := range map[string][]byte{"fridge": plugins.Fridge, "car": plugins.Car, "tv": plugins.TV} {
		res, err := Compile(context.Background(), dir, wasm, Config{}, DefaultBudget)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		before := snapshot(t, dir)
		parentCompile(t, dir, Config{}, wasm)
		if after := snapshot(t, dir); after[res.Path] != before[res.Path] || len(after) != len(before) {
			t.Fatalf("%s: parent missed the cache", name)
		}
	}
}
