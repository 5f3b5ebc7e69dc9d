//go:build wasip1

package guest

import (
	"errors"
	"unsafe"

	"github.com/wisp-project/wisp/sdk/abi"
)

// The exported state lives in the guest's linear memory for the life of the
// instance; the host may throw the instance away at any time, so nothing here
// is more than a cache.
var (
	handler ScoreFunc
	buffer  []byte
	events  []Event
	scores  Scores
)

// Handle registers f as the plugin's scorer. Call it from an init function:
// a reactor's main never runs.
func Handle(f ScoreFunc) { handler = f }

//go:wasmexport wisp_abi_v1
func wispABIv1() {}

//go:wasmexport wisp_buffer
func wispBuffer(size int32) int32 {
	if size <= 0 {
		return 0
	}
	if int(size) > cap(buffer) {
		buffer = make([]byte, size)
	}
	buffer = buffer[:size]
	return int32(uintptr(unsafe.Pointer(unsafe.SliceData(buffer))))
}

//go:wasmexport wisp_score
func wispScore(inPtr, inLen, outPtr, outCap int32) int32 {
	if handler == nil || inPtr <= 0 || inLen < 0 || outPtr <= 0 || outCap < 0 {
		return abi.ErrCodeBadInput
	}
	in := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(inPtr))), inLen)
	out := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(outPtr))), int(outCap)*abi.ScoreSize)
	n, ev, err := Run(handler, in, out, events, &scores)
	events = ev
	switch {
	case errors.Is(err, abi.ErrBadBatch):
		return abi.ErrCodeBadInput
	case errors.Is(err, ErrOutputSpace):
		return abi.ErrCodeOutputSpace
	case err != nil:
		return abi.ErrCodeInternal
	}
	return int32(n)
}
