package taxonomy

import (
	_ "embed"
	"sync"
)

// iab11 is the IAB Tech Lab Audience Taxonomy 1.1 TSV (CC BY 3.0; see
// README.md for the attribution it requires).
//
//go:embed iab-audience-taxonomy-1.1.tsv
var iab11 []byte

var parseDefault = sync.OnceValue(func() *Taxonomy {
	t, err := ParseBytes(iab11)
	if err != nil {
		panic("taxonomy: embedded IAB 1.1 file: " + err.Error())
	}
	return t
})

// Default is the IAB Audience Taxonomy 1.1, the taxonomy devices and the
// aggregator use unless they are given another. It is parsed once; a
// Taxonomy is immutable, so callers share it.
func Default() *Taxonomy { return parseDefault() }

// DefaultTSV returns a copy of the embedded IAB 1.1 file, for callers that
// parse or serve it themselves.
func DefaultTSV() []byte { return append([]byte(nil), iab11...) }
