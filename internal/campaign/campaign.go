// Package campaign defines the question a campaign asks devices and checks
// that a campaign is well-formed. Devices evaluate the question on their
// local scores; the aggregator uses the same definition to decode and
// estimate, so both sides read one type.
package campaign

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/taxonomy"
)

// Campaign is one question marketers ask and consenting devices answer once
// per epoch.
type Campaign struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Question Question `json:"question"`
	// Epsilon is the LDP budget one report spends.
	Epsilon float64 `json:"epsilon"`
	// EpochSeconds is the length of an epoch; a device answers at most once
	// per epoch.
	EpochSeconds int64 `json:"epoch_seconds"`
	// K is the minimum number of reports before a segment is released.
	K int `json:"k"`
	// ReportSize is the padded payload size in bytes; every report of the
	// campaign has the same length on the wire.
	ReportSize int `json:"report_size,omitempty"`
}

// Question is what a device answers. Version 1 has one kind: "threshold",
// a yes/no "is the owner's score for Category at least MinScore".
type Question struct {
	Type     string  `json:"type"`
	Category uint32  `json:"category"`
	MinScore float64 `json:"min_score"`
}

// QuestionThreshold is the one-bit threshold question.
const QuestionThreshold = "threshold"

// DefaultReportSize is the padded payload size used when a campaign sets none.
const DefaultReportSize = 64

// MaxEpsilon is the largest per-report ε this version accepts. Larger values
// give almost no protection (e^8 ≈ 3000:1 odds).
const MaxEpsilon = 8

// ErrInvalid reports a campaign that fails validation.
var ErrInvalid = errors.New("campaign: invalid")

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// Validate checks c against the taxonomy its categories come from.
func (c *Campaign) Validate(tax *taxonomy.Taxonomy) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: campaign %q: %s", ErrInvalid, c.ID, fmt.Sprintf(format, args...))
	}
	switch {
	case !idPattern.MatchString(c.ID):
		return bad("id must be 1-64 characters of a-z, 0-9 and '-'")
	case c.Question.Type != QuestionThreshold:
		return bad("question type %q is not %q", c.Question.Type, QuestionThreshold)
	case !(c.Question.MinScore > 0 && c.Question.MinScore <= 1):
		return bad("min_score %v is not in (0, 1]", c.Question.MinScore)
	case !(c.Epsilon > 0 && c.Epsilon <= MaxEpsilon):
		return bad("epsilon %v is not in (0, %d]", c.Epsilon, MaxEpsilon)
	case c.EpochSeconds < 60:
		return bad("epoch_seconds %d is shorter than a minute", c.EpochSeconds)
	case c.K < 1:
		return bad("k %d is below 1", c.K)
	case c.ReportSize < 0 || c.ReportSize > 4000:
		return bad("report_size %d is not in [0, 4000]", c.ReportSize)
	}
	cat, ok := tax.Lookup(c.Question.Category)
	if !ok {
		return bad("category %d is not in the taxonomy", c.Question.Category)
	}
	if cat.Path[0] != "Interest" {
		return bad("category %d (%s) is not an Interest category", cat.ID, cat.Name())
	}
	return nil
}

// Mechanism is the LDP mechanism the campaign's answers use.
func (c *Campaign) Mechanism() ldp.Mechanism { return ldp.MechanismRR }

// RR is the campaign's randomized-response mechanism.
func (c *Campaign) RR() (ldp.RR, error) { return ldp.NewRR(c.Epsilon) }

// PaddedSize is the payload size every report of c is padded to.
func (c *Campaign) PaddedSize() int {
	if c.ReportSize == 0 {
		return DefaultReportSize
	}
	return c.ReportSize
}

// Epoch is the epoch number that contains t.
func (c *Campaign) Epoch(t time.Time) uint32 { return uint32(t.Unix() / c.EpochSeconds) }

// Answer evaluates the question on a device's local scores.
func (c *Campaign) Answer(scores map[uint32]float32) bool {
	return float64(scores[c.Question.Category]) >= c.Question.MinScore
}

// ParseList decodes a JSON array of campaigns and validates each.
func ParseList(b []byte, tax *taxonomy.Taxonomy) ([]Campaign, error) {
	var list []Campaign
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	seen := map[string]bool{}
	for i := range list {
		if err := list[i].Validate(tax); err != nil {
			return nil, err
		}
		if seen[list[i].ID] {
			return nil, fmt.Errorf("%w: duplicate campaign id %q", ErrInvalid, list[i].ID)
		}
		seen[list[i].ID] = true
	}
	return list, nil
}
