// Package archtest holds no code, only tests that keep the layout of
// docs/ARCHITECTURE.md true: the import rules between the parts (checked on
// `go list -deps` of the real tree) and that a module outside Wisp can use
// each public door (host, host/sandbox, aggregator) without naming an
// internal type.
package archtest
