// Package host is the device side of Wisp: it runs third-party scoring
// plugins in a wazero sandbox and turns the owner's local interest scores
// into sealed, differentially private reports.
//
// Plugins are hostile until proven otherwise. A plugin gets no files, no
// network, no environment, no arguments, a fake clock and deterministic
// randomness (wazero's defaults); its memory is capped and every call has a
// deadline. Everything a plugin returns is validated: only its declared
// categories, finite scores in [0, 1], no more records than the host asked
// for. A trap, a timeout or a bad answer is an error for that call, never a
// crash, and the instance is thrown away; plugins are pure functions, so
// nothing is lost with it.
//
// The ABI is specified in sdk/ABI.md and rendered in Go by sdk/abi.
package host
