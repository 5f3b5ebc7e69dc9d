package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/sdk/abi"
)

func loadIsolated(t *testing.T, name string, wasm []byte, policy Limits) *Plugin {
	t.Helper()
	rt, err := NewRuntimeWithConfig(NewRuntimeConfig().WithPolicy(policy).WithProcessIsolation(true))
	if err != nil {
		t.Fatal(err)
	}
	p, err := rt.Load(context.Background(), Manifest{Name: name, Categories: []uint32{706, 408}}, wasm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()); rt.Close(context.Background()) })
	return p
}

func hostileWasm(t *testing.T, name string) []byte {
	b, err := os.ReadFile("../../testdata/plugins/hostile/" + name + ".wasm")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestIsolatedWorkerKilledExternally: a worker killed by someone else in
// the middle of a call fails that call (ErrTrap, saying how it died), and
// the next call runs in a fresh worker.
func TestIsolatedWorkerKilledExternally(t *testing.T) {
	policy := DefaultPolicy()
	policy.Deadline = 3 * time.Second
	policy.Fuel = 1 << 40
	p := loadIsolated(t, "loop", hostileWasm(t, "loop"), policy)
	pid := p.iso.pid()
	if pid == 0 {
		t.Fatal("no worker after Load")
	}
	time.AfterFunc(200*time.Millisecond, func() { syscall.Kill(pid, syscall.SIGKILL) })
	start := time.Now()
	_, err := p.Score(context.Background(), nil)
	if !errors.Is(err, ErrTrap) || time.Since(start) > 2*time.Second {
		t.Fatalf("call whose worker was killed: %v after %v, want ErrTrap at once", err, time.Since(start))
	}
	t.Logf("%v", err)
	p.limits.Deadline = 100 * time.Millisecond
	if _, err := p.Score(context.Background(), nil); !errors.Is(err, ErrTimeout) {
		t.Fatalf("next call: %v, want the plugin's own timeout from a fresh worker", err)
	}
	// On a loaded machine the host's own deadline may reap the fresh worker
	// too (pid 0 then); spawned proves a second worker ran the call.
	if got := p.iso.pid(); got == pid {
		t.Fatalf("worker pid %d after restart: the killed worker still serves", got)
	}
	if n := p.iso.spawned.Load(); n != 2 {
		t.Fatalf("%d workers started, want 2", n)
	}
}

// TestIsolatedCloseKillsWorker: Close ends the worker process.
func TestIsolatedCloseKillsWorker(t *testing.T) {
	p := loadIsolated(t, "example", plugins.Example, DefaultPolicy())
	if _, err := p.Score(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	pid := p.iso.pid()
	p.Close(context.Background())
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("worker %d after Close: kill(0) = %v, want ESRCH", pid, err)
	}
	if _, err := p.Score(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Score after Close: %v", err)
	}
}

// TestIsolatedResultValidated feeds the parent's decoder what a
// compromised worker could send: nothing but well-formed, declared,
// in-range answers gets through.
func TestIsolatedResultValidated(t *testing.T) {
	p := &Plugin{limits: DefaultPolicy(), declared: map[uint32]bool{706: true}, log: newLogLimiter(nil, DefaultPolicy())}
	p.limits.MaxScores = 2
	iso := &isolated{p: p}
	w := &workerProc{}
	res := func(status, flags byte, msgLen int, out []byte) []byte {
		b := []byte{status, flags}
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint64(b, 0)
		b = binary.LittleEndian.AppendUint16(b, uint16(msgLen))
		b = append(b, bytes.Repeat([]byte{'x'}, min(msgLen, 10))...)
		return append(b, out...)
	}
	rec := func(cat uint32, v float32) []byte {
		return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, cat), math.Float32bits(v))
	}
	var scores []abi.Score
	if err := iso.result(w, res(stOK, 0, 0, rec(706, 0.5)), p.limits, &scores); err != nil || len(scores) != 1 || scores[0].Value != 0.5 {
		t.Fatalf("a good answer: %v %v", scores, err)
	}
	for name, b := range map[string][]byte{
		"short":            {stOK},
		"unknown status":   res(stCount, 0, 0, nil),
		"long message":     res(stTrap, 0, maxMessage+1, nil),
		"message past end": res(stTrap, 0, 10+5, nil),
		"partial record":   res(stOK, 0, 0, rec(706, 0.5)[:5]),
		"too many":         res(stOK, 0, 0, append(append(rec(706, 0.1), rec(706, 0.2)...), rec(706, 0.3)...)),
		"undeclared":       res(stOK, 0, 0, rec(1, 0.5)),
		"nan":              res(stOK, 0, 0, rec(706, float32(math.NaN()))),
		"twice":            res(stOK, 0, 0, append(rec(706, 0.1), rec(706, 0.2)...)),
	} {
		if err := iso.result(w, b, p.limits, &scores); !errors.Is(err, ErrBadOutput) {
			t.Errorf("%s: %v, want ErrBadOutput", name, err)
		}
	}
	// A frame longer than the parent's bound is refused before it is read.
	big := binary.LittleEndian.AppendUint32(nil, 1<<30)
	if _, _, err := readFrame(bufio.NewReader(bytes.NewReader(big)), nil, 4096); !errors.Is(err, errFrameTooBig) {
		t.Fatalf("huge frame: %v", err)
	}
}
