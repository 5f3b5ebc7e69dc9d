package host

import (
	"encoding/binary"
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

// summarizer is an instance's reusable scratch space: flat per-(kind, code)
// tallies, kept separate so the hot loop touches as little as it can.
type summarizer struct {
	valid   [fastKinds * fastCodes]uint32
	invalid [fastKinds * fastCodes]uint32
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
		if e.Kind>>4|e.Code>>6 != 0 { // outside the flat table
			s.clear()
			return abi.Summarize(events)
		}
		t := (e.Kind<<6 | e.Code) & (fastKinds*fastCodes - 1)
		c := s.valid[t]
		if c == 0 && s.invalid[t] == 0 { // first of its group this call
			s.touched = append(s.touched, uint16(t))
		}
		if v := e.Value; v >= 0 && v <= 1.7976931348623157e308 {
			s.valid[t] = c + 1
			s.sum[t] += v
		} else {
			s.invalid[t]++
		}
	}
	slices.Sort(s.touched)
	s.out = s.out[:0]
	for _, t := range s.touched {
		s.out = append(s.out, abi.Summary{
			Kind: uint32(t) >> 6, Code: uint32(t) & (fastCodes - 1),
			Count: s.valid[t], Invalid: s.invalid[t], Sum: s.sum[t],
		})
	}
	s.clear()
	return s.out
}

func (s *summarizer) clear() {
	for _, t := range s.touched {
		s.valid[t], s.invalid[t], s.sum[t] = 0, 0, 0
	}
}

func init() {
	var g abi.Summary
	if unsafe.Sizeof(g) != abi.SummarySize || unsafe.Offsetof(g.Sum) != 16 {
		panic("host: abi.Summary layout differs from the ABI record")
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
