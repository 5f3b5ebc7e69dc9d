package sandbox

import (
	"encoding/binary"
	"math"
	"slices"
	"unsafe"

	"github.com/wisp-project/wisp/sdk/abi"
)

// Summary batches (sdk/ABI.md section 3.1) move the generic per-event loop
// — drop broken readings, sum by kind and code — out of the sandbox, where
// wazero's code runs it about 3× slower than native Go.

// Fast-path bounds: kinds and codes below these index a flat table.
const (
	fastKinds = 16
	fastCodes = 64
)

const (
	posInf  = 0x7ff0000000000000
	negZero = 0x8000000000000000
)

// summarizer is an instance's reusable scratch space: flat per-(kind, code)
// tallies, kept separate so the hot loop touches as little as it can. A
// group's counts share one word (valid in the low half, invalid in the
// high half), so one load tells whether the group is new this call.
type summarizer struct {
	counts  [fastKinds * fastCodes]uint64
	sum     [fastKinds * fastCodes]float64
	touched []uint16
	out     []abi.Summary
}

// summarize groups events as abi.Summarize does, without maps when every
// kind and code is small (the common case).
func (s *summarizer) summarize(events []abi.Event) []abi.Summary {
	s.touched = s.touched[:0]
	for i := range events {
		e := &events[i]
		if e.Kind >= fastKinds || e.Code >= fastCodes { // outside the flat table
			s.clear()
			return abi.Summarize(events)
		}
		t := (e.Kind<<6 | e.Code) & (fastKinds*fastCodes - 1)
		c := s.counts[t]
		if c == 0 { // first of its group this call
			s.touched = append(s.touched, uint16(t))
		}
		// Valid means finite and ≥ 0: below +Inf as bits, or -0.
		if u := math.Float64bits(e.Value); u < posInf || u == negZero {
			s.counts[t] = c + 1
			s.sum[t] += e.Value
		} else {
			s.counts[t] = c + 1<<32
		}
	}
	slices.Sort(s.touched)
	s.out = s.out[:0]
	for _, t := range s.touched {
		c := s.counts[t]
		s.out = append(s.out, abi.Summary{
			Kind: uint32(t) >> 6, Code: uint32(t) & (fastCodes - 1),
			Count: uint32(c), Invalid: uint32(c >> 32), Sum: s.sum[t],
		})
	}
	s.clear()
	return s.out
}

func (s *summarizer) clear() {
	for _, t := range s.touched {
		s.counts[t], s.sum[t] = 0, 0
	}
}

func init() {
	var g abi.Summary
	if unsafe.Sizeof(g) != abi.SummarySize || unsafe.Offsetof(g.Sum) != 16 {
		panic("sandbox: abi.Summary layout differs from the ABI record")
	}
}

// encodeSummary writes a summary batch into dst, which must hold
// abi.HeaderSize + len(groups)*abi.SummarySize bytes.
func encodeSummary(dst []byte, groups []abi.Summary) {
	if !nativeLittleEndian {
		copy(dst, abi.AppendSummaryBatch(make([]byte, 0, len(dst)), groups))
		return
	}
	binary.LittleEndian.PutUint32(dst[0:], abi.Version)
	binary.LittleEndian.PutUint32(dst[4:], uint32(len(groups)))
	binary.LittleEndian.PutUint32(dst[8:], abi.SummarySize)
	binary.LittleEndian.PutUint32(dst[12:], abi.FlagSummary)
	if len(groups) > 0 {
		copy(dst[abi.HeaderSize:], unsafe.Slice((*byte)(unsafe.Pointer(&groups[0])), len(groups)*abi.SummarySize))
	}
}
