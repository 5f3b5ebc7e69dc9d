package wasmbin

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// TestLEB128Vectors: the encodings from the DWARF/Wasm LEB128 examples, and
// round trips at the edges.
func TestLEB128Vectors(t *testing.T) {
	if got := AppendULEB(nil, 624485); !bytes.Equal(got, []byte{0xE5, 0x8E, 0x26}) {
		t.Errorf("AppendULEB(624485) = % x", got)
	}
	if got := AppendSLEB(nil, -123456); !bytes.Equal(got, []byte{0xC0, 0xBB, 0x78}) {
		t.Errorf("AppendSLEB(-123456) = % x", got)
	}
	for _, v := range []uint32{0, 1, 127, 128, 1 << 21, math.MaxUint32} {
		r := Reader{B: AppendULEB(nil, uint64(v))}
		if got := r.ULEB(32); got != uint64(v) || r.Err != nil || !r.Done() {
			t.Errorf("ULEB of %d = %d, %v", v, got, r.Err)
		}
	}
	for _, v := range []int64{0, -1, 63, -64, 64, math.MinInt64, math.MaxInt64} {
		r := Reader{B: AppendSLEB(nil, v)}
		if r.SLEB(64); r.Err != nil || !r.Done() {
			t.Errorf("SLEB of %d: %v, %d bytes left", v, r.Err, r.Left())
		}
	}
}

// TestReaderErrorsStick: overlong and truncated input fail once, and
// later reads return zero values.
func TestReaderErrorsStick(t *testing.T) {
	r := Reader{B: []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}} // 6 bytes: too long for 32 bits
	if r.ULEB(32); r.Err == nil {
		t.Fatal("overlong ULEB(32) accepted")
	}
	first := r.Err
	if r.Byte() != 0 || r.Take(1) != nil || r.Err != first {
		t.Fatal("reads after an error are not zero, or the error changed")
	}
	r = Reader{B: []byte{1, 2}}
	if r.Take(3) != nil || !errors.Is(r.Err, ErrEOF) {
		t.Fatalf("Take past the end: %v", r.Err)
	}
	r = Reader{B: []byte{0x80}}
	if r.ULEB(32); !errors.Is(r.Err, ErrEOF) {
		t.Fatalf("truncated ULEB: %v", r.Err)
	}
}
