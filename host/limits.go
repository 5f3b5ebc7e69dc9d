package host

import "time"

// Limits bound what one plugin may use. A zero field means "the policy's
// value"; a plugin's requested limits are capped by the device maker's
// policy with Within.
type Limits struct {
	// MemoryPages caps the plugin's linear memory in 64 KiB pages.
	MemoryPages uint32
	// Deadline bounds every call into the plugin, including its start
	// function, in wall time.
	Deadline time.Duration
	// MaxEvents bounds the events in one batch.
	MaxEvents int
	// MaxScores bounds the score records one call may return.
	MaxScores int
}

// DefaultPolicy is the device maker's default cap: 32 MiB of memory, 100 ms
// per call, 10,000 events per batch, 512 scores.
func DefaultPolicy() Limits {
	return Limits{MemoryPages: 512, Deadline: 100 * time.Millisecond, MaxEvents: 10000, MaxScores: 512}
}

// Within returns l with every zero field taken from policy and every field
// capped at policy's value.
func (l Limits) Within(policy Limits) Limits {
	capAt := func(v, max int64) int64 {
		if v <= 0 || v > max {
			return max
		}
		return v
	}
	return Limits{
		MemoryPages: uint32(capAt(int64(l.MemoryPages), int64(policy.MemoryPages))),
		Deadline:    time.Duration(capAt(int64(l.Deadline), int64(policy.Deadline))),
		MaxEvents:   int(capAt(int64(l.MaxEvents), int64(policy.MaxEvents))),
		MaxScores:   int(capAt(int64(l.MaxScores), int64(policy.MaxScores))),
	}
}

// Manifest describes a plugin: who it is, which categories it may score and
// the limits it asks for.
type Manifest struct {
	Name    string
	Version string
	// Categories are the IAB Audience Taxonomy 1.1 ids the plugin may
	// return; anything else is a bad answer.
	Categories []uint32
	Limits     Limits
}
