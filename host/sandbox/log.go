package sandbox

import (
	"context"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// logImport is wisp.log(ptr, len i32), the one host function a plugin may
// import: a debug line for its author, capped per call and per second so a
// plugin cannot flood the device's log or spend the host's time on it.
const logImport = "log"

// logLimiter applies a plugin's log caps. The per-second cap is a token
// bucket shared by all the plugin's instances; the per-call cap is counted
// on the instance, found through the calling module.
type logLimiter struct {
	logger  *slog.Logger
	perCall int
	rate    float64

	mu      sync.Mutex
	tokens  float64
	last    time.Time
	dropped int64
	callers map[api.Module]*instance
}

func newLogLimiter(l *slog.Logger, limits Limits) *logLimiter {
	return &logLimiter{
		logger: l, perCall: limits.LogBytes, rate: float64(limits.LogRate),
		tokens: float64(limits.LogRate), callers: map[api.Module]*instance{},
	}
}

func (g *logLimiter) register(mod api.Module, inst *instance) {
	g.mu.Lock()
	g.callers[mod] = inst
	g.mu.Unlock()
}

func (g *logLimiter) forget(mod api.Module) {
	g.mu.Lock()
	delete(g.callers, mod)
	g.mu.Unlock()
}

// log is the host side of wisp.log. It never fails and never blocks: what
// is over a cap, or outside memory, is dropped and counted.
func (g *logLimiter) log(ctx context.Context, mod api.Module, stack []uint64) {
	ptr, n := uint32(stack[0]), int(uint32(stack[1]))
	g.mu.Lock()
	inst := g.callers[mod]
	allowed := n
	if inst != nil {
		allowed = min(allowed, g.perCall-inst.logged)
	}
	now := time.Now()
	if g.last.IsZero() {
		g.last = now
	}
	g.tokens = min(g.rate, g.tokens+now.Sub(g.last).Seconds()*g.rate)
	g.last = now
	allowed = max(0, min(allowed, int(g.tokens)))
	g.tokens -= float64(allowed)
	if inst != nil {
		inst.logged += allowed
	}
	g.dropped = satAdd(g.dropped, int64(n-allowed))
	g.mu.Unlock()
	if allowed == 0 {
		return
	}
	b, ok := mod.Memory().Read(ptr, uint32(allowed))
	if !ok {
		return
	}
	g.logger.Debug(string(b))
}

// satAdd adds a non-negative d to v, stopping at math.MaxInt64 instead of
// wrapping: a guest can claim lengths of 4 GiB per line.
func satAdd(v, d int64) int64 {
	if v > math.MaxInt64-d {
		return math.MaxInt64
	}
	return v + d
}

// Dropped returns how many log bytes were over a cap.
func (g *logLimiter) Dropped() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.dropped
}

// forward logs a line a worker process sent (it applied the per-call cap;
// the per-second cap is applied here, and the length again, since the
// worker is not trusted).
func (g *logLimiter) forward(line []byte) {
	g.mu.Lock()
	now := time.Now()
	if g.last.IsZero() {
		g.last = now
	}
	g.tokens = min(g.rate, g.tokens+now.Sub(g.last).Seconds()*g.rate)
	g.last = now
	allowed := max(0, min(len(line), g.perCall, int(g.tokens)))
	g.tokens -= float64(allowed)
	g.dropped = satAdd(g.dropped, int64(len(line)-allowed))
	g.mu.Unlock()
	if allowed > 0 {
		g.logger.Debug(strings.ToValidUTF8(string(line[:allowed]), "?"))
	}
}

// addDropped counts n bytes a worker process dropped.
func (g *logLimiter) addDropped(n int64) {
	g.mu.Lock()
	g.dropped = satAdd(g.dropped, max(0, n))
	g.mu.Unlock()
}
