package ingest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// Rates "per core" are reports per CPU-second: the CPU time this process
// spent (and, for PostgreSQL, its server processes), not wall time. On a
// machine shared with other work, wall-clock rates swing with the
// neighbours' load; CPU time does not, so the ratio to the Open bound is
// stable from run to run.

// processCPU is this process's user + system CPU seconds.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return tv(ru.Utime) + tv(ru.Stime)
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// clockTicks is USER_HZ, 100 on every Linux that matters.
const clockTicks = 100

// postgresCPU sums the user + system CPU seconds of every process named
// "postgres" (the server and its backends) from /proc; 0 where there is
// no /proc. Connections closed during the measurement take their time
// with them, so the pool is kept open across it.
func postgresCPU() float64 {
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	var total float64
	for _, p := range paths {
		if name, secs, ok := statCPU(p); ok && name == "postgres" {
			total += secs
		}
	}
	return total
}

// pidCPU is the user + system CPU seconds of process pid (0 if unknown).
func pidCPU(pid int) float64 {
	_, secs, _ := statCPU("/proc/" + strconv.Itoa(pid) + "/stat")
	return secs
}

// statCPU reads a /proc/<pid>/stat file: the process's name and its user
// + system CPU seconds.
func statCPU(path string) (name string, secs float64, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, false
	}
	open, close := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || close < open {
		return "", 0, false
	}
	fields := bytes.Fields(b[close+1:])
	if len(fields) < 13 { // state is field 3; utime and stime are 14 and 15
		return "", 0, false
	}
	u, _ := strconv.ParseFloat(string(fields[11]), 64)
	s, _ := strconv.ParseFloat(string(fields[12]), 64)
	return string(b[open+1 : close]), (u + s) / clockTicks, true
}
