package compileworker

import (
	"os/exec"
	"syscall"
	"time"
)

// The helpers below let host/sandbox run other work (a process-isolated
// plugin) in a re-executed child with the same containment as the compile
// worker.

// Self is the executable to re-execute: /proc/self/exe on Linux (it
// survives the file being replaced), os.Executable elsewhere.
func Self() (string, error) { return self() }

// Contain sets up cmd so the child is killed if the parent dies first
// (Linux: PR_SET_PDEATHSIG).
func Contain(cmd *exec.Cmd) { cmd.SysProcAttr = sysProcAttr() }

// LimitAddressSpace caps the calling process's address space at what it
// has mapped now plus headroom bytes (RLIMIT_AS; see Budget.AddressSpace).
// It does nothing off Linux.
func LimitAddressSpace(headroom uint64) error { return setAddressSpace(headroom) }

// LimitCPUFromNow sets the calling process's soft CPU limit (RLIMIT_CPU)
// to the CPU time it has used so far plus d, rounded up to whole seconds;
// past it the kernel sends SIGXCPU, whose default action ends the process.
// Called before each unit of work, it bounds each one's CPU time. It does
// nothing off Linux.
func LimitCPUFromNow(d time.Duration) error { return setCPUFromNow(d) }

// IsCPULimit reports whether err (from exec.Cmd.Wait) is a process ended
// by SIGXCPU.
func IsCPULimit(err error) bool {
	ee, ok := err.(*exec.ExitError)
	if !ok {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGXCPU
}
