package sandbox

import "time"

// Limits bound what one plugin may use. A zero field means "the policy's
// value"; a plugin's requested limits are capped by the device maker's
// policy with Within.
type Limits struct {
	// MemoryPages caps the plugin's linear memory in 64 KiB pages.
	MemoryPages uint32
	// TotalMemoryPages caps the linear memory of all the plugin's live
	// instances together: the plugin runs at most
	// max(1, TotalMemoryPages/MemoryPages) instances, and a call beyond that
	// waits for one to come back.
	TotalMemoryPages uint32
	// Deadline bounds every call into the plugin in wall time. An
	// instance's start functions get max(Deadline, StartDeadline): they run
	// once per instance, and a language runtime's initialization (Go's
	// _initialize: a few ms idle, tens on a loaded device) must not be held
	// to a per-call deadline tuned for scoring.
	Deadline time.Duration
	// Fuel bounds the work of one call, and of an instance's start, in
	// instructions (weighted at function entries and loop headers; see
	// sdk/ABI.md section 8). It makes limits independent of how fast the
	// device is and stops a runaway call even without a clock.
	Fuel int64
	// MaxEvents bounds the events in one batch.
	MaxEvents int
	// MaxScores bounds the score records one call may return (out_cap).
	MaxScores int
	// LogBytes bounds what one call may write with wisp.log; the rest is
	// dropped.
	LogBytes int
	// LogRate bounds wisp.log output per second for the whole plugin.
	LogRate int
	// ModuleBytes bounds the size of the module file.
	ModuleBytes int
}

// DefaultPolicy is the device maker's default cap: 32 MiB of memory per
// instance and 128 MiB per plugin, 100 ms and 3·10⁸ fuel per call, 10,000
// events per batch, 512 scores, 1 KiB of log per call and 4 KiB/s, 16 MiB
// modules.
func DefaultPolicy() Limits {
	return Limits{
		MemoryPages: 512, TotalMemoryPages: 2048, Deadline: 100 * time.Millisecond, Fuel: 300_000_000,
		MaxEvents: 10000, MaxScores: 512, LogBytes: 1024, LogRate: 4096, ModuleBytes: 16 << 20,
	}
}

// Within returns l with every zero field taken from policy and every field
// capped at policy's value.
func (l Limits) Within(policy Limits) Limits {
	return l.zip(policy, func(v, max int64) int64 {
		if v <= 0 || v > max {
			return max
		}
		return v
	})
}

// withDefaults fills zero policy fields from DefaultPolicy: a device maker
// who sets only a memory cap still gets a deadline and fuel.
func (l Limits) withDefaults() Limits {
	return l.zip(DefaultPolicy(), func(v, def int64) int64 {
		if v <= 0 {
			return def
		}
		return v
	})
}

// zip combines l and o field by field with f. It is the one place that
// lists every field, so a new limit cannot be forgotten by Within or
// withDefaults.
func (l Limits) zip(o Limits, f func(v, o int64) int64) Limits {
	return Limits{
		MemoryPages:      uint32(f(int64(l.MemoryPages), int64(o.MemoryPages))),
		TotalMemoryPages: uint32(f(int64(l.TotalMemoryPages), int64(o.TotalMemoryPages))),
		Deadline:         time.Duration(f(int64(l.Deadline), int64(o.Deadline))),
		Fuel:             f(l.Fuel, o.Fuel),
		MaxEvents:        int(f(int64(l.MaxEvents), int64(o.MaxEvents))),
		MaxScores:        int(f(int64(l.MaxScores), int64(o.MaxScores))),
		LogBytes:         int(f(int64(l.LogBytes), int64(o.LogBytes))),
		LogRate:          int(f(int64(l.LogRate), int64(o.LogRate))),
		ModuleBytes:      int(f(int64(l.ModuleBytes), int64(o.ModuleBytes))),
	}
}

// instances is how many live instances the limits allow.
func (l Limits) instances() int {
	return max(1, int(l.TotalMemoryPages/max(1, l.MemoryPages)))
}
