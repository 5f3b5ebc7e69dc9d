package ingest

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteText prints rep as `wisp bench ingest` does: a table, then each
// measurement's note.
func WriteText(w io.Writer, rep Report) {
	fmt.Fprintf(w, "\n%d cores, %d-report batches, %d clients; per core = per CPU-second\n\n", rep.Cores, rep.Batch, rep.Clients)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measurement\treports\treports/s/core\treports/s wall\t× Open bound\t× bound beside\t× with NATS\twall s\tCPU s\tNATS CPU s\t")
	for _, r := range rep.Results {
		ratio, beside, withNATS, natsCPU, perCore := "", "", "", "", "—"
		if r.RatioToOpenBound > 0 {
			ratio = fmt.Sprintf("%.2f", r.RatioToOpenBound)
		}
		if r.RatioToAdjacentBound > 0 {
			beside = fmt.Sprintf("%.2f", r.RatioToAdjacentBound)
		}
		if r.RatioWithQueueServers > 0 {
			withNATS = fmt.Sprintf("%.2f", r.RatioWithQueueServers)
		}
		if r.QueueCPUSeconds > 0 {
			natsCPU = fmt.Sprintf("%.1f", r.QueueCPUSeconds)
		}
		if r.Name == "hpke_open" || r.RatioToOpenBound > 0 {
			perCore = fmt.Sprintf("%.0f", r.ReportsPerSecond)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f\t%s\t%s\t%s\t%.1f\t%.1f\t%s\t\n", r.Name, r.Reports, perCore, r.WallReportsPerSecond, ratio, beside, withNATS, r.Seconds, r.CPUSeconds, natsCPU)
	}
	tw.Flush()
	for _, r := range rep.Results {
		fmt.Fprintf(w, "\n%s: %s", r.Name, r.Note)
	}
	fmt.Fprintln(w)
}
