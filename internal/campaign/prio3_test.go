package campaign_test

import (
	"crypto/rand"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cloudflare/circl/sign/ed25519"

	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/prio"
	"github.com/wisp-project/wisp/internal/wire"
)

func helperKeys(t *testing.T) []byte {
	t.Helper()
	k, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := wire.Marshal(wire.KeyConfigList{Configs: []wire.KeyConfig{k.Config}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// asPrio3 turns an LDP test campaign into a prio3 one (no epsilon: it
// comes from central_epsilon).
func asPrio3(t *testing.T, c campaign.Campaign) campaign.Campaign {
	c.Mode, c.Epsilon = campaign.ModePrio3, 0
	c.Prio3 = &campaign.Prio3{CentralEpsilon: 1, MinBatch: 100, HelperURL: "https://helper.example", HelperKeys: helperKeys(t)}
	return c
}

func TestPrio3ValidateFillsInstance(t *testing.T) {
	for _, tt := range []struct {
		c    campaign.Campaign
		want prio.Params
	}{
		{valid(), prio.ForThreshold()},
		{topK(), prio.ForTopK(3, 2)},
		{mean(), prio.ForMean(campaign.DefaultMeanBits)},
	} {
		c := asPrio3(t, tt.c)
		if err := c.Validate(tax(t)); err != nil {
			t.Fatal(err)
		}
		got, err := c.Instance()
		if err != nil || got != tt.want {
			t.Errorf("%s: instance %+v (%v), want %+v", c.ID, got, err, tt.want)
		}
		if c.Epsilon != 1 || c.ReportEpsilon != 0 || c.MechanismName != "" || c.ReportSize != 0 || c.Mechanism() != 0 {
			t.Errorf("%s: LDP fields filled in: %+v", c.ID, c)
		}
	}
}

func TestPrio3ValidateRejects(t *testing.T) {
	encode := func(p prio.Params) []byte {
		b, err := prio.EncodeParams(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := map[string]struct {
		base   func() campaign.Campaign
		mutate func(c *campaign.Campaign)
		want   string
	}{
		"unknown mode":         {valid, func(c *campaign.Campaign) { c.Mode = "tee" }, "mode"},
		"no prio3 section":     {valid, func(c *campaign.Campaign) { c.Prio3 = nil }, "prio3 section"},
		"ldp with prio3":       {valid, func(c *campaign.Campaign) { c.Mode = campaign.ModeLDP }, "no prio3 section"},
		"zero central ε":       {valid, func(c *campaign.Campaign) { c.Prio3.CentralEpsilon = 0 }, "central_epsilon"},
		"central ε above max":  {valid, func(c *campaign.Campaign) { c.Prio3.CentralEpsilon = 9 }, "central_epsilon"},
		"ε differs":            {valid, func(c *campaign.Campaign) { c.Epsilon = 2 }, "central_epsilon 1"},
		"report ε":             {valid, func(c *campaign.Campaign) { c.ReportEpsilon = 0.5 }, "no local randomization"},
		"mechanism":            {valid, func(c *campaign.Campaign) { c.MechanismName = "rr" }, "no local randomization"},
		"report size":          {valid, func(c *campaign.Campaign) { c.ReportSize = 64 }, "report_size"},
		"min batch below k":    {valid, func(c *campaign.Campaign) { c.Prio3.MinBatch = 9 }, "min_batch"},
		"no helper url":        {valid, func(c *campaign.Campaign) { c.Prio3.HelperURL = "" }, "helper_url"},
		"helper url scheme":    {valid, func(c *campaign.Campaign) { c.Prio3.HelperURL = "ftp://h" }, "helper_url"},
		"no helper keys":       {valid, func(c *campaign.Campaign) { c.Prio3.HelperKeys = nil }, "helper_keys"},
		"empty helper keys":    {valid, func(c *campaign.Campaign) { c.Prio3.HelperKeys = []byte{0xa1, 0x01, 0x80} }, "no key config"},
		"garbage params":       {valid, func(c *campaign.Campaign) { c.Prio3.Params = []byte{0xff} }, "invalid parameters"},
		"sum for threshold":    {valid, func(c *campaign.Campaign) { c.Prio3.Params = encode(prio.ForMean(8)) }, "do not answer"},
		"histogram for top_k":  {topK, func(c *campaign.Campaign) { c.Prio3.Params = encode(prio.ForOneOf(3)) }, "do not answer"},
		"top_k wrong length":   {topK, func(c *campaign.Campaign) { c.Prio3.Params = encode(prio.ForTopK(4, 2)) }, "do not answer"},
		"top_k wrong weight":   {topK, func(c *campaign.Campaign) { c.Prio3.Params = encode(prio.ForTopK(3, 1)) }, "do not answer"},
		"count for mean":       {mean, func(c *campaign.Campaign) { c.Prio3.Params = encode(prio.ForThreshold()) }, "do not answer"},
		"threshold no min":     {valid, func(c *campaign.Campaign) { c.Question.MinScore = 0 }, "min_score"},
		"ldp config with mode": {valid, func(c *campaign.Campaign) { c.Mode = campaign.ModeLDP; c.Prio3 = nil; c.Epsilon = 0 }, "epsilon"},
	}
	for name, tt := range tests {
		c := asPrio3(t, tt.base())
		tt.mutate(&c)
		err := c.Validate(tax(t))
		if !errors.Is(err, campaign.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one naming %q", name, err, tt.want)
		}
	}
	ldpMode := valid()
	ldpMode.Mode = campaign.ModeLDP
	if err := ldpMode.Validate(tax(t)); err != nil {
		t.Errorf("mode \"ldp\": %v", err)
	}
}

func TestPrio3SignVerify(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	for _, base := range []campaign.Campaign{valid(), topK(), mean()} {
		c := asPrio3(t, base)
		if err := c.Validate(tax(t)); err != nil {
			t.Fatal(err)
		}
		config, sig, err := campaign.Sign(&c, priv)
		if err != nil {
			t.Fatal(err)
		}
		got, err := campaign.Verify(pub, config, sig, tax(t))
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Fatalf("Verify = %+v, %v; want %+v", got, err, c)
		}
		if !strings.Contains(string(config), `"mode":"prio3"`) {
			t.Errorf("signed config %s does not name its mode", config)
		}
	}
}

// TestPrio3Digest: a prio3 question's digest differs from the same LDP
// question's and changes with the instance and central ε.
func TestPrio3Digest(t *testing.T) {
	for _, base := range []campaign.Campaign{valid(), topK(), mean()} {
		c := asPrio3(t, base)
		d := codecOf(t, c).MemoDigest()
		if d == codecOf(t, base).MemoDigest() || d == ([32]byte{}) {
			t.Errorf("%s: the prio3 digest is the LDP one or zero", c.ID)
		}
		other := asPrio3(t, base)
		other.Prio3.HelperURL = "https://other.example" // who helps is not the question
		if codecOf(t, other).MemoDigest() != d {
			t.Errorf("%s: the digest depends on the helper's URL", c.ID)
		}
		other.Prio3.CentralEpsilon = 2
		if codecOf(t, other).MemoDigest() == d {
			t.Errorf("%s: the digest ignores central ε", c.ID)
		}
	}
	c, wide := asPrio3(t, mean()), asPrio3(t, mean())
	b, _ := prio.EncodeParams(prio.ForMean(12))
	wide.Prio3.Params = b
	if codecOf(t, c).MemoDigest() == codecOf(t, wide).MemoDigest() {
		t.Error("the digest ignores the instance")
	}
}

func TestPrio3Measurement(t *testing.T) {
	scores := map[uint32]float32{408: 0.2, 410: 0.7}
	for _, tt := range []struct {
		c          campaign.Campaign
		want, null prio.Measurement
	}{
		{valid(), prio.Bit(true), prio.Bit(false)},
		{topK(), prio.MultiHot(3, 0, 1), prio.MultiHot(3)},
		{mean(), prio.Value(178), prio.Value(0)}, // float32(0.7)·255 = 178.49999… → 178
	} {
		k := codecOf(t, asPrio3(t, tt.c))
		p, ok := k.Instance()
		if !ok {
			t.Fatal("no instance")
		}
		got, err := k.Measurement(k.Truth(scores))
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: measurement %v (%v), want %v", tt.c.ID, got, err, tt.want)
		}
		null, err := k.Measurement(k.Truth(nil))
		if err != nil || !reflect.DeepEqual(null, tt.null) || !reflect.DeepEqual(null, p.Null()) {
			t.Errorf("%s: unscored measurement %v (%v), want the null %v", tt.c.ID, null, err, tt.null)
		}
		// Both shard: the instance accepts them.
		cl, err := prio.NewClient(p, prio.AppContext(tt.c.ID))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []prio.Measurement{got, null} {
			if _, err := cl.Shard(m); err != nil {
				t.Errorf("%s: shard %v: %v", tt.c.ID, m, err)
			}
		}
		// The LDP steps refuse: nothing is randomized or memoized.
		if _, err := k.MemoKey(k.Truth(scores)); err == nil {
			t.Errorf("%s: a prio3 answer has a memo key", tt.c.ID)
		}
		if _, err := k.Randomize(k.Truth(scores), ldp.NewCryptoRand()); err == nil {
			t.Errorf("%s: a prio3 answer was randomized", tt.c.ID)
		}
		if err := k.CheckAnswer(ldp.MechanismRR, []byte{1}); err == nil {
			t.Errorf("%s: a prio3 campaign took an LDP answer", tt.c.ID)
		}
	}
	if _, err := codecOf(t, valid()).Measurement(campaign.Truth{}); err == nil {
		t.Error("an LDP campaign gave a prio3 measurement")
	}
}
