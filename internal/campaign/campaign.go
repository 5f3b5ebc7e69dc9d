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
	"slices"
	"time"

	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/taxonomy"
)

// Campaign is one question marketers ask and consenting devices answer once
// per epoch.
type Campaign struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Version numbers the configs published under ID. A device keeps the
	// first config it verified for an id and replaces it only with one of
	// a higher Version; another config under the same id and Version is
	// refused. Consent is bound to what the config asks (host), so a new
	// Version that asks something else is not answered until the owner
	// agrees again.
	Version  uint32   `json:"version,omitempty"`
	Question Question `json:"question"`
	// Epsilon is ε∞, the permanent ε: what the device's memoized answer to
	// one true value reveals however many times it is re-sent — the
	// long-term bound — and what the ledger charges every epoch.
	Epsilon float64 `json:"epsilon"`
	// ReportEpsilon is ε1, what one report reveals. For a threshold or
	// top_k question it is below Epsilon: every report applies fresh
	// (instantaneous) noise to the memoized answer, so re-sent answers are
	// not byte-identical (ldp.Longitudinal); Validate sets it to
	// ldp.DefaultReportShare·Epsilon when it is not set. For a mean it is
	// Epsilon (one layer; the memoized answer is one bit or one byte). It
	// is absent from configs signed before answers had two layers: those
	// campaigns keep one-layer answers at Epsilon, memoized under their
	// id (see Codec), so their reports decode as they always did.
	ReportEpsilon float64 `json:"report_epsilon,omitempty"`
	// EpochSeconds is the length of an epoch; a device answers at most once
	// per epoch.
	EpochSeconds int64 `json:"epoch_seconds"`
	// K is the minimum number of reports before a segment is released.
	K int `json:"k"`
	// ReportSize is the padded payload size in bytes; every report of the
	// campaign has the same length on the wire.
	ReportSize int `json:"report_size,omitempty"`
	// MechanismName is the LDP mechanism the answers use ("rr", "oue",
	// "duchi", …). Validate fills it in with the least-variance choice
	// (ldp.Choose / ldp.ChooseMean) when it is empty; a campaign may name
	// another mechanism that supports its question (e.g. "olh" for 3-byte
	// answers instead of OUE's 63), and MechanismReason then says so.
	MechanismName string `json:"mechanism,omitempty"`
	// MechanismReason is why MechanismName was chosen, with every
	// candidate's variance; Validate sets it. It is signed with the rest of
	// the config and shown in the aggregator's results.
	MechanismReason string `json:"mechanism_reason,omitempty"`

	// Mode is how the campaign is answered: "" or "ldp" (ModeLDP), a
	// locally randomized answer to one aggregator, or "prio3"
	// (ModePrio3), the true answer secret-shared between a leader and a
	// helper that add central noise. A prio3 campaign has no
	// ReportEpsilon, MechanismName or ReportSize; its Epsilon is
	// Prio3.CentralEpsilon.
	Mode string `json:"mode,omitempty"`
	// Prio3 is the two-aggregator config, present iff Mode is "prio3".
	Prio3 *Prio3 `json:"prio3,omitempty"`
	// ReportTokens, if present, makes every report of the campaign carry a
	// Privacy Pass report token for its epoch (reporttokens.go), in either
	// mode; absent, reports carry none.
	ReportTokens *ReportTokens `json:"report_tokens,omitempty"`

	// legacy marks a config that Verify decoded without report_epsilon:
	// Validate must not fill it in, or the device would answer in two
	// layers what the aggregator decodes as one.
	legacy bool
}

// Question is what a device answers:
//
//   - "threshold": yes/no, "is the owner's score for Category at least
//     MinScore" (binary randomized response);
//   - "top_k": "which K of Categories are the owner's top interests" — the
//     device's K highest-scoring categories among them with a positive
//     score, reported by padding-and-sampling (ldp.SetSampler) through the
//     frequency oracle ldp.Choose picks for d+K items. An empty Categories
//     means every Interest category; Validate then fills in the list, so
//     the signed config names the exact domain;
//   - "mean": the owner's score for Category in [0, 1], quantized to
//     MeanLevels steps, for a population mean (Duchi or piecewise, chosen
//     by ldp.ChooseMean).
type Question struct {
	Type       QuestionType `json:"type"`
	Category   uint32       `json:"category,omitempty"`
	MinScore   float64      `json:"min_score,omitempty"`
	Categories []uint32     `json:"categories,omitempty"`
	K          int          `json:"k,omitempty"`
}

