// Package wasmbin reads and writes the WebAssembly binary format's
// primitives (bytes, LEB128 integers) for the host's two module walkers,
// wasmlimits (before wazero decodes a module) and fuel (which rewrites it),
// so both read every byte the same way.
package wasmbin

import (
	"errors"
	"fmt"
)

// ErrEOF reports a read past the end of the input.
var ErrEOF = errors.New("wasmbin: unexpected end of module")

// Reader walks a byte slice without allocating. The first error sticks in
// Err and later reads return zero values, so callers check Err once per
// item.
type Reader struct {
	B   []byte
	Off int
	Err error
}

// Done reports whether the input is used up or an error occurred.
func (r *Reader) Done() bool { return r.Err != nil || r.Off >= len(r.B) }

// Left is the number of unread bytes.
func (r *Reader) Left() int { return len(r.B) - r.Off }

// Fail records err unless an error is already recorded.
func (r *Reader) Fail(err error) {
	if r.Err == nil {
		r.Err = err
	}
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.Err != nil || r.Off >= len(r.B) {
		r.Fail(ErrEOF)
		return 0
	}
	c := r.B[r.Off]
	r.Off++
	return c
}

// Take returns the next n bytes as a sub-slice.
func (r *Reader) Take(n uint64) []byte {
	if r.Err != nil || n > uint64(r.Left()) {
		r.Fail(ErrEOF)
		return nil
	}
	s := r.B[r.Off : r.Off+int(n)]
	r.Off += int(n)
	return s
}

// ULEB reads an unsigned LEB128 of at most bits bits.
func (r *Reader) ULEB(bits uint) uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		c := r.Byte()
		if r.Err != nil {
			return 0
		}
		if shift >= bits {
			r.Fail(fmt.Errorf("wasmbin: LEB128 longer than %d bits", bits))
			return 0
		}
		v |= uint64(c&0x7F) << shift
		if c&0x80 == 0 {
			return v
		}
	}
}

// SLEB skips a signed LEB128 of at most bits bits.
func (r *Reader) SLEB(bits uint) {
	for shift := uint(0); ; shift += 7 {
		c := r.Byte()
		if r.Err != nil {
			return
		}
		if shift >= bits {
			r.Fail(fmt.Errorf("wasmbin: LEB128 longer than %d bits", bits))
			return
		}
		if c&0x80 == 0 {
			return
		}
	}
}

// AppendULEB appends v as an unsigned LEB128.
func AppendULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// AppendSLEB appends v as a signed LEB128.
func AppendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
