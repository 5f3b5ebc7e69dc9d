//go:build wasip1

package guest

import (
	"encoding/binary"
	"errors"
	"unsafe"

	"github.com/wisp-project/wisp/sdk/abi"
)

// The exported state lives in the guest's linear memory for the life of the
// instance; the host may throw the instance away at any time, so nothing here
// is more than a cache.
var (
	handler ScoreFunc
	summary SummaryFunc
	buffer  []byte
	events  []Event
	scores  Scores
)

// Handle registers f as the plugin's scorer. Call it from an init function:
// a reactor's main never runs.
func Handle(f ScoreFunc) { handler = f }

// HandleSummaries registers f for summary batches. The host sends them only
// to plugins that also import sdk/guest/summaries (which exports the
// wisp_summary_v1 opt-in marker); Handle's scorer still takes raw batches.
func HandleSummaries(f SummaryFunc) { summary = f }

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
	var (
		n   int
		err error
	)
	if g, ok := viewSummaries(in); ok && summary != nil {
		n, err = RunSummaries(summary, g, out, &scores)
	} else if ev, ok := view(in); ok {
		n, err = RunEvents(handler, ev, out, &scores)
	} else {
		n, events, err = Run(handler, in, out, events, &scores)
	}
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

// view returns the batch's events in place, without copying, when the
// records have exactly the v1 layout and are 8-aligned (WebAssembly is
// little-endian, so the bytes are already an []Event). Decoding field by
// field made the Go build of the fridge plugin 25× native.
func view(in []byte) ([]Event, bool) { return viewRecords[Event](in, abi.EventSize, 0) }

// viewSummaries is view for a summary batch.
func viewSummaries(in []byte) ([]Summary, bool) {
	return viewRecords[Summary](in, abi.SummarySize, abi.FlagSummary)
}

// viewRecords is view for records of the given size whose batch has the
// summary flag set as flag says.
func viewRecords[R Event | Summary](in []byte, size, flag uint32) ([]R, bool) {
	if len(in) < abi.HeaderSize || binary.LittleEndian.Uint32(in[0:]) != abi.Version ||
		binary.LittleEndian.Uint32(in[8:]) != size || binary.LittleEndian.Uint32(in[12:])&abi.FlagSummary != flag {
		return nil, false
	}
	count := binary.LittleEndian.Uint32(in[4:])
	if uint64(count)*uint64(size) != uint64(len(in)-abi.HeaderSize) {
		return nil, false
	}
	if count == 0 {
		return nil, true
	}
	p := unsafe.Pointer(&in[abi.HeaderSize])
	if uintptr(p)%8 != 0 {
		return nil, false
	}
	return unsafe.Slice((*R)(p), count), true
}
