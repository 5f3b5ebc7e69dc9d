package campaign

import (
	"crypto/sha256"

	"github.com/fxamacker/cbor/v2"

	"github.com/wisp-project/wisp/internal/ldp"
)

// AnswerEncoding is the version of how a device turns a question into
// memoized and sent answers, part of the question digest: 2 is two layers
// (a permanent answer at Epsilon, fresh noise at ReportEpsilon per report)
// with α-rounded mean scores. Version 1 — one layer, mean scores rounded
// to 1/MeanLevels, memos keyed by campaign id — is what configs without
// report_epsilon keep; they have no digest.
const AnswerEncoding = 2

// digestDomain separates the digest from any other SHA-256 in Wisp.
const digestDomain = "wisp memo question"

// digestInput is the canonical encoding of everything that determines the
// distribution of a device's answer to a question, and nothing that names
// who asks (campaign id, name, tenant), when (epoch length) or what the
// aggregator does with it (k, report size, the reason text). A CBOR array,
// in this order:
//
//	0 domain        text  "wisp memo question"
//	1 encoding      uint  AnswerEncoding
//	2 type          text  "threshold" | "top_k" | "mean"
//	3 category      uint  threshold and mean (0 for top_k)
//	4 min_score     float64  threshold (0 otherwise)
//	5 categories    [uint]  top_k, in the config's order: item i is categories[i] (empty otherwise)
//	6 k             uint  top_k (0 otherwise)
//	7 mechanism     uint  the wire mechanism id
//	8 epsilon       float64  ε∞
//	9 report_epsilon float64  ε1
//	10 grid_steps   uint  mean: the α-rounding grid (0 otherwise)
//
// encoded with CBOR's core deterministic rules and every float as a
// 64-bit float (no shortest-float reduction), so one question has one
// encoding.
type digestInput struct {
	_             struct{} `cbor:",toarray"`
	Domain        string
	Encoding      uint
	Type          string
	Category      uint32
	MinScore      float64
	Categories    []uint32
	K             uint
	Mechanism     ldp.Mechanism
	Epsilon       float64
	ReportEpsilon float64
	GridSteps     uint
}

var digestMode = func() cbor.EncMode {
	m, err := cbor.EncOptions{Sort: cbor.SortCoreDeterministic, ShortestFloat: cbor.ShortestFloatNone,
		IndefLength: cbor.IndefLengthForbidden, NaNConvert: cbor.NaNConvert7e00, InfConvert: cbor.InfConvertNone}.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// digestBytes is the canonical encoding the digest hashes.
func (c *Campaign) digestBytes(grid ldp.Grid) ([]byte, error) {
	q := c.Question
	cats := q.Categories
	if cats == nil {
		cats = []uint32{}
	}
	return digestMode.Marshal(digestInput{
		Domain: digestDomain, Encoding: AnswerEncoding, Type: string(q.Type), Category: q.Category,
		MinScore: q.MinScore, Categories: cats, K: uint(max(q.K, 0)), Mechanism: c.Mechanism(),
		Epsilon: c.Epsilon, ReportEpsilon: c.ReportEpsilon, GridSteps: uint(max(grid.Steps, 0)),
	})
}

func (c *Campaign) digest(grid ldp.Grid) ([32]byte, error) {
	b, err := c.digestBytes(grid)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(b), nil
}

// MemoDigest is SHA-256 of the question's canonical encoding (digestInput):
// the scope of its memoized answers. Two campaigns asking the same
// question with the same mechanism and ε get the same digest, and a
// device answers both with one permanent answer. Zero for a legacy
// campaign (Legacy), whose memos are keyed by its id.
func (k *Codec) MemoDigest() [32]byte { return k.digest }
