package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wisp-project/wisp/host/sandbox/internal/compileworker"
	"github.com/wisp-project/wisp/sdk/abi"
)

// Process isolation (RuntimeConfig.WithProcessIsolation): each plugin runs
// in a worker process, this program re-executed with isolateEnv set (the
// package's init turns it into the worker before main runs, as the compile
// worker does). The parent validates and instruments the module, checks
// its ABI, then hands the metered bytes to the worker, which compiles
// them (from the cache dir when there is one), starts an instance and
// serves calls one at a time over its stdin and stdout.
//
// The protocol is frames of a little-endian u32 length (of what follows),
// a kind byte and a payload:
//
//	parent → worker  'I' init: limits, then the metered module
//	                 'C' call: deadline (i64 ns), then the encoded batch
//	worker → parent  'P' compiled and checked (init only)
//	                 'L' one wisp.log line (after the worker's caps)
//	                 'R' result: status u8, flags u8, code i32,
//	                     log bytes dropped so far i64, message length u16,
//	                     message, then the raw score records
//
// The parent trusts nothing it reads: frame sizes are bounded, statuses
// must be known, and the records go through DecodeOutput as in-process.
// A worker that does not answer by the call's deadline plus isolateGrace
// is killed with SIGKILL; one that dies, is killed, or breaks the protocol
// is replaced by a fresh one at the next call.

const (
	isolateEnv   = "WISP_SANDBOX_WORKER" // protocol version
	isolateProto = "1"
	isolateAS    = "WISP_SANDBOX_WORKER_AS"    // RLIMIT_AS headroom, bytes
	isolateCPU   = "WISP_SANDBOX_WORKER_CPU"   // CPU seconds for compiling and starting
	isolateCache = "WISP_SANDBOX_WORKER_CACHE" // compile cache dir, or empty
)

// isolateGrace is how long past a call's deadline the parent waits for the
// worker's own answer (its stop flag normally ends the call within a few
// ms) before it kills the worker.
const isolateGrace = 25 * time.Millisecond

// Result statuses of the 'R' frame.
const (
	stOK byte = iota
	stOutOfFuel
	stDeadline
	stTrap
	stFailed
	stBadOutput
	stRefused
	stCount
)

const flagMemoryLimit = 1

// maxMessage bounds a worker's error message.
const maxMessage = 1024

func init() {
	if os.Getenv(isolateEnv) == "" {
		return
	}
	os.Exit(isolatedWorker())
}

// ---- framing ----

func appendFrameHeader(b []byte, kind byte) []byte {
	return append(b, 0, 0, 0, 0, kind)
}

