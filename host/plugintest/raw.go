package plugintest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/wisp-project/wisp/sdk/abi"
)

// ErrNoSummaries: RawEvents was given a module that does not opt into
// summary batches, so it gets raw events already.
var ErrNoSummaries = errors.New("plugintest: the module does not export " + abi.SummaryExport + ", so it gets raw events already")

// rawExport replaces abi.SummaryExport in RawEvents: the same length, so
// no size in the module changes, and no name the host looks for.
const rawExport = "wisp_raw_events"

// RawEvents returns a copy of wasm whose summary opt-in export
// (abi.SummaryExport, sdk/ABI.md 3.1) is renamed, so the host sends it raw
// event batches (flags 0), as a host that does not take summaries would.
// A plugin that opts in must still accept those, which a device running
// this host never sends it: run its fixtures on both. The opt-in is only a
// marker the host never calls, so nothing else about the module changes.
func RawEvents(wasm []byte) ([]byte, error) {
	if len(rawExport) != len(abi.SummaryExport) {
		panic("plugintest: rawExport and abi.SummaryExport differ in length")
	}
	if len(wasm) < 8 || !bytes.Equal(wasm[:8], []byte("\x00asm\x01\x00\x00\x00")) {
		return nil, errors.New("plugintest: not a WebAssembly 1.0 module")
	}
	for off := 8; off < len(wasm); {
		id := wasm[off]
		size, n := binary.Uvarint(wasm[off+1:])
		if n <= 0 || size > uint64(len(wasm)-off-1-n) {
			return nil, fmt.Errorf("plugintest: malformed section at byte %d", off)
		}
		start := off + 1 + n
		off = start + int(size)
		if id != 7 { // the export section
			continue
		}
		at, err := exportNamed(wasm[start:off], abi.SummaryExport)
		if err != nil {
			return nil, fmt.Errorf("plugintest: export section at byte %d: %w", start, err)
		}
		if at < 0 {
			return nil, ErrNoSummaries
		}
		out := bytes.Clone(wasm)
		copy(out[start+at:], rawExport)
		return out, nil
	}
	return nil, ErrNoSummaries
}

// exportNamed returns the offset in sec (an export section's contents) of
// the export name, or -1 if there is none of that name.
func exportNamed(sec []byte, name string) (int, error) {
	count, n := binary.Uvarint(sec)
	if n <= 0 {
		return 0, errors.New("bad count")
	}
	off := n
	for range count {
		l, n := binary.Uvarint(sec[off:])
		if n <= 0 || l > uint64(len(sec)-off-n) {
			return 0, errors.New("bad name")
		}
		off += n
		if string(sec[off:off+int(l)]) == name {
			return off, nil
		}
		off += int(l)
		if off >= len(sec) { // the kind byte
			return 0, errors.New("truncated")
		}
		off++
		if _, n := binary.Uvarint(sec[off:]); n <= 0 { // the index
			return 0, errors.New("bad index")
		}
		off += n
	}
	return -1, nil
}
