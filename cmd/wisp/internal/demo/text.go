package demo

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteText prints res as wisp demo does: each segment's truth beside its
// estimate and interval, how many intervals cover the truth, the costs, and
// why each campaign got its mechanism.
func WriteText(w io.Writer, res Result) {
	fmt.Fprintf(w, "\n%d devices, %d sealed reports, %.1f s\n\n", res.Devices, res.Reports, res.ElapsedSeconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "campaign\tcategory\tmechanism\tε\ttruth\testimate\t95% CI\tcovered\t")
	covered := 0
	mechanisms := map[string]string{}
	var order []string
	for _, s := range res.Segments {
		mark := "no"
		if s.Covered {
			mark, covered = "yes", covered+1
		}
		if _, ok := mechanisms[s.Campaign]; !ok {
			order = append(order, s.Campaign)
		}
		mechanisms[s.Campaign] = s.MechanismReason
		num := "%.0f"
		if s.Question == "mean" {
			num = "%.3f"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.1f\t"+num+"\t"+num+"\t["+num+", "+num+"]\t%s\t\n",
			s.Campaign, s.Category, s.Mechanism, s.Epsilon, s.Truth, s.Estimate, s.CILow, s.CIHigh, mark)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d of %d intervals cover the truth (95%% intervals: expect about 19 in 20).\n", covered, len(res.Segments))
	fmt.Fprintln(w, "top_k rows: devices holding the category among their top k; mean rows: mean score in [0, 1].")
	fmt.Fprintf(w, "device pipeline: %.0f µs per report (score, randomize, encode, seal); ingest: %.0f reports/s per connection.\n",
		res.DevicePipelineMicros, res.IngestPerConnection)
	fmt.Fprintln(w, "\nmechanisms:")
	for _, id := range order {
		fmt.Fprintf(w, "  %s: %s\n", id, mechanisms[id])
	}
}