// finishFrame writes the length of the frame that starts at b[0].
func finishFrame(b []byte) []byte {
	binary.LittleEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

var errFrameTooBig = errors.New("frame too big")

// readFrame reads one frame of at most max bytes (kind included) into
// buf's storage.
func readFrame(r *bufio.Reader, buf []byte, max int) (byte, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(binary.LittleEndian.Uint32(hdr[:]))
	if n < 1 || n > max {
		return 0, nil, fmt.Errorf("%w: %d bytes (max %d)", errFrameTooBig, n, max)
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
	}
	return buf[0], buf[1:], nil
}

// limitsWire is the order Limits travel in the init frame.
func putLimits(b []byte, l Limits) []byte {
	for _, v := range []int64{int64(l.MemoryPages), int64(l.TotalMemoryPages), int64(l.Deadline), l.Fuel,
		int64(l.MaxEvents), int64(l.MaxScores), int64(l.LogBytes), int64(l.LogRate), int64(l.ModuleBytes)} {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	return b
}

const limitsSize = 9 * 8

func getLimits(b []byte) Limits {
	v := func(i int) int64 { return int64(binary.LittleEndian.Uint64(b[i*8:])) }
	return Limits{
		MemoryPages: uint32(v(0)), TotalMemoryPages: uint32(v(1)), Deadline: time.Duration(v(2)), Fuel: v(3),
		MaxEvents: int(v(4)), MaxScores: int(v(5)), LogBytes: int(v(6)), LogRate: int(v(7)), ModuleBytes: int(v(8)),
	}
}

// ---- the parent's side ----

// isolated is a plugin's worker process, as the parent sees it.
type isolated struct {
	p        *Plugin
	module   []byte // the metered module
	cacheDir string
	budget   compileworker.Budget
	turn     *slots // one call at a time

	// proc is the running worker, nil before the first call and after one
	// died; only the holder of turn changes it (under mu, so close can
	// read it while a call runs).
	mu     sync.Mutex
	proc   *workerProc
	closed bool
	// frame is the holder's scratch for frames sent and received.
	out, in []byte
	// spawned counts workers started, for tests.
	spawned atomic.Int32
}

// workerProc is one worker process.
type workerProc struct {
	cmd    *exec.Cmd
	stdin  *os.File
	stdout *bufio.Reader
	rpipe  *os.File
	stderr *headBuffer
	// killed records why the parent killed it (a killReason), first
	// reason wins.
	killed  atomic.Int32
	done    chan struct{} // closed once the process is reaped
	waitErr error
	dropped int64 // the worker's count of dropped log bytes, last seen
}

const (
	killNone int32 = iota
	killDeadline
	killContext
	killClose
	killProtocol
)

func (w *workerProc) kill(reason int32) {
	w.killed.CompareAndSwap(killNone, reason)
	w.cmd.Process.Kill() // SIGKILL; an error means it is gone already
}

// reap kills the worker if it still runs and waits for it.
func (w *workerProc) reap() {
	w.kill(killProtocol)
	<-w.done
	w.stdin.Close()
	w.rpipe.Close()
}

// pid is the worker's process id, for tests.
func (iso *isolated) pid() int {
	if err := iso.turn.acquire(context.Background()); err != nil {
		return 0
	}
	defer iso.turn.release()
	if w := iso.current(); w != nil {
		return w.cmd.Process.Pid
	}
	return 0
}

// spawn starts a worker and waits until its instance has started.
func (iso *isolated) spawn(ctx context.Context) error {
	exe, err := compileworker.Self()
	if err != nil {
		return fmt.Errorf("sandbox: process isolation: %w", err)
	}
	cr, pw, err := os.Pipe() // child's stdin
	if err != nil {
		return err
	}
	pr, cw, err := os.Pipe() // child's stdout
	if err != nil {
		cr.Close()
		pw.Close()
		return err
	}
	cmd := exec.Command(exe)
	cmd.Args = []string{"wisp-sandbox-worker"}
	cmd.Env = append(os.Environ(),
		isolateEnv+"="+isolateProto,
		isolateAS+"="+strconv.FormatUint(iso.budget.AddressSpace, 10),
		isolateCPU+"="+strconv.FormatInt(int64((iso.budget.CPU+StartDeadline+time.Second-1)/time.Second), 10),
		isolateCache+"="+iso.cacheDir,
	)
	cmd.Stdin, cmd.Stdout = cr, cw
	w := &workerProc{cmd: cmd, stdin: pw, rpipe: pr, stdout: bufio.NewReaderSize(pr, 64<<10), stderr: &headBuffer{max: 4 << 10}, done: make(chan struct{})}
	cmd.Stderr = w.stderr
	compileworker.Contain(cmd)
	err = cmd.Start()
	cr.Close()
	cw.Close()
	if err != nil {
		pw.Close()
		pr.Close()
		return fmt.Errorf("sandbox: process isolation: start worker: %w", err)
	}
	iso.spawned.Add(1)
	go func() { w.waitErr = cmd.Wait(); close(w.done) }()

	l := iso.p.limits
	// Compiling: the compile budget (wall); starting: the start deadline.
	timer := time.AfterFunc(max(iso.budget.Wall, time.Second), func() { w.kill(killDeadline) })
	stopCtx := context.AfterFunc(ctx, func() { w.kill(killContext) })
	defer stopCtx()
	defer timer.Stop()
	b := appendFrameHeader(iso.out[:0], 'I')
	b = putLimits(b, l)
	b = append(b, iso.module...)
	iso.out = finishFrame(b)
	if _, err := w.stdin.Write(iso.out); err != nil {
		return iso.died(ctx, w, fmt.Errorf("send module: %w", err))
	}
	for {
		kind, payload, err := iso.read(w)
		if err != nil {
			return iso.died(ctx, w, err)
		}
		switch kind {
		case 'P':
			timer.Reset(max(l.Deadline, StartDeadline) + isolateGrace)
			continue
		case 'R':
			if err := iso.result(w, payload, l, nil); err != nil {
				w.reap()
				return err
			}
			if w.killed.Load() != killNone { // answered as it was being killed
				w.reap()
				return iso.deathError(ctx, w, errors.New("killed while starting"))
			}
			iso.setProc(w)
			return nil
		default:
			w.reap()
			return fmt.Errorf("%w: worker sent frame %q while starting", ErrBadOutput, kind)
		}
	}
}

// read reads the next frame that is not a log line, forwarding those.
func (iso *isolated) read(w *workerProc) (byte, []byte, error) {
	l := iso.p.limits
	limit := max(64+maxMessage+l.MaxScores*abi.ScoreSize, l.LogBytes+16)
	for {
		kind, payload, err := readFrame(w.stdout, iso.in, limit)
		if err != nil {
			return 0, nil, err
		}
		if kind != 'L' {
			return kind, payload, nil
		}
		iso.p.log.forward(payload)
	}
}

// died turns the loss of a worker into the call's error.
func (iso *isolated) died(ctx context.Context, w *workerProc, cause error) error {
	w.reap()
	return iso.deathError(ctx, w, cause)
}

func (iso *isolated) deathError(ctx context.Context, w *workerProc, cause error) error {
	l := iso.p.limits
	how := describeWorkerExit(w.waitErr)
	if f := firstLine(w.stderr.String()); f != "" {
		how += ": " + f
	}
	switch w.killed.Load() {
	case killDeadline:
		return fmt.Errorf("%w (%v): the worker process did not answer in time and was killed", ErrDeadline, l.Deadline)
	case killContext:
		if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return fmt.Errorf("%w (%v): %w; the worker process was killed", ErrDeadline, l.Deadline, ctx.Err())
	case killClose:
		return fmt.Errorf("%w during the call: the worker process was killed", ErrClosed)
	}
	if errors.Is(cause, errFrameTooBig) {
		return fmt.Errorf("%w: worker process broke the protocol: %v", ErrBadOutput, cause)
	}
	if compileworker.IsCPULimit(w.waitErr) {
		return fmt.Errorf("%w (%v): the worker process hit its CPU limit", ErrDeadline, l.Deadline)
	}
	return fmt.Errorf("%w: the worker process died (%s): %v", ErrTrap, how, cause)
}

func describeWorkerExit(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by signal " + ws.Signal().String()
		}
		return fmt.Sprintf("exit status %d", ee.ExitCode())
	}
	if err == nil {
		return "exited"
	}
	return err.Error()
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "fatal error:") || strings.HasPrefix(l, "panic:") {
			return l
		}
	}
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// result checks an 'R' payload and returns the call's error, or nil with
// the records (validated) appended to *scores when scores is non-nil.
func (iso *isolated) result(w *workerProc, b []byte, l Limits, scores *[]abi.Score) error {
	const fixed = 1 + 1 + 4 + 8 + 2
	if len(b) < fixed {
		return fmt.Errorf("%w: worker sent a short result (%d bytes)", ErrBadOutput, len(b))
	}
	status, flags := b[0], b[1]
	code := int32(binary.LittleEndian.Uint32(b[2:]))
	dropped := int64(binary.LittleEndian.Uint64(b[6:]))
	n := int(binary.LittleEndian.Uint16(b[14:]))
	if status >= stCount || n > maxMessage || fixed+n > len(b) {
		return fmt.Errorf("%w: worker sent a malformed result (status %d, message %d bytes)", ErrBadOutput, status, n)
	}
	if dropped > w.dropped {
		iso.p.log.addDropped(dropped - w.dropped)
		w.dropped = dropped
	}
	msg := strings.ToValidUTF8(string(b[fixed:fixed+n]), "?")
	out := b[fixed+n:]
	var mem error
	if flags&flagMemoryLimit != 0 {
		mem = fmt.Errorf("%w (worker)", ErrMemoryLimit)
	}
	switch status {
	case stOK:
		if scores == nil {
			return nil
		}
		if len(out) > l.MaxScores*abi.ScoreSize {
			return fmt.Errorf("%w: worker returned %d bytes of scores for a capacity of %d", ErrBadOutput, len(out), l.MaxScores)
		}
		s, err := DecodeOutput(out, iso.p.declared)
		if err != nil {
			return err
		}
		*scores = s
		return nil
	case stOutOfFuel: // msg is the worker's classify text, which names the budget
		return fmt.Errorf("%w: %s (in the worker process)", ErrOutOfFuel, strings.TrimPrefix(msg, ErrOutOfFuel.Error()+": "))
	case stDeadline:
		return fmt.Errorf("%w: %s (in the worker process)", ErrDeadline, strings.TrimPrefix(msg, ErrDeadline.Error()+": "))
	case stTrap:
		if mem != nil {
			return fmt.Errorf("%w: %w: worker: %s", ErrTrap, mem, msg)
		}
		return fmt.Errorf("%w: worker: %s", ErrTrap, msg)
	case stFailed:
		if mem != nil {
			return fmt.Errorf("%w: %s: %w: worker: %s", ErrPluginFailed, codeText(code), mem, msg)
		}
		return fmt.Errorf("%w: %s", ErrPluginFailed, codeText(code))
	case stBadOutput:
		if mem != nil {
			return fmt.Errorf("%w: %w: worker: %s", ErrBadOutput, mem, msg)
		}
		return fmt.Errorf("%w: worker: %s", ErrBadOutput, msg)
	default: // stRefused
		return fmt.Errorf("%w: worker: %s", ErrRefused, msg)
	}
}