// QuestionType is what kind of question a campaign asks. It is a string
// in the signed JSON config ("threshold", "top_k", "mean"); a config naming
// any other type decodes and then fails Validate.
type QuestionType string

// Question types.
const (
	QuestionThreshold QuestionType = "threshold"
	QuestionTopK      QuestionType = "top_k"
	QuestionMean      QuestionType = "mean"
)

// IsValid reports whether t is a question type this version answers.
func (t QuestionType) IsValid() bool {
	return t == QuestionThreshold || t == QuestionTopK || t == QuestionMean
}

func (t QuestionType) String() string { return string(t) }

// MaxTopK bounds a top_k question's K.
const MaxTopK = 32

// DefaultReportSize is the padded payload size used when a campaign sets none.
const DefaultReportSize = 64

// MaxEpsilon is the largest per-report ε this version accepts. Larger values
// give almost no protection (e^8 ≈ 3000:1 odds).
const MaxEpsilon = 8

// ErrInvalid reports a campaign that fails validation.
var ErrInvalid = errors.New("campaign: invalid")

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// Validate checks c against the taxonomy its categories come from, and
// fills in what follows from the question: the mechanism and its reason,
// the full category list of a top_k question over all Interest
// categories, and the report size when none is set.
func (c *Campaign) Validate(tax *taxonomy.Taxonomy) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: campaign %q: %s", ErrInvalid, c.ID, fmt.Sprintf(format, args...))
	}
	if err := c.checkMode(); err != nil {
		return bad("%v", err)
	}
	if err := c.ReportTokens.validate(); err != nil {
		return bad("report_tokens: %v", err)
	}
	switch {
	case !idPattern.MatchString(c.ID):
		return bad("id must be 1-64 characters of a-z, 0-9 and '-'")
	case !(c.Epsilon > 0 && c.Epsilon <= MaxEpsilon):
		return bad("epsilon %v is not in (0, %d]", c.Epsilon, MaxEpsilon)
	case c.EpochSeconds < 60:
		return bad("epoch_seconds %d is shorter than a minute", c.EpochSeconds)
	case c.K < 1:
		return bad("k %d is below 1", c.K)
	case c.ReportSize < 0 || c.ReportSize > 4000:
		return bad("report_size %d is not in [0, 4000]", c.ReportSize)
	}
	interest := func(id uint32) error {
		cat, ok := tax.Lookup(id)
		if !ok {
			return bad("category %d is not in the taxonomy", id)
		}
		if cat.Path[0] != "Interest" {
			return bad("category %d (%s) is not an Interest category", cat.ID, cat.Name())
		}
		return nil
	}
	if !c.IsPrio3() {
		if err := c.checkReportEpsilon(); err != nil {
			return bad("%v", err)
		}
	}
	q := &c.Question
	switch q.Type {
	case QuestionThreshold, QuestionMean:
		if q.Type == QuestionThreshold && !(q.MinScore > 0 && q.MinScore <= 1) {
			return bad("min_score %v is not in (0, 1]", q.MinScore)
		}
		if q.Type == QuestionMean && (q.MinScore != 0 || len(q.Categories) != 0 || q.K != 0) {
			return bad("a mean question has only a category")
		}
		if q.Type == QuestionThreshold && (len(q.Categories) != 0 || q.K != 0) {
			return bad("a threshold question has only a category and a min_score")
		}
		if err := interest(q.Category); err != nil {
			return err
		}
	case QuestionTopK:
		if q.Category != 0 || q.MinScore != 0 {
			return bad("a top_k question has categories and k, not category or min_score")
		}
		if len(q.Categories) == 0 {
			for _, cat := range tax.Under("Interest") {
				q.Categories = append(q.Categories, cat.ID)
			}
		}
		seen := make(map[uint32]bool, len(q.Categories))
		for _, id := range q.Categories {
			if err := interest(id); err != nil {
				return err
			}
			if seen[id] {
				return bad("category %d is listed twice", id)
			}
			seen[id] = true
		}
		switch {
		case len(q.Categories) < 2:
			return bad("a top_k question needs at least 2 categories")
		case q.K < 1 || q.K > MaxTopK || q.K > len(q.Categories):
			return bad("top_k k %d is not in [1, min(%d, %d categories)]", q.K, MaxTopK, len(q.Categories))
		}
	default:
		return bad("question type %q is not %q, %q or %q", q.Type, QuestionThreshold, QuestionTopK, QuestionMean)
	}
	if c.IsPrio3() {
		if err := c.validatePrio3(); err != nil {
			return bad("%v", err)
		}
		return nil
	}
	m, reason, err := choose(c)
	if err != nil {
		return bad("%v", err)
	}
	c.MechanismName, c.MechanismReason = m.String(), reason
	need, err := payloadSize(c, m)
	if err != nil {
		return bad("%v", err)
	}
	switch {
	case c.ReportSize == 0 && q.Type != QuestionThreshold:
		c.ReportSize = max(DefaultReportSize, (need+15)/16*16)
	case c.PaddedSize() < need:
		return bad("report_size %d is too small for a %v answer (%d bytes)", c.PaddedSize(), m, need)
	}
	return nil
}

