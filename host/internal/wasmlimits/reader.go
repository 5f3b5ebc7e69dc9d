package wasmlimits

import (
	"errors"
	"fmt"
)

var errEOF = errors.New("wasmlimits: unexpected end of module")

// reader walks the binary format without allocating: the first error
// sticks and later reads return zero values, so callers check err once per
// item.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) done() bool { return r.err != nil || r.off >= len(r.b) }

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) byte1() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail(errEOF)
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) take(n uint64) []byte {
	if r.err != nil || n > uint64(r.left()) {
		r.fail(errEOF)
		return nil
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}

// uleb reads an unsigned LEB128 of at most bits bits.
func (r *reader) uleb(bits uint) uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		c := r.byte1()
		if r.err != nil {
			return 0
		}
		if shift >= bits {
			r.fail(fmt.Errorf("wasmlimits: LEB128 longer than %d bits", bits))
			return 0
		}
		v |= uint64(c&0x7F) << shift
		if c&0x80 == 0 {
			return v
		}
	}
}

// sleb skips a signed LEB128 of at most bits bits.
func (r *reader) sleb(bits uint) {
	for shift := uint(0); ; shift += 7 {
		c := r.byte1()
		if r.err != nil {
			return
		}
		if shift >= bits {
			r.fail(fmt.Errorf("wasmlimits: LEB128 longer than %d bits", bits))
			return
		}
		if c&0x80 == 0 {
			return
		}
	}
}

func (r *reader) u32() uint64 { return r.uleb(32) }

// count reads a vector length and refuses one larger than the bytes left,
// since every element takes at least one byte: a decoder that allocates
// the declared length up front then allocates at most proportional to the
// input.
func (r *reader) count(what string) uint64 {
	n := r.u32()
	if r.err == nil && n > uint64(r.left()) {
		r.fail(fmt.Errorf("wasmlimits: %s count %d exceeds the %d bytes left", what, n, r.left()))
		return 0
	}
	return n
}

// name skips a length-prefixed byte string and returns it (a sub-slice).
func (r *reader) name() []byte { return r.take(r.u32()) }

// limits reads table or memory limits and returns the minimum.
func (r *reader) limits() uint64 {
	flag := r.byte1()
	if flag > 0x07 {
		r.fail(fmt.Errorf("wasmlimits: limits flag %#x", flag))
		return 0
	}
	bits := uint(32)
	if flag&0x04 != 0 { // memory64
		bits = 64
	}
	min := r.uleb(bits)
	if flag&0x01 != 0 {
		r.uleb(bits)
	}
	return min
}

// valType skips a value type, including a (ref null? ht) reference type.
func (r *reader) valType() {
	switch c := r.byte1(); c {
	case 0x63, 0x64:
		r.sleb(33)
	}
}
