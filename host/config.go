package host

import (
	"log/slog"
	"time"
)

// RuntimeConfig configures a Runtime. It is an immutable value: each With
// method returns a copy, so a config can be shared and specialized safely.
type RuntimeConfig struct {
	policy   Limits
	trust    *TrustStore
	cacheDir string
	logger   *slog.Logger
}

// NewRuntimeConfig returns the default configuration: DefaultPolicy, an
// empty trust store (LoadSigned refuses everything), an in-memory compile
// cache and wisp.log lines discarded.
func NewRuntimeConfig() RuntimeConfig { return RuntimeConfig{policy: DefaultPolicy()} }

// WithPolicy caps every plugin at policy. Zero fields of policy take
// DefaultPolicy's values.
func (c RuntimeConfig) WithPolicy(policy Limits) RuntimeConfig {
	c.policy = policy
	return c
}

// WithTrustStore sets the author keys LoadSigned accepts.
func (c RuntimeConfig) WithTrustStore(t *TrustStore) RuntimeConfig {
	c.trust = t
	return c
}

// WithCompilationCacheDir keeps compiled plugins in dir, keyed by the digest
// of the (instrumented) module, so a restarted device is ready without
// compiling again. The directory is created if needed.
func (c RuntimeConfig) WithCompilationCacheDir(dir string) RuntimeConfig {
	c.cacheDir = dir
	return c
}

// WithLogger receives plugins' wisp.log lines at Debug level, with a
// "plugin" attribute, after the per-call and per-second caps.
func (c RuntimeConfig) WithLogger(l *slog.Logger) RuntimeConfig {
	c.logger = l
	return c
}

// withDefaults fills zero policy fields from DefaultPolicy: a device maker
// who sets only a memory cap still gets a deadline and fuel.
func (l Limits) withDefaults() Limits {
	d := DefaultPolicy()
	pick := func(v, def int64) int64 {
		if v <= 0 {
			return def
		}
		return v
	}
	return Limits{
		MemoryPages: uint32(pick(int64(l.MemoryPages), int64(d.MemoryPages))),
		Deadline:    time.Duration(pick(int64(l.Deadline), int64(d.Deadline))),
		Fuel:        pick(l.Fuel, d.Fuel),
		MaxEvents:   int(pick(int64(l.MaxEvents), int64(d.MaxEvents))),
		MaxScores:   int(pick(int64(l.MaxScores), int64(d.MaxScores))),
		LogBytes:    int(pick(int64(l.LogBytes), int64(d.LogBytes))),
		LogRate:     int(pick(int64(l.LogRate), int64(d.LogRate))),
		ModuleBytes: int(pick(int64(l.ModuleBytes), int64(d.ModuleBytes))),
	}
}
