package aggregator

import (
	"encoding/csv"
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

// ToOpenRTB renders released, unsuppressed segments as one user.data
// object with ext.segtax = 4. Suppressed segments are left out. A
// threshold campaign gives one segment; a top_k campaign one per category
// whose estimated share reaches TopKMinShare (ext.estimate is then the
// number of reporters with it among their top K); a mean campaign none (a
// mean is not an audience).
func ToOpenRTB(segs []Segment) OpenRTBExport {
	var out OpenRTBExport
	d := OpenRTBData{ID: "wisp", Name: "Wisp aggregator (ε-LDP estimates)", Segment: []OpenRTBSegment{}, Ext: OpenRTBDataExt{SegTax: SegTaxAudience11}}
	for _, s := range segs {
		if s.TopK != nil && !s.Suppressed {
			for _, c := range s.TopK.Categories {
				if c.Share >= TopKMinShare {
					d.Segment = append(d.Segment, OpenRTBSegment{ID: strconv.FormatUint(uint64(c.Category), 10), Name: c.CategoryName,
						Ext: OpenRTBSegmentExt{Campaign: s.Campaign, Epoch: s.Epoch, Reports: s.Reports, Estimate: c.Estimate, CILow: c.CILow, CIHigh: c.CIHigh}})
				}
			}
		}
		if s.Suppressed || s.SizeEstimate == nil {
			continue
		}
		d.Segment = append(d.Segment, OpenRTBSegment{ID: strconv.FormatUint(uint64(s.Category), 10), Name: s.CategoryName,
			Ext: OpenRTBSegmentExt{Campaign: s.Campaign, Epoch: s.Epoch, Reports: s.Reports, Estimate: s.Estimate, CILow: s.CILow, CIHigh: s.CIHigh}})
	}
	out.User.Data = []OpenRTBData{d}
	return out
}

var csvHeader = []string{"campaign", "name", "category", "category_name", "epoch", "epoch_start", "epoch_end", "mechanism", "epsilon",
	"reports", "suppressed", "estimate", "ci_low", "ci_high", "variance", "consistent", "released_at", "question", "share"}

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
		num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
		for _, g := range segs {
			// A top_k result is one row per category; a mean's row carries
			// the mean in the estimate columns.
			if g.TopK != nil {
				for _, c := range g.TopK.Categories {
					cw.Write([]string{csvText(g.Campaign), csvText(g.Name), strconv.FormatUint(uint64(c.Category), 10), csvText(c.CategoryName),
						strconv.FormatUint(uint64(g.Epoch), 10), g.EpochStart.Format(time.RFC3339), g.EpochEnd.Format(time.RFC3339),
						csvText(g.Mechanism), num(g.Epsilon), reportsCell(g), strconv.FormatBool(g.Suppressed),
						num(c.Estimate), num(c.CILow), num(c.CIHigh), num(c.Variance), num(c.Consistent),
						g.ReleasedAt.Format(time.RFC3339), csvText(g.Question.String()), num(c.Share)})
				}
				continue
			}
			row := []string{csvText(g.Campaign), csvText(g.Name), strconv.FormatUint(uint64(g.Category), 10), csvText(g.CategoryName),
				strconv.FormatUint(uint64(g.Epoch), 10), g.EpochStart.Format(time.RFC3339), g.EpochEnd.Format(time.RFC3339),
				csvText(g.Mechanism), num(g.Epsilon), reportsCell(g), strconv.FormatBool(g.Suppressed), "", "", "", "", "",
				g.ReleasedAt.Format(time.RFC3339), csvText(g.Question.String()), ""}
			if e := g.SizeEstimate; e != nil {
				row[11], row[12], row[13], row[14], row[15] = num(e.Estimate), num(e.CILow), num(e.CIHigh), num(e.Variance), num(e.Consistent)
			}
			if m := g.Mean; m != nil {
				row[11], row[12], row[13], row[14], row[15] = num(m.Mean), num(m.CILow), num(m.CIHigh), num(m.Variance), num(m.Consistent)
			}
			cw.Write(row)
		}
		cw.Flush()
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
