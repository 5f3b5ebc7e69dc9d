//go:build !linux

package compileworker

import (
	"os"
	"syscall"
	"time"
)

func self() (string, error) { return os.Executable() }

func sysProcAttr() *syscall.SysProcAttr { return nil }

func maxRSS(*os.ProcessState) int64 { return 0 }

func cpuKilled(*os.ProcessState) bool { return false }

// setLimits does nothing off Linux: only Budget.Wall is enforced there.
func setLimits(uint64, uint64, func()) error { return nil }

func setAddressSpace(uint64) error { return nil }

func setCPUFromNow(time.Duration) error { return nil }

// LimitsEnforced reports whether Budget.CPU and Budget.AddressSpace are
// enforced on this platform (Budget.Wall always is).
const LimitsEnforced = false
