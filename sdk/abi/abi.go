// Package abi is the Go rendering of the Wisp plugin ABI described in sdk/ABI.md:
// the names of the exports, the error codes, and the little-endian fixed-size
// records that cross the sandbox boundary on the hot path.
//
// The host and the Go guest SDK both use this package, so the two sides of the
// boundary cannot drift apart. Nothing here allocates per record beyond the
// slices the caller asks for, and no parser is needed in the guest.
package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
)

// Version is the ABI version this package implements. A plugin declares it by
// exporting a function named VersionExport.
const Version = 1

// Export names a plugin must provide.
const (
	// VersionExport is the version marker: a function export of type () -> ()
	// whose presence says "this module speaks ABI v1". The host checks it
	// statically, before any guest code runs, and never calls it.
	VersionExport = "wisp_abi_v1"
	// BufferExport is wisp_buffer(size i32) -> i32: it returns the address of a
	// guest-owned buffer of at least size bytes, or 0 if the guest cannot
	// provide one. The buffer stays valid until the next wisp_buffer call.
	BufferExport = "wisp_buffer"
	// ScoreExport is wisp_score(in_ptr, in_len, out_ptr, out_cap i32) -> i32:
	// it reads a batch at in_ptr, writes at most out_cap score records at
	// out_ptr, and returns how many it wrote or a negative error code.
	ScoreExport = "wisp_score"
	// MemoryExport is the guest's linear memory.
	MemoryExport = "memory"
	// ImportModule is the only import namespace besides WASI that a plugin may
	// use (for wisp.log).
	ImportModule = "wisp"
)

// Error codes a plugin may return from wisp_score. Any negative value is an
// error; these are the ones with a defined meaning.
const (
	ErrCodeBadInput    = -1 // the batch did not decode
	ErrCodeOutputSpace = -2 // out_cap was too small for the answer
	ErrCodeInternal    = -3 // the scorer failed
)

// Record sizes in bytes.
const (
	HeaderSize = 16 // batch header: version u32, count u32, record size u32, reserved u32
	EventSize  = 24 // event: kind u32, code u32, time i64 (Unix ms), value f64
	ScoreSize  = 8  // score: category u32, score f32
)

// Event is one local observation handed to a plugin. Kind and Code are
// plugin-defined vocabularies declared in its manifest (for example kind 3 =
// workout, code 1 = run); Value carries the measurement (steps, minutes, bpm).
type Event struct {
	Kind  uint32
	Code  uint32
	Time  int64 // Unix milliseconds
	Value float64
}

// Score is one interest score: an IAB Audience Taxonomy 1.1 unique ID and a
// value in [0, 1].
type Score struct {
	Category uint32
	Value    float32
}

// ErrBadBatch reports a batch that does not follow the ABI layout.
var ErrBadBatch = errors.New("abi: malformed event batch")

// BatchSize is the number of bytes AppendBatch writes for n events.
func BatchSize(n int) int { return HeaderSize + n*EventSize }

// AppendBatch appends the wire form of events to dst.
func AppendBatch(dst []byte, events []Event) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, Version)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(events)))
	dst = binary.LittleEndian.AppendUint32(dst, EventSize)
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	for _, e := range events {
		dst = binary.LittleEndian.AppendUint32(dst, e.Kind)
		dst = binary.LittleEndian.AppendUint32(dst, e.Code)
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.Time))
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(e.Value))
	}
	return dst
}

// DecodeBatch decodes a batch into dst[:0] and returns it. Records larger than
// EventSize (written by a newer host) are accepted and their extra bytes
// ignored, so hosts can add fields without breaking v1 plugins.
func DecodeBatch(dst []Event, b []byte) ([]Event, error) {
	if len(b) < HeaderSize {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the header", ErrBadBatch, len(b))
	}
	version := binary.LittleEndian.Uint32(b[0:])
	count := binary.LittleEndian.Uint32(b[4:])
	size := binary.LittleEndian.Uint32(b[8:])
	switch {
	case version != Version:
		return nil, fmt.Errorf("%w: version %d, want %d", ErrBadBatch, version, Version)
	case size < EventSize:
		return nil, fmt.Errorf("%w: record size %d < %d", ErrBadBatch, size, EventSize)
	case uint64(count)*uint64(size) != uint64(len(b)-HeaderSize):
		return nil, fmt.Errorf("%w: %d records of %d bytes do not fill %d bytes", ErrBadBatch, count, size, len(b)-HeaderSize)
	}
	dst = dst[:0]
	for r := b[HeaderSize:]; len(r) > 0; r = r[size:] {
		dst = append(dst, Event{
			Kind:  binary.LittleEndian.Uint32(r[0:]),
			Code:  binary.LittleEndian.Uint32(r[4:]),
			Time:  int64(binary.LittleEndian.Uint64(r[8:])),
			Value: math.Float64frombits(binary.LittleEndian.Uint64(r[16:])),
		})
	}
	return dst, nil
}

