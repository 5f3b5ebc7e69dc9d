package ingest

import (
	"bytes"
	"context"
	"os"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Rates "per core" are reports per CPU-second: the CPU time this process
// spent (and, for PostgreSQL, its server processes), not wall time. On a
// machine shared with other work, wall-clock rates swing with the
// neighbours' load; CPU time does not, so the ratio to the Open bound is
// stable from run to run.

// clockTicks is USER_HZ, 100 on every Linux that matters.
const clockTicks = 100

// postgresCPU sums the user + system CPU seconds of the PostgreSQL
// backends serving dsn's connections — those with its application_name,
// which FreshSchema makes unique to the run — from /proc; 0 where there is
// no /proc or the server is not on this machine. Other clients of a
// shared server are not counted (they were, when every process named
// "postgres" was summed, and swung the per-core figures by a third under
// other sessions' load); the server's own background writers are not
// either. Connections closed during the measurement take their time with
// them, so the pool is kept open across it.
func postgresCPU(ctx context.Context, dsn string) float64 {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return 0
	}
	app := cfg.RuntimeParams["application_name"]
	cfg.RuntimeParams["application_name"] = "wisp-bench-cpu-probe"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return 0
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1", app)
	if err != nil {
		return 0
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return 0
	}
	var total float64
	for _, pid := range pids {
		total += pidCPU(int(pid))
	}
	return total
}

// pidCPU is the user + system CPU seconds of process pid (0 if unknown).
func pidCPU(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	close := bytes.LastIndexByte(b, ')') // the name in parentheses may hold anything
	if close < 0 {
		return 0
	}
	fields := bytes.Fields(b[close+1:])
	if len(fields) < 13 { // state is field 3; utime and stime are 14 and 15
		return 0
	}
	u, _ := strconv.ParseFloat(string(fields[11]), 64)
	s, _ := strconv.ParseFloat(string(fields[12]), 64)
	return (u + s) / clockTicks
}
