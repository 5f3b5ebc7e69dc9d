//go:build linux

package compileworker

import (
	"bytes"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// self is the running binary. /proc/self/exe survives the file being
// replaced or deleted (a package upgrade) where os.Executable's path does
// not.
func self() (string, error) { return "/proc/self/exe", nil }

// sysProcAttr kills the worker if the parent dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss * 1024 // kilobytes on Linux
	}
	return 0
}

func cpuKilled(ps *os.ProcessState) bool { return isSignal(ps, syscall.SIGXCPU) }

// vmSize is the process's current address-space size in bytes.
func vmSize() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("VmSize:")); ok {
			f := bytes.Fields(v)
			if len(f) == 2 && string(f[1]) == "kB" {
				kb, err := strconv.ParseUint(string(f[0]), 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, fmt.Errorf("no VmSize in /proc/self/status")
}

// setLimits caps the calling process. as is headroom: RLIMIT_AS is set to
// the address space mapped now plus as, because a Go binary starts with
// well over a GiB of reserved, mostly unbacked, address space (1.5 GiB for
// Go 1.26 on linux/amd64) that an absolute limit would have to guess. RLIMIT_CPU's soft limit sends
// SIGXCPU, which onCPULimit turns into a report; the hard limit, a second
// later, is SIGKILL in case the report cannot be made.
func setLimits(as uint64, cpuSeconds uint64, onCPULimit func()) error {
	if cpuSeconds > 0 {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGXCPU)
		go func() { <-c; onCPULimit() }()
		if err := syscall.Setrlimit(syscall.RLIMIT_CPU, &syscall.Rlimit{Cur: cpuSeconds, Max: cpuSeconds + 1}); err != nil {
			return fmt.Errorf("setrlimit RLIMIT_CPU: %w", err)
		}
	}
	return setAddressSpace(as)
}

func setAddressSpace(as uint64) error {
	if as == 0 {
		return nil
	}
	base, err := vmSize()
	if err != nil {
		return err
	}
	as += base
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: as, Max: as}); err != nil {
		return fmt.Errorf("setrlimit RLIMIT_AS: %w", err)
	}
	return nil
}

func setCPUFromNow(d time.Duration) error {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return fmt.Errorf("getrusage: %w", err)
	}
	used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	secs := uint64((used + d + time.Second - 1) / time.Second)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CPU, &lim); err != nil {
		return fmt.Errorf("getrlimit RLIMIT_CPU: %w", err)
	}
	lim.Cur = min(secs, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_CPU, &lim); err != nil {
		return fmt.Errorf("setrlimit RLIMIT_CPU: %w", err)
	}
	return nil
}

// LimitsEnforced reports whether Budget.CPU and Budget.AddressSpace are
// enforced on this platform (Budget.Wall always is).
const LimitsEnforced = true
