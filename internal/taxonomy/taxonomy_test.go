package taxonomy_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/internal/taxonomy"
)

func TestIABAudienceTaxonomy11(t *testing.T) {
	tax, err := taxonomy.ParseBytes(taxonomy.DefaultTSV())
	if err != nil {
		t.Fatal(err)
	}
	// Counts from the published file: 197 Demographic, 497 Interest, 864 Purchase Intent*.
	if got := tax.Len(); got != 197+497+864 {
		t.Errorf("Len = %d, want 1558", got)
	}
	for root, want := range map[string]int{"Demographic": 197, "Interest": 497, "Purchase Intent*": 864} {
		if got := len(tax.Under(root)); got != want {
			t.Errorf("Under(%q) = %d categories, want %d", root, got, want)
		}
	}
	c, ok := tax.Lookup(625)
	if !ok || c.Name() != "Interest | Sports | Cycling" || c.Parent != 607 {
		t.Errorf("Lookup(625) = %+v, %v", c, ok)
	}
	if c, _ := tax.Lookup(410); c.Name() != "Interest | Healthy Living | Fitness and Exercise | Running and Jogging" {
		t.Errorf("Lookup(410).Name() = %q", c.Name())
	}
	if _, ok := tax.Lookup(99999); ok {
		t.Error("Lookup(99999) found a category")
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	header := "\tUnique ID\tParent ID\tName\tTier 1\n"
	for name, body := range map[string]string{
		"bad id":         "\tx\t\tA\tA\n",
		"zero id":        "\t0\t\tA\tA\n",
		"unknown parent": "\t1\t9\tA\tA\n",
		"duplicate id":   "\t1\t\tA\tA\n\t1\t\tB\tB\n",
		"few columns":    "\t1\t\n",
		"no tiers":       "\t1\t\tA\t \n",
		// Parent links that loop would hang whoever walks a category's
		// ancestors (the aggregator's special-category check did).
		"own parent":   "\t1\t1\tA\tA\n",
		"parent cycle": "\t1\t\tR\tR\n\t2\t4\tA\tA\n\t3\t2\tB\tB\n\t4\t3\tC\tC\n",
	} {
		if _, err := taxonomy.Parse(strings.NewReader(header + body)); !errors.Is(err, taxonomy.ErrFormat) {
			t.Errorf("%s: error = %v, want ErrFormat", name, err)
		}
	}
}

// FuzzParse feeds the taxonomy reader (a device maker's or an operator's
// --taxonomy file) arbitrary bytes: it must never panic, and from every
// category it accepts, the parent links reach a root.
func FuzzParse(f *testing.F) {
	header := "\tUnique ID\tParent ID\tName\tTier 1\tTier 2\n"
	f.Add([]byte(header + "\t1\t\tInterest\tInterest\n\t2\t1\tSports\tInterest\tSports\n"))
	f.Add([]byte(header + "\t1\t2\tA\tA\n\t2\t1\tB\tB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tax, err := taxonomy.ParseBytes(b)
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(b), "\n") {
			row := strings.Split(line, "\t")
			id, err := strconv.ParseUint(row[min(1, len(row)-1)], 10, 32)
			if _, ok := tax.Lookup(uint32(id)); err != nil || !ok {
				continue
			}
			for at, steps := uint32(id), 0; at != 0; steps++ {
				if steps > tax.Len() {
					t.Fatalf("category %d: its ancestors never reach a root", id)
				}
				p, ok := tax.Lookup(at)
				if !ok {
					t.Fatalf("category %d: ancestor %d is not in the taxonomy", id, at)
				}
				at = p.Parent
			}
		}
	})
}
