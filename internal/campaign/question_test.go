package campaign_test

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/cloudflare/circl/sign/ed25519"

	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/ldp"
)

func topK() campaign.Campaign {
	return campaign.Campaign{ID: "top", Question: campaign.Question{Type: campaign.QuestionTopK, Categories: []uint32{408, 410, 625}, K: 2},
		Epsilon: 2, EpochSeconds: 3600, K: 10}
}

func mean() campaign.Campaign {
	return campaign.Campaign{ID: "mean", Question: campaign.Question{Type: campaign.QuestionMean, Category: 410},
		Epsilon: 1, EpochSeconds: 3600, K: 10}
}

func TestValidateQuestionTypes(t *testing.T) {
	tests := []struct {
		name       string
		c          func() campaign.Campaign
		mutate     func(c *campaign.Campaign)
		mechanism  string // "" = refused
		reportSize int
	}{
		{"threshold", valid, func(*campaign.Campaign) {}, "rr", 0},
		{"threshold naming rr", valid, func(c *campaign.Campaign) { c.MechanismName = "rr" }, "rr", 0},
		{"threshold naming oue", valid, func(c *campaign.Campaign) { c.MechanismName = "oue" }, "", 0},
		{"threshold with k", valid, func(c *campaign.Campaign) { c.Question.K = 2 }, "", 0},
		{"top_k small d", topK, func(*campaign.Campaign) {}, "grr", 64},
		{"top_k over all interests", topK, func(c *campaign.Campaign) { c.Question.Categories = nil; c.Epsilon = 1 }, "oue", 80},
		{"top_k olh override", topK, func(c *campaign.Campaign) { c.Question.Categories = nil; c.Epsilon = 1; c.MechanismName = "olh" }, "olh", 64},
		{"top_k naming rr", topK, func(c *campaign.Campaign) { c.MechanismName = "rr" }, "", 0},
		{"top_k naming duchi", topK, func(c *campaign.Campaign) { c.MechanismName = "duchi" }, "", 0},
		{"top_k unknown mechanism", topK, func(c *campaign.Campaign) { c.MechanismName = "bloom" }, "", 0},
		{"top_k k zero", topK, func(c *campaign.Campaign) { c.Question.K = 0 }, "", 0},
		{"top_k k above d", topK, func(c *campaign.Campaign) { c.Question.K = 4 }, "", 0},
		{"top_k one category", topK, func(c *campaign.Campaign) { c.Question.Categories = []uint32{410}; c.Question.K = 1 }, "", 0},
		{"top_k duplicate", topK, func(c *campaign.Campaign) { c.Question.Categories = []uint32{410, 410} }, "", 0},
		{"top_k demographic", topK, func(c *campaign.Campaign) { c.Question.Categories = []uint32{410, 3} }, "", 0},
		{"top_k unknown category", topK, func(c *campaign.Campaign) { c.Question.Categories = []uint32{410, 99999} }, "", 0},
		{"top_k with min_score", topK, func(c *campaign.Campaign) { c.Question.MinScore = 0.5 }, "", 0},
		{"top_k report too small", topK, func(c *campaign.Campaign) { c.Question.Categories = nil; c.Epsilon = 1; c.ReportSize = 64 }, "", 0},
		{"mean", mean, func(*campaign.Campaign) {}, "duchi", 64},
		{"mean at ε=4", mean, func(c *campaign.Campaign) { c.Epsilon = 4 }, "piecewise", 64},
		{"mean piecewise override", mean, func(c *campaign.Campaign) { c.MechanismName = "piecewise" }, "piecewise", 64},
		{"mean naming grr", mean, func(c *campaign.Campaign) { c.MechanismName = "grr" }, "", 0},
		{"mean with min_score", mean, func(c *campaign.Campaign) { c.Question.MinScore = 0.5 }, "", 0},
		{"mean demographic", mean, func(c *campaign.Campaign) { c.Question.Category = 3 }, "", 0},
		{"unknown type", mean, func(c *campaign.Campaign) { c.Question.Type = "median" }, "", 0},
	}
	for _, tc := range tests {
		c := tc.c()
		tc.mutate(&c)
		err := c.Validate(tax(t))
		if tc.mechanism == "" {
			if !errors.Is(err, campaign.ErrInvalid) {
				t.Errorf("%s: Validate = %v, want ErrInvalid", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.MechanismName != tc.mechanism || c.Mechanism().String() != tc.mechanism || !strings.HasPrefix(c.MechanismReason, tc.mechanism+" ") {
			t.Errorf("%s: mechanism %q (%v), reason %q; want %s", tc.name, c.MechanismName, c.Mechanism(), c.MechanismReason, tc.mechanism)
		}
		if c.ReportSize != tc.reportSize {
			t.Errorf("%s: report size %d, want %d", tc.name, c.ReportSize, tc.reportSize)
		}
		if strings.Contains(tc.name, "override") && !strings.Contains(c.MechanismReason, "named by the campaign") {
			t.Errorf("%s: reason %q does not say the campaign overrode the choice", tc.name, c.MechanismReason)
		}
		// Validating again (as a device does on the signed config) keeps it.
		again := c
		if err := again.Validate(tax(t)); err != nil || again.MechanismReason != c.MechanismReason || again.ReportSize != c.ReportSize {
			t.Errorf("%s: second Validate changed the campaign: %v", tc.name, err)
		}
	}
}

// TestStoredThresholdWithoutMechanism: a config signed before campaigns
// named a mechanism still answers with randomized response.
func TestStoredThresholdWithoutMechanism(t *testing.T) {
	c := valid()
	if c.Mechanism() != ldp.MechanismRR {
		t.Fatalf("unvalidated threshold: %v", c.Mechanism())
	}
	if _, err := c.Codec(); err != nil {
		t.Fatal(err)
	}
}

// TestSignatureCoversMechanism: the mechanism, its reason and the top_k
// domain are inside the signed bytes; changing any breaks the signature.
func TestSignatureCoversMechanism(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	c := topK()
	if err := c.Validate(tax(t)); err != nil {
		t.Fatal(err)
	}
	config, sig, err := campaign.Sign(&c, priv)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"mechanism":"grr"`, `"mechanism_reason":"grr has the least`, `"categories":[408,410,625]`, `"k":2`} {
		if !strings.Contains(string(config), field) {
			t.Errorf("signed config %s lacks %s", config, field)
		}
	}
	got, err := campaign.Verify(pub, config, sig, tax(t))
	if err != nil || got.MechanismName != "grr" {
		t.Fatalf("Verify: %+v %v", got, err)
	}
	for _, swap := range [][2]string{{`"grr"`, `"oue"`}, {`[408,410,625]`, `[408,410,674]`}, {`least`, `LEAST`}} {
		tampered := strings.Replace(string(config), swap[0], swap[1], 1)
		if _, err := campaign.Verify(pub, []byte(tampered), sig, tax(t)); !errors.Is(err, campaign.ErrSignature) {
			t.Errorf("tampered %s→%s: %v", swap[0], swap[1], err)
		}
	}
}

// TestTruthAndMemoKeys: the true value each question type memoizes on.
func TestTruthAndMemoKeys(t *testing.T) {
	scores := map[uint32]float32{408: 0.3, 410: 0.8, 625: 0.5, 674: 0.9}
	tk := topK()
	if err := tk.Validate(tax(t)); err != nil {
		t.Fatal(err)
	}
	codec, err := tk.Codec()
	if err != nil {
		t.Fatal(err)
	}
	got := codec.Truth(scores)
	if len(got.Set) != 2 || got.Set[0] != 1 || got.Set[1] != 2 || got.Key != "grr:1,2" { // 410, 625 (674 is not asked about)
		t.Errorf("top_k truth %+v", got)
	}
	if empty := codec.Truth(nil); len(empty.Set) != 0 || empty.Key != "grr:" {
		t.Errorf("top_k truth with no scores %+v", empty)
	}
	m := mean()
	if err := m.Validate(tax(t)); err != nil {
		t.Fatal(err)
	}
	mc, _ := m.Codec()
	// A mean score is memoized by its α-rounded grid point (Duchi: ±1),
	// not by its level out of 100: Truth leaves it unrounded, Round rounds
	// it with the device's offset (0.8049 is 80.49% of the way from the
	// bottom point to the top one: up for any α below that).
	got = mc.Truth(map[uint32]float32{410: 0.8049})
	if math.Abs(got.Score-0.8049) > 1e-6 || got.Key != "" {
		t.Errorf("mean truth %+v", got)
	}
	if _, err := mc.MemoKey(got); err == nil {
		t.Error("an unrounded mean score has a memo key")
	}
	for _, tt := range []struct {
		alpha float64
		score float64
		key   string
	}{{0.5, 1, "duchi:a1:1"}, {0.9, 0, "duchi:a1:0"}} {
		if r, err := mc.Round(got, tt.alpha); err != nil || r.Score != tt.score || r.Key != tt.key {
			t.Errorf("mean truth rounded with α=%v: %+v %v", tt.alpha, r, err)
		}
	}
	// A config signed before two layers still rounds to 1/100.
	legacy := legacyCodec(t, mean())
	if got := legacy.Truth(map[uint32]float32{410: 0.8049}); got.Score != 0.8 || got.Key != "duchi:80" {
		t.Errorf("legacy mean truth %+v", got)
	}
	th := valid()
	tc, _ := th.Codec()
	if got := tc.Truth(scores); !got.Bit || got.Key != "1" { // as before question types: the bit alone
		t.Errorf("threshold truth %+v", got)
	}
	for _, k := range []*campaign.Codec{codec, mc, tc} {
		answer, err := k.Randomize(k.Truth(scores), ldp.NewSeededRand(1))
		if err != nil || k.CheckAnswer(k.Mechanism(), answer) != nil {
			t.Errorf("%v: answer %x: %v", k.Mechanism(), answer, err)
		}
		if k.CheckAnswer(k.Mechanism()+1, answer) == nil || k.CheckAnswer(k.Mechanism(), append(answer, 0, 0, 0, 0)) == nil {
			t.Errorf("%v: CheckAnswer accepts a wrong mechanism or length", k.Mechanism())
		}
	}
}

// TestQuestionTypeJSON: a question type is the same JSON string it was
// when Question.Type was a plain string, and an unknown one still decodes
// and then fails validation.
func TestQuestionTypeJSON(t *testing.T) {
	for _, qt := range []campaign.QuestionType{campaign.QuestionThreshold, campaign.QuestionTopK, campaign.QuestionMean} {
		if !qt.IsValid() {
			t.Errorf("%v is not valid", qt)
		}
		got, err := json.Marshal(campaign.Question{Type: qt})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(struct {
			Type string `json:"type"`
		}{string(qt)})
		if string(got) != string(want) {
			t.Errorf("%v encodes as %s, want %s", qt, got, want)
		}
	}
	if got, _ := json.Marshal(campaign.Question{Type: campaign.QuestionTopK}); string(got) != `{"type":"top_k"}` {
		t.Errorf("top_k question encodes as %s", got)
	}
	list := []byte(`[{"id":"m","name":"M","question":{"type":"median","category":410},"epsilon":1,"epoch_seconds":3600,"k":1}]`)
	if _, err := campaign.ParseList(list, tax(t)); !errors.Is(err, campaign.ErrInvalid) || !strings.Contains(err.Error(), `"median"`) {
		t.Errorf("unknown question type: %v, want ErrInvalid naming it", err)
	}
	if campaign.QuestionType("median").IsValid() || campaign.QuestionType("").IsValid() {
		t.Error("an unknown question type is valid")
	}
}
