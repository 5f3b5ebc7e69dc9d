package aggregator

import (
	"encoding/csv"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Export formats of released results, chosen with ?format=.
const (
	FormatJSON    = "json"
	FormatCSV     = "csv"
	FormatOpenRTB = "openrtb"
)

// SegTaxAudience11 is OpenRTB's segtax code for the IAB Tech Lab Audience
// Taxonomy 1.1, whose unique ids our categories are.
const SegTaxAudience11 = 4

// OpenRTBData is an OpenRTB 2.6 Data object as carried in user.data[]: a
// DSP or SSP that receives the segment ids from devices (matched on the
// device, never sent by us per user) reads sizes and intervals from ext.
type OpenRTBData struct {
	ID      string           `json:"id"`
	Name    string           `json:"name"`
	Segment []OpenRTBSegment `json:"segment"`
	Ext     OpenRTBDataExt   `json:"ext"`
}

// OpenRTBDataExt carries the segment taxonomy.
type OpenRTBDataExt struct {
	SegTax int `json:"segtax"`
}

// OpenRTBSegment is one Segment object: id is the taxonomy unique id.
type OpenRTBSegment struct {
	ID   string            `json:"id"`
	Name string            `json:"name"`
	Ext  OpenRTBSegmentExt `json:"ext"`
}

// OpenRTBSegmentExt is Wisp's released estimate for the segment.
type OpenRTBSegmentExt struct {
	Campaign string  `json:"campaign"`
	Epoch    uint32  `json:"epoch"`
	Reports  int     `json:"reports"`
	Estimate float64 `json:"estimate"`
	CILow    float64 `json:"ci_low"`
	CIHigh   float64 `json:"ci_high"`
}

// OpenRTBExport is the body of an openrtb export: {"user": {"data": [...]}}.
type OpenRTBExport struct {
	User struct {
		Data []OpenRTBData `json:"data"`
	} `json:"user"`
}

// TopKMinShare is the estimated share of reporters a top_k category must
// reach to become an OpenRTB segment: a category at least 5% of
// reporters count among their top interests is worth targeting; the long
// tail of a 497-category histogram is mostly noise at LDP accuracy.
const TopKMinShare = 0.05

// ToOpenRTB renders released, unsuppressed segments as user.data
// objects with ext.segtax = 4, one per campaign (id "wisp:<campaign>"), so
// two campaigns on one category never give two segments of the same id in
// one object. Suppressed segments are left out. A threshold campaign gives
// one segment; a top_k campaign one per category whose estimated share
// reaches TopKMinShare (ext.estimate is then the number of reporters with
// it among their top K); a mean campaign none (a mean is not an audience),
// and a campaign with no segment no object.
func ToOpenRTB(segs []Segment) OpenRTBExport {
	var out OpenRTBExport
	out.User.Data = []OpenRTBData{}
	byCampaign := map[string]int{}
	add := func(s Segment, seg OpenRTBSegment) {
		i, ok := byCampaign[s.Campaign]
		if !ok {
			i = len(out.User.Data)
			byCampaign[s.Campaign] = i
			out.User.Data = append(out.User.Data, OpenRTBData{ID: "wisp:" + s.Campaign, Name: s.Name + " (Wisp, ε-LDP estimates)",
				Segment: []OpenRTBSegment{}, Ext: OpenRTBDataExt{SegTax: SegTaxAudience11}})
		}
		d := &out.User.Data[i]
		d.Segment = append(d.Segment, seg)
	}
	ext := func(s Segment, est, lo, hi float64) OpenRTBSegmentExt {
		return OpenRTBSegmentExt{Campaign: s.Campaign, Epoch: s.Epoch, Reports: s.Reports, Estimate: est, CILow: lo, CIHigh: hi}
	}
	for _, s := range segs {
		switch {
		case s.Suppressed:
		case s.TopK != nil:
			for _, c := range s.TopK.Categories {
				if c.Share >= TopKMinShare {
					add(s, OpenRTBSegment{ID: strconv.FormatUint(uint64(c.Category), 10), Name: c.CategoryName, Ext: ext(s, c.Estimate, c.CILow, c.CIHigh)})
				}
			}
		case s.SizeEstimate != nil:
			add(s, OpenRTBSegment{ID: strconv.FormatUint(uint64(s.Category), 10), Name: s.CategoryName, Ext: ext(s, s.Estimate, s.CILow, s.CIHigh)})
		}
	}
	return out
}

// csvHeader: one row per released number a marketer reads — a threshold
// campaign's audience, each top_k category, a mean. Counts of devices are
// whole numbers, the interval rounded outwards (never narrower than the
// release); shares are of the campaign's reporters; means keep 4 decimals.
// The JSON export has every field unrounded (variance, the clipped
// estimate) for analysts.
var csvHeader = []string{"campaign", "name", "question", "category", "category_name", "epoch_start", "epoch_end",
	"reports", "suppressed", "estimate", "ci95_low", "ci95_high", "share", "epsilon", "mechanism", "released_at"}

// csvRow is one row: the segment's own cells and the released number's
// (estimate, ci95_low, ci95_high, share; nil for none).
func csvRow(g Segment, category uint32, categoryName string, number []string) []string {
	cells := []string{"", "", "", ""}
	if number != nil {
		cells = number
	}
	return append([]string{csvText(g.Campaign), csvText(g.Name), string(g.Question), strconv.FormatUint(uint64(category), 10), csvText(categoryName),
		g.EpochStart.UTC().Format(time.RFC3339), g.EpochEnd.UTC().Format(time.RFC3339), reportsCell(g), strconv.FormatBool(g.Suppressed)},
		append(cells, strconv.FormatFloat(g.Epsilon, 'f', -1, 64), csvText(g.Mechanism), g.ReleasedAt.UTC().Format(time.RFC3339))...)
}

// roundTo formats v with the given decimals, rounded to nearest (dir 0),
// down (−1) or up (+1).
func roundTo(v float64, decimals, dir int) string {
	p := math.Pow10(decimals)
	switch dir {
	case -1:
		v = math.Floor(v*p) / p
	case 1:
		v = math.Ceil(v*p) / p
	default:
		v = math.Round(v*p) / p
	}
	return strconv.FormatFloat(v+0, 'f', decimals, 64) // +0: no "-0"
}

// csvRows are segs as CSV rows.
func csvRows(segs []Segment) [][]string {
	share := func(v float64) string { return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', 4, 64) }
	number := func(est, lo, hi float64, decimals int, share string) []string {
		return []string{roundTo(est, decimals, 0), roundTo(lo, decimals, -1), roundTo(hi, decimals, 1), share}
	}
	var rows [][]string
	for _, g := range segs {
		switch {
		case g.TopK != nil:
			for _, c := range g.TopK.Categories {
				rows = append(rows, csvRow(g, c.Category, c.CategoryName, number(c.Estimate, c.CILow, c.CIHigh, 0, share(c.Share))))
			}
		case g.Mean != nil:
			rows = append(rows, csvRow(g, g.Category, g.CategoryName, number(g.Mean.Mean, g.Mean.CILow, g.Mean.CIHigh, 4, "")))
		case g.SizeEstimate != nil && g.Reports > 0:
			e := g.SizeEstimate
			rows = append(rows, csvRow(g, g.Category, g.CategoryName, number(e.Estimate, e.CILow, e.CIHigh, 0, share(e.Estimate/float64(g.Reports)))))
		default: // suppressed: no number, no count
			rows = append(rows, csvRow(g, g.Category, g.CategoryName, nil))
		}
	}
	return rows
}

// csvText escapes a text cell against formula injection (OWASP, "CSV
// Injection"): a spreadsheet runs a cell that starts with = + - @ tab or
// CR as a formula (=HYPERLINK(…) leaks the sheet), so such a cell gets a
// leading ' and reads as text. Numbers Wisp formats itself are left alone:
// a negative estimate is a number, not a formula.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// export writes segs in the requested format.
func (s *Server) export(w http.ResponseWriter, r *http.Request, segs []Segment) {
	switch f := r.URL.Query().Get("format"); f {
	case "", FormatJSON:
		writeJSON(w, http.StatusOK, SegmentsResponse{Segments: segs})
	case FormatOpenRTB:
		writeJSON(w, http.StatusOK, ToOpenRTB(segs))
	case FormatCSV:
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		cw := csv.NewWriter(w)
		cw.Write(csvHeader)
		cw.WriteAll(csvRows(segs))
	default:
		s.fail(w, errorf(EInvalid, "format must be json, csv or openrtb, not "+strconv.Quote(f)))
	}
}

// reportsCell is a segment's report count for the CSV: empty when the
// release is suppressed (the count is withheld, see Segment.Reports).
func reportsCell(g Segment) string {
	if g.Suppressed {
		return ""
	}
	return strconv.Itoa(g.Reports)
}
