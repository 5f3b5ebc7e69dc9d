// Package dataseg merges a module's active data segments where merging
// provably changes nothing but the cost of instantiating it.
//
// A Go (GOOS=wasip1) module carries its initialized data as tens of
// thousands of small segments (the linker splits at every run of zeros):
// the 2.6 MB fitness plugin has 31,154, 758 KB in all. Every instantiation
// evaluates each segment's offset expression and copies it, which was about
// 0.5 ms of each device's 1.2 ms start; merged across gaps of up to MaxGap
// zero bytes the same data is 3 segments, 1.3 MB, copied at memmove speed.
package dataseg

import (
	"cmp"
	"slices"

	"github.com/wisp-project/wisp/host/sandbox/internal/wasmbin"
)

// Version names what Merge emits; caches of its output key on it.
const Version = "dataseg-v1"

// MaxGap is the most zero bytes a merge fills between two segments: about
// what wazero spends on one more segment (≈17 ns) buys in memmove.
const MaxGap = 256

const (
	secImport = 2
	secMemory = 5
	secData   = 11
	secCount  = 12
)

type segment struct {
	off  uint32
	init []byte
}

// Merge returns wasm with its data section's segments sorted by offset and
// the neighbours no more than MaxGap bytes apart joined, the gap filled
// with zeros, or wasm itself when that could be observed. It can only be
// observed through segment indices or memory contents before the segments
// apply, so Merge changes nothing unless
//   - there is no data count section, without which no instruction may
//     name a segment (memory.init, data.drop): indices are unused;
//   - the memory is the module's own, not imported (and not shared), so it
//     is all zeros when the segments apply, as a filled gap is;
//   - every segment is active with a constant offset (i32.const) and no
//     two overlap, so their order does not matter.
//
// Instantiation still fails exactly when the original's would: a merged
// segment reaches past the memory exactly when one of its parts does.
// Merge expects a module wazero validated; anything it cannot read it
// returns unchanged.
func Merge(wasm []byte) []byte {
	if len(wasm) < 8 {
		return wasm
	}
	r := wasmbin.Reader{B: wasm, Off: 8}
	dataStart, dataEnd := -1, -1
	var data []byte
	for !r.Done() {
		start := r.Off
		id := r.Byte()
		body := r.Take(r.ULEB(32))
		if r.Err != nil {
			return wasm
		}
		switch id {
		case secCount:
			return wasm
		case secImport:
			if importsMemory(body) {
				return wasm
			}
		case secMemory:
			if !ownMemory(body) {
				return wasm
			}
		case secData:
			dataStart, dataEnd, data = start, r.Off, body
		}
	}
	if data == nil {
		return wasm
	}
	segs, ok := parseData(data)
	if !ok || len(segs) < 2 {
		return wasm
	}
	slices.SortStableFunc(segs, func(a, b segment) int { return cmp.Compare(a.off, b.off) })
	var merged []segment
	end := uint64(0) // of the last merged segment
	for i, s := range segs {
		if i > 0 && uint64(s.off) < end {
			return wasm // overlap: order matters
		}
		if i > 0 && uint64(s.off)-end <= MaxGap {
			last := &merged[len(merged)-1]
			last.init = append(last.init, make([]byte, uint64(s.off)-end)...)
			last.init = append(last.init, s.init...)
		} else {
			merged = append(merged, segment{off: s.off, init: slices.Clip(s.init)})
		}
		end = uint64(s.off) + uint64(len(s.init))
	}
	if len(merged) == len(segs) {
		return wasm
	}
	var body []byte
	body = wasmbin.AppendULEB(body, uint64(len(merged)))
	for _, s := range merged {
		body = append(body, 0x00, 0x41) // active, memory 0; i32.const
		body = wasmbin.AppendSLEB(body, int64(int32(s.off)))
		body = append(body, 0x0B)
		body = wasmbin.AppendULEB(body, uint64(len(s.init)))
		body = append(body, s.init...)
	}
	out := make([]byte, 0, len(wasm)-(dataEnd-dataStart)+len(body)+6)
	out = append(out, wasm[:dataStart]...)
	out = append(out, secData)
	out = wasmbin.AppendULEB(out, uint64(len(body)))
	out = append(out, body...)
	return append(out, wasm[dataEnd:]...)
}

// parseData reads a data section whose segments are all active in memory
// 0 at an i32.const offset in [0, 2³¹).
func parseData(body []byte) ([]segment, bool) {
	r := wasmbin.Reader{B: body}
	n := r.ULEB(32)
	if r.Err != nil || n > uint64(len(body)) {
		return nil, false
	}
	segs := make([]segment, 0, n)
	for range n {
		if r.ULEB(32) != 0 || r.Byte() != 0x41 {
			return nil, false
		}
		off, ok := readI32(&r)
		if !ok || off < 0 || r.Byte() != 0x0B {
			return nil, false
		}
		init := r.Take(r.ULEB(32))
		if r.Err != nil {
			return nil, false
		}
		segs = append(segs, segment{off: uint32(off), init: init})
	}
	return segs, r.Err == nil && r.Off == len(body)
}

// readI32 reads a signed LEB128 of at most 32 bits.
func readI32(r *wasmbin.Reader) (int32, bool) {
	var v int64
	for shift := uint(0); shift < 35; shift += 7 {
		b := r.Byte()
		if r.Err != nil {
			return 0, false
		}
		v |= int64(b&0x7F) << shift
		if b&0x80 == 0 {
			if shift+7 < 64 && b&0x40 != 0 {
				v |= -1 << (shift + 7)
			}
			if v < -1<<31 || v >= 1<<31 {
				return 0, false
			}
			return int32(v), true
		}
	}
	return 0, false
}

// importsMemory reports whether an import section imports a memory (or
// cannot be read).
func importsMemory(body []byte) bool {
	r := wasmbin.Reader{B: body}
	for n := r.ULEB(32); n > 0 && r.Err == nil; n-- {
		r.Take(r.ULEB(32)) // module
		r.Take(r.ULEB(32)) // name
		switch r.Byte() {
		case 0x00: // function
			r.ULEB(32)
		case 0x01: // table
			r.Byte()
			skipLimits(&r)
		case 0x03: // global
			r.Byte()
			r.Byte()
		default: // a memory, or what this package does not know
			return true
		}
	}
	return r.Err != nil
}

// ownMemory reports whether a memory section declares one unshared memory.
func ownMemory(body []byte) bool {
	r := wasmbin.Reader{B: body}
	if r.ULEB(32) != 1 {
		return false
	}
	flag := r.Byte()
	return r.Err == nil && (flag == 0x00 || flag == 0x01)
}

func skipLimits(r *wasmbin.Reader) {
	flag := r.Byte()
	r.ULEB(32)
	if flag&1 != 0 {
		r.ULEB(32)
	}
}
