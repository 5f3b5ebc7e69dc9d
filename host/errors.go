package host

import "errors"

// Errors callers can test with errors.Is. Load errors wrap ErrRefused; call
// errors wrap exactly one of the others, and also the underlying cause.
var (
	// ErrRefused: the module is not a valid Wisp plugin (bad Wasm, wrong ABI
	// version, missing exports, forbidden imports, start function failed).
	ErrRefused = errors.New("host: plugin refused")
	// ErrTimeout: a call ran past its deadline and was stopped.
	ErrTimeout = errors.New("host: plugin timed out")
	// ErrTrap: the plugin trapped (unreachable, out-of-bounds access, stack
	// overflow, memory limit, exit).
	ErrTrap = errors.New("host: plugin trapped")
	// ErrBadOutput: the plugin returned something the ABI forbids.
	ErrBadOutput = errors.New("host: plugin returned a bad answer")
	// ErrPluginFailed: the plugin reported an error code.
	ErrPluginFailed = errors.New("host: plugin reported an error")
	// ErrTooManyEvents: the caller passed more events than the limit.
	ErrTooManyEvents = errors.New("host: too many events for one call")
	// ErrClosed: the plugin was closed.
	ErrClosed = errors.New("host: plugin closed")
)
