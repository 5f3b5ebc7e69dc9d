package sandbox

import (
	"encoding/binary"
	"unsafe"

	"github.com/wisp-project/wisp/sdk/abi"
)

// nativeLittleEndian: on little-endian hosts abi.Event's memory layout
// (u32, u32, i64, f64 — 24 bytes, no padding) is exactly the ABI's event
// record, so a batch is encoded with one copy instead of field by field.
// Encoding field by field cost twice the fridge plugin's whole native
// scoring time (docs/BENCHMARKS.md).
var nativeLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

func init() {
	var e abi.Event
	if unsafe.Sizeof(e) != abi.EventSize || unsafe.Offsetof(e.Code) != 4 || unsafe.Offsetof(e.Time) != 8 || unsafe.Offsetof(e.Value) != 16 {
		nativeLittleEndian = false
	}
}

// encodeBatch writes the batch for events into dst, which must hold
// abi.BatchSize(len(events)) bytes.
func encodeBatch(dst []byte, events []abi.Event) {
	if !nativeLittleEndian {
		copy(dst, abi.AppendBatch(make([]byte, 0, len(dst)), events))
		return
	}
	binary.LittleEndian.PutUint32(dst[0:], abi.Version)
	binary.LittleEndian.PutUint32(dst[4:], uint32(len(events)))
	binary.LittleEndian.PutUint32(dst[8:], abi.EventSize)
	binary.LittleEndian.PutUint32(dst[12:], 0)
	if len(events) > 0 {
		copy(dst[abi.HeaderSize:], unsafe.Slice((*byte)(unsafe.Pointer(&events[0])), len(events)*abi.EventSize))
	}
}