// Clone returns a copy of c that shares no memory with it: its category
// list, prio3 config and report-token config are copied. A campaign
// verified once and handed to many devices (host's verification cache) is
// cloned for each, so no device can change another's.
func (c *Campaign) Clone() Campaign {
	out := *c
	out.Question.Categories = slices.Clone(c.Question.Categories)
	if c.Prio3 != nil {
		p := *c.Prio3
		p.Params, p.HelperKeys = slices.Clone(p.Params), slices.Clone(p.HelperKeys)
		out.Prio3 = &p
	}
	if c.ReportTokens != nil {
		r := *c.ReportTokens
		out.ReportTokens = &r
	}
	return out
}

// checkReportEpsilon fills in and checks ReportEpsilon (ε1).
func (c *Campaign) checkReportEpsilon() error {
	if c.ReportEpsilon == 0 {
		switch {
		case c.legacy:
			return nil // signed before two layers: one layer at Epsilon
		case c.Question.Type == QuestionMean:
			c.ReportEpsilon = c.Epsilon
		default:
			c.ReportEpsilon = c.Epsilon * ldp.DefaultReportShare
		}
	}
	e1 := c.ReportEpsilon
	switch {
	case c.Question.Type == QuestionMean && e1 != c.Epsilon:
		return fmt.Errorf("report_epsilon %v: a mean question's answers have one layer, at epsilon %v", e1, c.Epsilon)
	case c.Question.Type != QuestionMean && !(e1 > 0 && e1 < c.Epsilon):
		return fmt.Errorf("report_epsilon %v is not in (0, epsilon %v): re-sent answers need fresh noise", e1, c.Epsilon)
	}
	return nil
}

// twoLayer reports whether c's frequency answers are drawn in two layers
// (every config but those signed before ReportEpsilon existed).
func (c *Campaign) twoLayer() bool {
	return c.ReportEpsilon > 0 && c.ReportEpsilon < c.Epsilon && c.Question.Type != QuestionMean
}

// Mechanism is the LDP mechanism the campaign's answers use: the one its
// config names, or for a config stored before campaigns named one (all
// threshold questions), randomized response; none (0) for a prio3
// campaign.
func (c *Campaign) Mechanism() ldp.Mechanism {
	if c.IsPrio3() {
		return 0
	}
	if m, err := ldp.ParseMechanism(c.MechanismName); err == nil {
		return m
	}
	if m, _, err := choose(c); err == nil {
		return m
	}
	return ldp.MechanismRR
}

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
