package campaign

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"net/url"

	"github.com/wisp-project/wisp/internal/prio"
	"github.com/wisp-project/wisp/internal/wire"
)

// Campaign modes (Campaign.Mode).
const (
	// ModeLDP (or no mode) is a locally randomized answer sent to one
	// aggregator.
	ModeLDP = "ldp"
	// ModePrio3 is the true answer secret-shared between two aggregators
	// (Prio3), each adding central noise to its aggregate share.
	ModePrio3 = "prio3"
)

// DefaultMeanBits is how many bits a prio3 mean question's score is
// quantized to when its config names no instance: round(score·255).
const DefaultMeanBits = 8

// Prio3 is the two-aggregator part of a prio3 campaign's signed config.
type Prio3 struct {
	// Params is prio.EncodeParams of the Prio3 instance; Validate fills it
	// in with the question's instance (prio.ForThreshold, ForTopK(d, k),
	// ForMean(DefaultMeanBits)) when it is empty, and otherwise checks
	// that it fits the question.
	Params []byte `json:"params"`
	// CentralEpsilon is the ε of the discrete Laplace noise each
	// aggregator adds to its aggregate share per release; either draw
	// alone makes a release ε-DP. It is what the device's ledger is
	// charged per report, so Campaign.Epsilon must equal it (Validate
	// fills Epsilon in when it is zero).
	CentralEpsilon float64 `json:"central_epsilon"`
	// MinBatch is how many reports both aggregators must have aggregated
	// before a release; at least the campaign's K.
	MinBatch int `json:"min_batch"`
	// HelperURL is the helper's base URL; the leader forwards to it.
	HelperURL string `json:"helper_url"`
	// HelperKeys is the helper's HPKE KeyConfigList as its
	// /v1/hpke-config serves it: devices seal the helper's share to it.
	HelperKeys []byte `json:"helper_keys"`
}

// IsPrio3 reports whether c is answered in prio3 mode.
func (c *Campaign) IsPrio3() bool { return c.Mode == ModePrio3 }

// Instance is a prio3 campaign's Prio3 instance (DecodeParams of
// Prio3.Params).
func (c *Campaign) Instance() (prio.Params, error) {
	if c.Prio3 == nil {
		return prio.Params{}, fmt.Errorf("%w: campaign %q is not a prio3 campaign", ErrInvalid, c.ID)
	}
	return prio.DecodeParams(c.Prio3.Params)
}

// HelperKeyConfig is the helper's first key config, the one devices seal
// the helper's share to.
func (p *Prio3) HelperKeyConfig() (wire.KeyConfig, error) {
	l, err := wire.DecodeKeyConfigList(p.HelperKeys)
	if err != nil {
		return wire.KeyConfig{}, err
	}
	if len(l.Configs) == 0 {
		return wire.KeyConfig{}, fmt.Errorf("%w: helper_keys has no key config", ErrInvalid)
	}
	return l.Configs[0], nil
}

// checkMode checks the mode and, for a prio3 campaign, fills Epsilon in
// from CentralEpsilon; the rest of a prio3 config is checked once the
// question is (validatePrio3).
func (c *Campaign) checkMode() error {
	switch c.Mode {
	case "", ModeLDP:
		if c.Prio3 != nil {
			return fmt.Errorf("a %q campaign has no prio3 section", ModeLDP)
		}
		return nil
	case ModePrio3:
	default:
		return fmt.Errorf("mode %q is not %q or %q", c.Mode, ModeLDP, ModePrio3)
	}
	p := c.Prio3
	switch {
	case p == nil:
		return fmt.Errorf("a prio3 campaign needs a prio3 section")
	case !(p.CentralEpsilon > 0 && p.CentralEpsilon <= MaxEpsilon):
		return fmt.Errorf("central_epsilon %v is not in (0, %d]", p.CentralEpsilon, MaxEpsilon)
	case c.Epsilon == 0:
		c.Epsilon = p.CentralEpsilon
	case c.Epsilon != p.CentralEpsilon:
		return fmt.Errorf("epsilon %v: a prio3 campaign's epsilon is its central_epsilon %v", c.Epsilon, p.CentralEpsilon)
	}
	switch {
	case c.ReportEpsilon != 0 || c.MechanismName != "" || c.MechanismReason != "":
		return errors.New("a prio3 campaign has no local randomization: no report_epsilon, mechanism or mechanism_reason")
	case c.ReportSize != 0:
		return errors.New("a prio3 campaign has no report_size: its instance fixes the report's length")
	}
	return nil
}

