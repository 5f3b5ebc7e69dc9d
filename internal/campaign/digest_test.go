package campaign_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/cloudflare/circl/sign/ed25519"

	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/ldp"
)

// legacyCodec is the codec a device builds for c signed before configs
// had report_epsilon.
func legacyCodec(t *testing.T, c campaign.Campaign) *campaign.Codec {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	config, sig, err := campaign.Sign(&c, priv)
	if err != nil || strings.Contains(string(config), "report_epsilon") {
		t.Fatalf("legacy config %s: %v", config, err)
	}
	got, err := campaign.Verify(pub, config, sig, tax(t))
	if err != nil || got.ReportEpsilon != 0 {
		t.Fatalf("Verify of a legacy config: %+v %v", got, err)
	}
	k, err := got.Codec()
	if err != nil || !k.Legacy() {
		t.Fatalf("legacy codec: %v", err)
	}
	return k
}

func codecOf(t *testing.T, c campaign.Campaign) *campaign.Codec {
	t.Helper()
	if err := c.Validate(tax(t)); err != nil {
		t.Fatal(err)
	}
	k, err := c.Codec()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestMemoDigestGolden pins the digest of one question: changing the
// canonical encoding would orphan every device's memos (and re-randomize
// their answers), so it must be a deliberate, versioned change.
func TestMemoDigestGolden(t *testing.T) {
	for _, tt := range []struct {
		c    campaign.Campaign
		want string
	}{
		// ["wisp memo question", 2, "threshold", 410, 0.6, [], 0, 1, 1.0, 0.5, 0]:
		// 8b7277697370206d656d6f207175657374696f6e02697468726573686f6c64
		// 19019afb3fe3333333333333800001fb3ff0000000000000fb3fe000000000000000
		// (checked against an independent hand encoding).
		{valid(), "e8d8efbf1c09383bf7a8f8c0452a1fe824184dabdb51472e0b10017cd3482e2d"},
		{topK(), "2cb762543a8834ad5940e56bfb5897869607c3095c9c46179e2f7a018b07eecf"},
		{mean(), "47af403126afcd7e767f13379354a86135a0c0dab088fc1bbe2ac19c7fc9c03f"},
	} {
		k := codecOf(t, tt.c)
		d := k.MemoDigest()
		got := hex.EncodeToString(d[:])
		t.Logf("%s: %s", tt.c.ID, got)
		if got != tt.want {
			t.Errorf("%s: digest %s, want %s", tt.c.ID, got, tt.want)
		}
	}
}

// TestMemoDigestNamesTheQuestionNotTheAsker: everything that changes the
// answer's distribution changes the digest; who asks, for how long and
// what the aggregator does with the answers do not.
func TestMemoDigestNamesTheQuestionNotTheAsker(t *testing.T) {
	base := codecOf(t, topK()).MemoDigest()
	same := map[string]func(c *campaign.Campaign){
		"id":          func(c *campaign.Campaign) { c.ID = "another-campaign" },
		"name":        func(c *campaign.Campaign) { c.Name = "Another name" },
		"epoch":       func(c *campaign.Campaign) { c.EpochSeconds = 86400 },
		"k threshold": func(c *campaign.Campaign) { c.K = 500 },
		"report size": func(c *campaign.Campaign) { c.ReportSize = 256 },
	}
	for name, mutate := range same {
		c := topK()
		mutate(&c)
		if codecOf(t, c).MemoDigest() != base {
			t.Errorf("%s changes the digest", name)
		}
	}
	differ := map[string]func(c *campaign.Campaign){
		"epsilon":          func(c *campaign.Campaign) { c.Epsilon = 3 },
		"report epsilon":   func(c *campaign.Campaign) { c.ReportEpsilon = 0.7 },
		"mechanism":        func(c *campaign.Campaign) { c.MechanismName = "oue" },
		"category order":   func(c *campaign.Campaign) { c.Question.Categories = []uint32{410, 408, 625} },
		"categories":       func(c *campaign.Campaign) { c.Question.Categories = []uint32{408, 410, 674} },
		"top-k size":       func(c *campaign.Campaign) { c.Question.K = 1 },
		"type and content": func(c *campaign.Campaign) { *c = valid() },
	}
	for name, mutate := range differ {
		c := topK()
		mutate(&c)
		if codecOf(t, c).MemoDigest() == base {
			t.Errorf("%s does not change the digest", name)
		}
	}
	th := codecOf(t, valid()).MemoDigest()
	for name, mutate := range map[string]func(c *campaign.Campaign){
		"min score": func(c *campaign.Campaign) { c.Question.MinScore = 0.61 },
		"category":  func(c *campaign.Campaign) { c.Question.Category = 408 },
	} {
		c := valid()
		mutate(&c)
		if codecOf(t, c).MemoDigest() == th {
			t.Errorf("threshold %s does not change the digest", name)
		}
	}
	m := mean()
	m.MechanismName = "piecewise"
	if codecOf(t, m).MemoDigest() == codecOf(t, mean()).MemoDigest() {
		t.Error("mean mechanism (and grid) does not change the digest")
	}
}

// TestMemoKeys: a two-layer campaign's memo is scoped by the digest, so
// two campaigns asking one question share it; a legacy campaign's stays
// under its id.
func TestMemoKeys(t *testing.T) {
	a, b := valid(), valid()
	b.ID, b.Name = "runners-again", "Runners, again"
	ka, kb := codecOf(t, a), codecOf(t, b)
	truth := ka.Truth(map[uint32]float32{410: 0.9})
	ma, err := ka.MemoKey(truth)
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := kb.MemoKey(kb.Truth(map[uint32]float32{410: 0.7}))
	if ma != mb || !strings.HasPrefix(ma.Campaign, "q:") || ma.Value != "1" {
		t.Errorf("memo keys %+v and %+v: want one, scoped by the digest", ma, mb)
	}
	if ka.OffsetKey() == ma || !strings.HasPrefix(ka.OffsetKey().Campaign, "alpha:") {
		t.Errorf("offset key %+v", ka.OffsetKey())
	}
	legacy := legacyCodec(t, valid())
	if k, _ := legacy.MemoKey(legacy.Truth(map[uint32]float32{410: 0.9})); k != (ldp.MemoKey{Campaign: "runners", Value: "1"}) {
		t.Errorf("legacy memo key %+v", k)
	}
}

// TestInstantResendsDiffer (issue 14, item 3): a two-layer campaign's
// re-sent answers are drawn afresh from the memoized one; a legacy
// campaign re-sends the memo itself, byte for byte, as before.
func TestInstantResendsDiffer(t *testing.T) {
	rng := ldp.NewSeededRand(4)
	all := topK()
	all.Question.Categories, all.Epsilon = nil, 1 // oue over every Interest
	for _, c := range []campaign.Campaign{valid(), topK(), all} {
		k := codecOf(t, c)
		truth := k.Truth(map[uint32]float32{410: 0.9, 625: 0.4})
		perm, err := k.Permanent(truth, rng)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for range 40 {
			a, err := k.Instant(perm, rng)
			if err != nil || k.CheckAnswer(k.Mechanism(), a) != nil {
				t.Fatalf("%s: instant answer %x: %v", c.ID, a, err)
			}
			seen[string(a)] = true
		}
		if len(seen) < 2 {
			t.Errorf("%s (%v): 40 re-sends of one memo are all %x", c.ID, k.Mechanism(), perm)
		}
	}
	legacy := legacyCodec(t, topK())
	perm, _ := legacy.Permanent(legacy.Truth(map[uint32]float32{410: 0.9}), rng)
	if a, _ := legacy.Instant(perm, rng); !bytes.Equal(a, perm) {
		t.Errorf("legacy re-send %x, memo %x", a, perm)
	}
}

// TestReportEpsilon: Validate fills in ε1 = ε∞/2 for frequency questions
// and ε for means, and refuses a frequency ε1 that leaves no fresh noise.
func TestReportEpsilon(t *testing.T) {
	c := topK()
	if err := c.Validate(tax(t)); err != nil || c.ReportEpsilon != c.Epsilon*ldp.DefaultReportShare {
		t.Errorf("top_k: report_epsilon %v (%v)", c.ReportEpsilon, err)
	}
	m := mean()
	if err := m.Validate(tax(t)); err != nil || m.ReportEpsilon != m.Epsilon {
		t.Errorf("mean: report_epsilon %v (%v)", m.ReportEpsilon, err)
	}
	for _, e1 := range []float64{2, 3, -1} {
		c := topK()
		c.ReportEpsilon = e1
		if c.Validate(tax(t)) == nil {
			t.Errorf("top_k at ε=2 accepted report_epsilon %v", e1)
		}
	}
	m = mean()
	m.ReportEpsilon = 0.5
	if m.Validate(tax(t)) == nil {
		t.Error("a mean accepted a report_epsilon below epsilon")
	}
}
