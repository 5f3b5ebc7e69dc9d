package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/aggregator/store/storetest"
)

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// BenchmarkInsert measures committing batches of several sizes into a
// store that already holds 100,000 reports; ns/op is per report.
func BenchmarkInsert(b *testing.B) {
	for _, tc := range []struct {
		name string
		spec func(testing.TB) string
	}{
		{"sqlite", func(tb testing.TB) string { return "sqlite:" + filepath.Join(tb.TempDir(), "bench.db") }},
		{"postgres", func(tb testing.TB) string { return "postgres:" + storetest.PostgresDSN(tb) }},
	} {
		for _, batch := range []int{250, 1000, 4000} {
			b.Run(fmt.Sprintf("%s/batch=%d", tc.name, batch), func(b *testing.B) {
				s, err := store.Open(context.Background(), tc.spec(b))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				reports := make([]store.Report, batch)
				id := uint64(0)
				fill := make([]store.Report, 0, 100000)
				for range 100000 {
					id++
					fill = append(fill, storetest.Report(id*0x9e3779b97f4a7c15, "bench", 1, byte(id%2)))
				}
				if _, err := s.Insert(context.Background(), fill); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				c0 := cpuSeconds()
				for done := 0; done < b.N; done += batch {
					for i := range reports {
						id++
						reports[i] = storetest.Report(id*0x9e3779b97f4a7c15, "bench", 1, byte(id%2))
					}
					if _, err := s.Insert(context.Background(), reports); err != nil {
						b.Fatal(err)
					}
				}
				// CPU time is steadier than wall time on a shared machine; for
				// PostgreSQL it leaves out the server's share.
				b.ReportMetric((cpuSeconds()-c0)*1e9/float64(b.N), "cpu-ns/report")
			})
		}
	}
}