// validatePrio3 fills in and checks a prio3 campaign's instance against
// its (validated) question, and checks the batch size and the helper.
func (c *Campaign) validatePrio3() error {
	p := c.Prio3
	q := &c.Question
	var want prio.Params
	switch q.Type {
	case QuestionThreshold:
		want = prio.ForThreshold()
	case QuestionTopK:
		want = prio.ForTopK(len(q.Categories), q.K)
	case QuestionMean:
		want = prio.ForMean(DefaultMeanBits)
	}
	if len(p.Params) == 0 {
		b, err := prio.EncodeParams(want)
		if err != nil {
			return err
		}
		p.Params = b
	}
	got, err := prio.DecodeParams(p.Params)
	if err != nil {
		return err
	}
	fits := got.VDAF == want.VDAF
	if q.Type == QuestionTopK {
		fits = fits && got.Length == want.Length && got.MaxWeight == want.MaxWeight
	}
	if !fits {
		return fmt.Errorf("params %v (length %d, max weight %d) do not answer a %s question: want %v (length %d, max weight %d)",
			got.VDAF, got.Length, got.MaxWeight, q.Type, want.VDAF, want.Length, want.MaxWeight)
	}
	if p.MinBatch < c.K {
		return fmt.Errorf("min_batch %d is below k %d", p.MinBatch, c.K)
	}
	if u, err := url.Parse(p.HelperURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("helper_url %q is not an http(s) URL", p.HelperURL)
	}
	l, err := wire.DecodeKeyConfigList(p.HelperKeys)
	if err != nil {
		return fmt.Errorf("helper_keys: %v", err)
	}
	if len(l.Configs) == 0 {
		return errors.New("helper_keys has no key config")
	}
	for _, kc := range l.Configs {
		if kc.KEM != wire.KEM || kc.KDF != wire.KDF || kc.AEAD != wire.AEAD || len(kc.PublicKey) != 32 {
			return fmt.Errorf("helper key %d is not an X25519/HKDF-SHA256/AES-128-GCM key", kc.ID)
		}
	}
	return nil
}

// prio3DigestInput is the canonical encoding of a prio3 question, the
// MemoDigest of a prio3 campaign: a CBOR array
//
//	0 domain          text  "wisp prio3 question"
//	1 mode            text  "prio3"
//	2 type            text
//	3 category        uint
//	4 min_score       float64
//	5 categories      [uint]
//	6 k               uint
//	7 params          bytes  prio.EncodeParams
//	8 central_epsilon float64
//
// encoded as digestInput is. Its own domain keeps it apart from every LDP
// question's digest, whose encoding is unchanged. A prio3 answer is not
// memoized; the digest names the question (e.g. for consent).
type prio3DigestInput struct {
	_              struct{} `cbor:",toarray"`
	Domain         string
	Mode           string
	Type           string
	Category       uint32
	MinScore       float64
	Categories     []uint32
	K              uint
	Params         []byte
	CentralEpsilon float64
}

func (c *Campaign) prio3Digest() ([32]byte, error) {
	q := c.Question
	cats := q.Categories
	if cats == nil {
		cats = []uint32{}
	}
	b, err := digestMode.Marshal(prio3DigestInput{
		Domain: "wisp prio3 question", Mode: ModePrio3, Type: string(q.Type), Category: q.Category, MinScore: q.MinScore,
		Categories: cats, K: uint(max(q.K, 0)), Params: bytes.Clone(c.Prio3.Params), CentralEpsilon: c.Prio3.CentralEpsilon,
	})
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(b), nil
}

// prio3Codec is Codec for a prio3 campaign: the question and its
// instance, no LDP mechanism.
func (c *Campaign) prio3Codec() (*Codec, error) {
	p, err := c.Instance()
	if err != nil {
		return nil, fmt.Errorf("campaign %q: %w", c.ID, err)
	}
	k := &Codec{question: c.Question, id: c.ID, prio3: &p}
	if k.digest, err = c.prio3Digest(); err != nil {
		return nil, fmt.Errorf("campaign %q: %w", c.ID, err)
	}
	return k, nil
}

// errPrio3 is what the LDP steps of a prio3 campaign's codec return.
var errPrio3 = errors.New("campaign: a prio3 answer is not randomized or memoized")

// Instance is a prio3 campaign's Prio3 instance; false for an LDP one.
func (k *Codec) Instance() (prio.Params, bool) {
	if k.prio3 == nil {
		return prio.Params{}, false
	}
	return *k.prio3, true
}

// Measurement is what a device secret-shares in a prio3 campaign for its
// true answer t (Truth): the bit of a threshold question, the 0/1 vector
// of a top_k set over Question.Categories, a mean's score rounded to the
// nearest of the instance's 2^Bits levels (round(score·(2^Bits − 1)), an
// error of at most half a level). A device whose plugins scored none of
// the categories has a zero Truth and so sends the null measurement.
func (k *Codec) Measurement(t Truth) (prio.Measurement, error) {
	p, ok := k.Instance()
	if !ok {
		return nil, fmt.Errorf("campaign %q: an LDP campaign has no prio3 measurement", k.id)
	}
	switch k.question.Type {
	case QuestionTopK:
		return prio.MultiHot(int(p.Length), t.Set...), nil
	case QuestionMean:
		score := math.Min(math.Max(t.Score, 0), 1)
		return prio.Value(uint64(math.Round(score * float64(p.MaxValue())))), nil
	}
	return prio.Bit(t.Bit), nil
}
