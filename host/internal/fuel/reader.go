package fuel

import (
	"errors"
	"fmt"
)

var errEOF = errors.New("unexpected end of module")

// reader decodes the binary format; the first error sticks and later reads
// return zero values, so callers check err once per item.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) done() bool { return r.err != nil || r.off >= len(r.b) }

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

func (r *reader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.off {
		r.fail(errEOF)
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
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
			r.fail(fmt.Errorf("LEB128 longer than %d bits", bits))
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
			r.fail(fmt.Errorf("LEB128 longer than %d bits", bits))
			return
		}
		if c&0x80 == 0 {
			return
		}
	}
}

func (r *reader) u32() uint32 { return uint32(r.uleb(32)) }

func (r *reader) name() string { return string(r.take(int(r.u32()))) }

func (r *reader) limits() {
	switch flag := r.byte1(); flag {
	case 0x00:
		r.u32()
	case 0x01, 0x03: // 0x03: shared memory
		r.u32()
		r.u32()
	default:
		r.fail(fmt.Errorf("limits flag %#x", flag))
	}
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}
