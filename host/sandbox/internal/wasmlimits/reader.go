package wasmlimits

import (
	"fmt"

	"github.com/wisp-project/wisp/host/sandbox/internal/wasmbin"
)

// reader adds the scan's composite reads to wasmbin.Reader.
type reader struct{ wasmbin.Reader }

func newReader(b []byte) *reader { return &reader{wasmbin.Reader{B: b}} }

func (r *reader) u32() uint64 { return r.ULEB(32) }

// count reads a vector length and refuses one larger than the bytes left,
// since every element takes at least one byte: a decoder that allocates
// the declared length up front then allocates at most proportional to the
// input.
func (r *reader) count(what string) uint64 {
	n := r.u32()
	if r.Err == nil && n > uint64(r.Left()) {
		r.Fail(fmt.Errorf("wasmlimits: %s count %d exceeds the %d bytes left", what, n, r.Left()))
		return 0
	}
	return n
}

// name skips a length-prefixed byte string and returns it (a sub-slice).
func (r *reader) name() []byte { return r.Take(r.u32()) }

// limits reads table or memory limits and returns the minimum.
func (r *reader) limits() uint64 {
	flag := r.Byte()
	if flag > 0x07 {
		r.Fail(fmt.Errorf("wasmlimits: limits flag %#x", flag))
		return 0
	}
	bits := uint(32)
	if flag&0x04 != 0 { // memory64
		bits = 64
	}
	min := r.ULEB(bits)
	if flag&0x01 != 0 {
		r.ULEB(bits)
	}
	return min
}
