package demo

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/wisp-project/wisp/cmd/wisp/internal/sim"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// WriteText prints res as wisp demo does: one line saying what is shown,
// then the device classes, the segment counts and the means (each beside
// its truth), the offers the devices picked, and what reached the
// aggregator. verbose adds the costs and why each campaign got its
// mechanism.
func WriteText(w io.Writer, res Result, verbose bool) {
	p := message.NewPrinter(language.English) // thousands separators
	households := 0
	for _, c := range res.DeviceClasses {
		if c.Class == string(sim.Phone) { // every household has one
			households = c.Devices
		}
	}
	p.Fprintf(w, "\nWisp ran %d simulated devices in %d households for a week: what a marketer learns (estimates) beside the truth only the simulation knows, and the offers the devices chose for themselves.\n",
		res.Devices, households)

	p.Fprintln(w, "\nDevices, each running its real plugin in the device runtime")
	tw := table(w, "class", "devices", "plugin", "reports sent")
	for _, c := range res.DeviceClasses {
		p.Fprintf(tw, "%s\t%d\t%s (%s)\t%d\t\n", c.Class, c.Devices, c.Plugin, c.Language, c.Reports)
	}
	tw.Flush()

	covered, rows := 0, 0
	section := func(title string, mean bool) {
		p.Fprintln(w, "\n"+title)
		tw := table(w, "campaign", "class", "category", "ε", "truth", "estimate", "95% interval", "covered")
		num := "%.0f"
		if mean {
			num = "%.3f"
		}
		for _, s := range res.Segments {
			if (s.Question == "mean") != mean || s.Mode == ModePrio3 { // prio3 rows: writeSideBySide
				continue
			}
			if s.BelowK {
				p.Fprintf(tw, "%s\t%s\t%s\t%.1f\t"+num+"\t\tbelow k: not released\t\t\n", s.Campaign, s.Class, s.CategoryName, s.Epsilon, s.Truth)
				continue
			}
			rows++
			mark := "no"
			if s.Covered {
				mark, covered = "yes", covered+1
			}
			p.Fprintf(tw, "%s\t%s\t%s\t%.1f\t"+num+"\t"+num+"\t["+num+", "+num+"]\t%s\t\n",
				s.Campaign, s.Class, s.CategoryName, s.Epsilon, s.Truth, s.Estimate, s.CILow, s.CIHigh, mark)
		}
		tw.Flush()
	}
	section("Counts, in devices (top_k rows: devices holding the category among their top k)", false)
	section("Means, of the interest score in [0, 1]", true)
	p.Fprintf(w, "%d of %d intervals cover the truth (95%% intervals: expect about 19 in 20).\n", covered, rows)
	if isPrio3Run(res) {
		writeSideBySide(w, res)
	}

	p.Fprintln(w, "\nOffers, picked on each device from the signed catalogue (counted by the simulation, never reported)")
	tw = table(w, "offer", "class", "interest", "moments", "shown", "precision", "recall", "below threshold", "capped", "quiet hours")
	for _, o := range res.Offers {
		p.Fprintf(tw, "%s\t%s\t%s ≥ %.1f\t%d\t%d\t%.0f%%\t%.0f%%\t%d\t%d\t%d\t\n", o.Campaign, o.Class, o.CategoryName, o.MinScore,
			o.Moments, o.Shown, 100*o.Precision, 100*o.Recall, o.SuppressedByThreshold, o.SuppressedByCap, o.SuppressedByQuietHours)
	}
	tw.Flush()
	p.Fprintln(w, "precision: share of offers shown to owners who truly hold the interest; recall: share of those owners shown it.")
	a := res.AisleFour
	p.Fprintf(w, "\nThe \"we noticed you walked down aisle 4 at 9:56 am\" push: %d phones passed that beacon; pushes a marketer could send: %d\n"+
		"(the pass never leaves the phone). %d phones showed a wish-list offer their owner's own profile asked for; suppressed: %d by the relevance threshold, %d by the frequency cap, %d by quiet hours.\n",
		a.Passes, a.SentByMarketer, a.ShownAsRelevantOffer, a.SuppressedByThreshold, a.SuppressedByCap, a.SuppressedByQuiet)
	answer := "a sealed randomized answer"
	if isPrio3Run(res) {
		answer = "a sealed randomized answer (LDP) or two sealed secret shares of the true answer (prio3)"
	}
	p.Fprintf(w, "\nWhat left the devices: %d reports, each %s to a campaign; reports carrying offer membership: %d.\n",
		res.ReportsReceived, answer, res.ReportsCarryingMembership)
	p.Fprintf(w, "Time: %.1f s.\n", res.ElapsedSeconds)
	if !verbose {
		p.Fprintln(w, "(--verbose: costs and why each campaign got its mechanism.)")
		return
	}
	p.Fprintf(w, "\nCosts: %.0f µs of wall time in a device's scheduler pass per report (score, randomize, seal, queue, send); %.0f reports/s of aggregator ingest time.\n",
		res.DevicePipelineMicros, res.IngestPerConnection)
	p.Fprintln(w, "\nMechanisms:")
	seen := map[string]bool{}
	for _, s := range res.Segments {
		if !seen[s.Campaign] {
			seen[s.Campaign] = true
			p.Fprintf(w, "  %s: %s (%s)\n", s.Campaign, s.Mechanism, s.MechanismReason)
		}
	}
}

// table starts a right-aligned table with its header row.
func table(w io.Writer, header ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	return tw
}
