package taxonomy_test

import (
	"errors"
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
	} {
		if _, err := taxonomy.Parse(strings.NewReader(header + body)); !errors.Is(err, taxonomy.ErrFormat) {
			t.Errorf("%s: error = %v, want ErrFormat", name, err)
		}
	}
}
