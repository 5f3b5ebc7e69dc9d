// Package cputime reads this process's CPU time for the benchmarks. On a
// machine shared with other work, wall-clock rates swing with the
// neighbours' load; CPU time does not, so per-core figures and ratios are
// taken from it.
package cputime

import "syscall"

// Process is this process's user + system CPU seconds (0 if unknown).
func Process() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
