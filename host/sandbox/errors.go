package sandbox

import (
	"errors"
	"fmt"

	"github.com/wisp-project/wisp/sdk/abi"
)

// Errors callers can test with errors.Is. Load errors wrap ErrRefused (and,
// for signed loads, one of the trust reasons below); call errors wrap
// exactly one of ErrTimeout, ErrTrap, ErrBadOutput, ErrPluginFailed,
// ErrTooManyEvents or ErrClosed, and also the underlying cause. A timeout
// also wraps ErrOutOfFuel or ErrDeadline, so a caller can tell what ran out;
// a trap, error code or missing buffer after the plugin hit its memory
// limit also wraps ErrMemoryLimit.
var (
	// ErrRefused: the module is not a valid Wisp plugin (bad Wasm, wrong ABI
	// version, missing exports, forbidden imports, start function failed,
	// too large) or its manifest failed verification.
	ErrRefused = errors.New("sandbox: plugin refused")
	// ErrTimeout: a call ran past its deadline or its fuel (work) budget and
	// was stopped.
	ErrTimeout = errors.New("sandbox: plugin timed out")
	// ErrOutOfFuel: the call used up its fuel (work) budget. It wraps
	// ErrTimeout.
	ErrOutOfFuel = fmt.Errorf("%w: out of fuel", ErrTimeout)
	// ErrDeadline: the call ran past its wall-time deadline. It wraps
	// ErrTimeout.
	ErrDeadline = fmt.Errorf("%w: deadline exceeded", ErrTimeout)
	// ErrTrap: the plugin trapped (unreachable, out-of-bounds access, stack
	// overflow, memory limit, exit), or its worker process died (process
	// isolation).
	ErrTrap = errors.New("sandbox: plugin trapped")
	// ErrMemoryLimit: a memory.grow of the plugin failed during the call
	// (its memory would have passed Limits.MemoryPages, or the module's
	// own declared maximum) and the call then trapped (wrapped with
	// ErrTrap), returned an error code (with ErrPluginFailed) or got no
	// buffer from wisp_buffer (with ErrBadOutput). A call that instead ran
	// out of fuel or time is ErrTimeout alone.
	ErrMemoryLimit = errors.New("sandbox: plugin hit its memory limit")
	// ErrBadOutput: the plugin returned something the ABI forbids.
	ErrBadOutput = errors.New("sandbox: plugin returned a bad answer")
	// ErrPluginFailed: the plugin reported an error code.
	ErrPluginFailed = errors.New("sandbox: plugin reported an error")
	// ErrTooManyEvents: the caller passed more events than the limit.
	ErrTooManyEvents = errors.New("sandbox: too many events for one call")
	// ErrClosed: the plugin was closed.
	ErrClosed = errors.New("sandbox: plugin closed")
)

// Reasons a signed plugin is refused; each also wraps ErrRefused.
var (
	// ErrUnsigned: no signature, or a manifest with no author key.
	ErrUnsigned = errors.New("sandbox: plugin manifest is not signed")
	// ErrBadSignature: the signature does not verify — the manifest was
	// changed after signing, or signed by another key than it names.
	ErrBadSignature = errors.New("sandbox: plugin manifest signature is invalid")
	// ErrUnknownAuthor: the author key is not in the device's trust store.
	ErrUnknownAuthor = errors.New("sandbox: plugin author is not trusted")
	// ErrDigestMismatch: the module is not the one the manifest names.
	ErrDigestMismatch = errors.New("sandbox: plugin module does not match its manifest digest")
	// ErrWrongABI: the manifest or the module speaks an ABI version this
	// host does not.
	ErrWrongABI = errors.New("sandbox: plugin speaks another ABI version")
	// ErrBadManifest: the manifest does not parse or is inconsistent.
	ErrBadManifest = errors.New("sandbox: malformed plugin manifest")
	// ErrBadKey: a key's text form does not parse.
	ErrBadKey = errors.New("sandbox: malformed key")
)

// codeText names a wisp_score error code as sdk/ABI.md section 5 does, so
// "code -2" says what it means.
func codeText(n int32) string {
	switch n {
	case abi.ErrCodeBadInput:
		return "code -1 (ErrCodeBadInput: the plugin could not decode the batch)"
	case abi.ErrCodeOutputSpace:
		return "code -2 (ErrCodeOutputSpace: out_cap was too small for the plugin's answer)"
	case abi.ErrCodeInternal:
		return "code -3 (ErrCodeInternal: the plugin's scorer failed)"
	}
	return fmt.Sprintf("code %d (not one the ABI defines; -1, -2 and -3 are)", n)
}

// stopped wraps the runtime's error for a call the host stopped: its text
// ("wasm error: unreachable" and a stack trace) is the stop mechanism's,
// not the plugin's, so only the cause is kept, for errors.Is and As.
type stopped struct {
	how   string
	cause error
}

func (s stopped) Error() string { return s.how }
func (s stopped) Unwrap() error { return s.cause }