// score makes one call in the worker, starting one first if none runs.
func (iso *isolated) score(ctx context.Context, events []abi.Event) ([]abi.Score, error) {
	if err := iso.turn.acquire(ctx); err != nil {
		return nil, err
	}
	defer iso.turn.release()
	iso.mu.Lock()
	closed := iso.closed
	iso.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if iso.current() == nil {
		if err := iso.spawn(ctx); err != nil {
			return nil, err
		}
	}
	w := iso.current()
	l := iso.p.limits
	deadline := l.Deadline
	if d, ok := ctx.Deadline(); ok {
		deadline = min(deadline, time.Until(d))
	}
	b := appendFrameHeader(iso.out[:0], 'C')
	b = binary.LittleEndian.AppendUint64(b, uint64(deadline))
	in := input{events: events}
	if iso.p.summaries {
		in.groups, in.summaries = iso.p.sum.summarize(events), true
	}
	n := int(in.size())
	b = append(b, make([]byte, n)...)
	in.encode(b[len(b)-n:])
	iso.out = finishFrame(b)

	timer := time.AfterFunc(deadline+isolateGrace, func() { w.kill(killDeadline) })
	stopCtx := context.AfterFunc(ctx, func() { w.kill(killContext) })
	if _, err := w.stdin.Write(iso.out); err != nil {
		timer.Stop()
		stopCtx()
		iso.setProc(nil)
		return nil, iso.died(ctx, w, fmt.Errorf("send batch: %w", err))
	}
	kind, payload, err := iso.read(w)
	timer.Stop()
	stopCtx()
	if err == nil && kind != 'R' {
		err = fmt.Errorf("%w: unexpected frame %q", errFrameTooBig, kind)
	}
	if err != nil {
		iso.setProc(nil)
		return nil, iso.died(ctx, w, err)
	}
	var scores []abi.Score
	err = iso.result(w, payload, l, &scores)
	if w.killed.Load() != killNone || errors.Is(err, ErrBadOutput) && strings.Contains(err.Error(), "worker sent") {
		// Killed as it answered, or speaking nonsense: the answer (or
		// error) stands, the worker does not serve again.
		iso.setProc(nil)
		w.reap()
	}
	if err != nil {
		return nil, err
	}
	return scores, nil
}

