package fuel

import (
	"fmt"

	"github.com/wisp-project/wisp/host/sandbox/internal/wasmbin"
)

// reader adds the fuel rewriter's few composite reads to wasmbin.Reader.
type reader struct{ wasmbin.Reader }

func newReader(b []byte) *reader { return &reader{wasmbin.Reader{B: b}} }

func (r *reader) u32() uint32 { return uint32(r.ULEB(32)) }

func (r *reader) name() string { return string(r.Take(uint64(r.u32()))) }

func (r *reader) limits() {
	switch flag := r.Byte(); flag {
	case 0x00:
		r.u32()
	case 0x01, 0x03: // 0x03: shared memory
		r.u32()
		r.u32()
	default:
		r.Fail(fmt.Errorf("limits flag %#x", flag))
	}
}

func appendU32(b []byte, v uint32) []byte { return wasmbin.AppendULEB(b, uint64(v)) }

func appendS64(b []byte, v int64) []byte { return wasmbin.AppendSLEB(b, v) }

func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}