// PutScores writes scores into out, which must hold len(scores)*ScoreSize bytes.
func PutScores(out []byte, scores []Score) {
	for i, s := range scores {
		binary.LittleEndian.PutUint32(out[i*ScoreSize:], s.Category)
		binary.LittleEndian.PutUint32(out[i*ScoreSize+4:], math.Float32bits(s.Value))
	}
}

// DecodeScores decodes len(b)/ScoreSize score records into dst[:0]. It does
// not judge the values: validation is the host's job (see host.Plugin).
func DecodeScores(dst []Score, b []byte) []Score {
	dst = dst[:0]
	for ; len(b) >= ScoreSize; b = b[ScoreSize:] {
		dst = append(dst, Score{
			Category: binary.LittleEndian.Uint32(b[0:]),
			Value:    math.Float32frombits(binary.LittleEndian.Uint32(b[4:])),
		})
	}
	return dst
}

// Summary batches: an optional v1 input mode (sdk/ABI.md section 3.1). A
// plugin that exports SummaryExport receives, instead of raw events, one
// record per distinct (kind, code) with the count and sum of its valid
// values (finite and ≥ 0), computed natively by the host. Plugins
// whose logic only sums values per kind and code run several times faster
// this way, since the per-event loop leaves the sandbox.
const (
	// SummaryExport is the opt-in marker, a function () -> () the host never
	// calls.
	SummaryExport = "wisp_summary_v1"
	// FlagSummary is set in the batch header's flags word (offset 12) when
	// the records are summaries.
	FlagSummary = 1
	// SummarySize is the size of a summary record: kind u32, code u32,
	// count u32, invalid u32, sum f64.
	SummarySize = 24
)

// Summary is one (kind, code) group of a batch.
type Summary struct {
	Kind, Code uint32
	// Count is the number of events with a valid value (finite, ≥ 0);
	// Invalid the number with NaN, infinite or negative values.
	Count, Invalid uint32
	// Sum is the sum of the valid values, in event order; 0 if none.
	Sum float64
}

// AppendSummaryBatch appends the wire form of a summary batch to dst.
func AppendSummaryBatch(dst []byte, groups []Summary) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, Version)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(groups)))
	dst = binary.LittleEndian.AppendUint32(dst, SummarySize)
	dst = binary.LittleEndian.AppendUint32(dst, FlagSummary)
	for _, g := range groups {
		dst = binary.LittleEndian.AppendUint32(dst, g.Kind)
		dst = binary.LittleEndian.AppendUint32(dst, g.Code)
		dst = binary.LittleEndian.AppendUint32(dst, g.Count)
		dst = binary.LittleEndian.AppendUint32(dst, g.Invalid)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(g.Sum))
	}
	return dst
}

// Valid reports whether v counts as a measurement in a summary: finite and
// not negative.
func Valid(v float64) bool { return v >= 0 && v <= math.MaxFloat64 }

// Summarize groups events by (kind, code) in ascending order, summing valid
// values in event order. It is the reference the host's fast path must
// match.
func Summarize(events []Event) []Summary {
	idx := map[uint64]int{}
	var out []Summary
	for _, e := range events {
		key := uint64(e.Kind)<<32 | uint64(e.Code)
		i, ok := idx[key]
		if !ok {
			i = len(out)
			idx[key] = i
			out = append(out, Summary{Kind: e.Kind, Code: e.Code})
		}
		g := &out[i]
		if !Valid(e.Value) {
			g.Invalid++
			continue
		}
		g.Count++
		g.Sum += e.Value
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Code < out[j].Code
	})
	return out
}