// close kills the worker; a call in flight fails with ErrClosed.
func (iso *isolated) close() {
	iso.mu.Lock()
	iso.closed = true
	w := iso.proc
	iso.mu.Unlock()
	if w != nil {
		w.kill(killClose) // a call in flight holds turn: do not wait for it
	}
	if err := iso.turn.acquire(context.Background()); err == nil {
		if w := iso.current(); w != nil {
			w.reap()
			iso.setProc(nil)
		}
		iso.turn.release()
	}
}

func (iso *isolated) setProc(w *workerProc) {
	iso.mu.Lock()
	iso.proc = w
	iso.mu.Unlock()
}

func (iso *isolated) current() *workerProc {
	iso.mu.Lock()
	defer iso.mu.Unlock()
	return iso.proc
}

// headBuffer keeps the first max bytes written.
type headBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *headBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := t.max - t.buf.Len(); room > 0 {
		t.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (t *headBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

// ---- the worker's side ----

// frameWriter sends frames to the parent, one write each.
type frameWriter struct {
	mu  sync.Mutex
	out *os.File
	buf []byte
}

func (f *frameWriter) send(kind byte, parts ...[]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := appendFrameHeader(f.buf[:0], kind)
	for _, p := range parts {
		b = append(b, p...)
	}
	f.buf = finishFrame(b)
	if _, err := f.out.Write(f.buf); err != nil {
		os.Exit(0) // the parent is gone
	}
}

func (f *frameWriter) result(status, flags byte, code int32, dropped int64, msg string, out []byte) {
	if len(msg) > maxMessage {
		msg = msg[:maxMessage]
	}
	var hdr [16]byte
	hdr[0], hdr[1] = status, flags
	binary.LittleEndian.PutUint32(hdr[2:], uint32(code))
	binary.LittleEndian.PutUint64(hdr[6:], uint64(dropped))
	binary.LittleEndian.PutUint16(hdr[14:], uint16(len(msg)))
	f.send('R', hdr[:], []byte(msg), out)
}

// logFrames is the worker's slog handler: each wisp.log line the worker's
// caps let through goes to the parent as an 'L' frame.
type logFrames struct{ w *frameWriter }

func (h logFrames) Enabled(context.Context, slog.Level) bool { return true }
func (h logFrames) Handle(_ context.Context, r slog.Record) error {
	h.w.send('L', []byte(r.Message))
	return nil
}
func (h logFrames) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h logFrames) WithGroup(string) slog.Handler      { return h }

func statusOf(err error) (status, flags byte) {
	if errors.Is(err, ErrMemoryLimit) {
		flags = flagMemoryLimit
	}
	switch {
	case errors.Is(err, ErrOutOfFuel):
		return stOutOfFuel, 0
	case errors.Is(err, ErrDeadline):
		return stDeadline, 0
	case errors.Is(err, ErrPluginFailed):
		return stFailed, flags
	case errors.Is(err, ErrBadOutput):
		return stBadOutput, flags
	case errors.Is(err, ErrRefused):
		return stRefused, 0
	}
	return stTrap, flags
}

// isolatedWorker serves one plugin for its parent; it returns the exit
// status.
func isolatedWorker() int {
	if os.Getenv(isolateEnv) != isolateProto {
		fmt.Fprintf(os.Stderr, "sandbox worker: protocol %q, want %q\n", os.Getenv(isolateEnv), isolateProto)
		return 2
	}
	as, _ := strconv.ParseUint(os.Getenv(isolateAS), 10, 64)
	cpu, _ := strconv.ParseUint(os.Getenv(isolateCPU), 10, 64)
	if err := compileworker.LimitAddressSpace(as); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox worker: %v\n", err)
		return 2
	}
	if cpu > 0 {
		if err := compileworker.LimitCPUFromNow(time.Duration(cpu) * time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "sandbox worker: %v\n", err)
			return 2
		}
	}
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	out := &frameWriter{out: os.Stdout}
	kind, payload, err := readFrame(in, nil, math.MaxInt32)
	if err != nil || kind != 'I' || len(payload) < limitsSize {
		fmt.Fprintf(os.Stderr, "sandbox worker: no init frame: %v\n", err)
		return 2
	}
	l := getLimits(payload)
	module := payload[limitsSize:]

	ctx := context.Background()
	cfg := NewRuntimeConfig().WithPolicy(l).WithLogger(slog.New(logFrames{out})).WithMaxConcurrentCalls(1)
	if dir := os.Getenv(isolateCache); dir != "" {
		cfg = cfg.WithCompilationCacheDir(dir)
	}
	r, err := NewRuntimeWithConfig(cfg)
	if err != nil {
		out.result(stRefused, 0, 0, 0, err.Error(), nil)
		return 1
	}
	p := r.newPlugin(Manifest{Name: "worker"}, l, newModule(ctx, r.cache, l))
	p.onCompiled = func() { out.send('P') }
	if err := p.acquire(ctx); err != nil {
		return 1
	}
	err = p.prepare(ctx, module)
	p.release()
	if err != nil {
		st, fl := statusOf(err)
		out.result(st, fl, 0, 0, err.Error(), nil)
		return 1
	}
	out.result(stOK, 0, 0, 0, "", nil)

	var buf []byte
	for {
		kind, payload, err := readFrame(in, buf, math.MaxInt32)
		if err != nil {
			return 0 // the parent closed the pipe, or is gone
		}
		buf = payload[:0:cap(payload)]
		if kind != 'C' || len(payload) < 8 {
			fmt.Fprintf(os.Stderr, "sandbox worker: unexpected frame %q\n", kind)
			return 2
		}
		cl := l
		cl.Deadline = time.Duration(binary.LittleEndian.Uint64(payload))
		compileworker.LimitCPUFromNow(cl.Deadline + isolateGrace + time.Second)
		res, code, err := p.runOnce(ctx, input{raw: payload[8:]}, cl)
		if err != nil {
			st, fl := statusOf(err)
			out.result(st, fl, code, p.log.Dropped(), err.Error(), nil)
			continue
		}
		out.result(stOK, 0, 0, p.log.Dropped(), "", res)
	}
}
