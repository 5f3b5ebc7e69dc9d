package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/circl/sign/ed25519"

	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
)

// syncFleet is a device configuration for agg that devices of one test
// share, as a process running many devices shares one.
func syncFleet(clock *fakeClock, agg *testAggregator) DeviceConfig {
	return NewDeviceConfig().WithClock(clock.Now).
		WithAggregator(agg.URL, &http.Client{Timeout: 5 * time.Second}).WithCampaignKey(agg.key)
}

// syncedIDs opens a fresh device from cfg, syncs it and returns the ids of
// the campaigns it pinned.
func syncedIDs(t *testing.T, cfg DeviceConfig) []string {
	t.Helper()
	ids, err := syncIDs(cfg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func syncIDs(cfg DeviceConfig, dir string) ([]string, error) {
	ctx := context.Background()
	d, err := Open(ctx, dir, cfg)
	if err != nil {
		return nil, err
	}
	defer d.Close(ctx)
	if err := d.Sync(ctx); err != nil {
		return nil, err
	}
	pins, err := d.pinned(ctx)
	var ids []string
	for _, p := range pins {
		ids = append(ids, p.ID)
	}
	return ids, err
}

// signedList signs campaigns (validated first) with priv.
func signedList(t testing.TB, priv ed25519.PrivateKey, campaigns ...campaign.Campaign) api.SignedCampaignList {
	t.Helper()
	list := api.SignedCampaignList{Campaigns: []api.SignedCampaign{}}
	for _, c := range campaigns {
		if err := c.Validate(DefaultTaxonomy()); err != nil {
			t.Fatal(err)
		}
		config, sig, err := campaign.Sign(&c, priv)
		if err != nil {
			t.Fatal(err)
		}
		list.Campaigns = append(list.Campaigns, api.SignedCampaign{Config: config, Signature: sig})
	}
	return list
}

func (vc *verifyCache) count(kind verifyKind) int {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	n := 0
	for k := range vc.entries {
		if k.kind == kind {
			n++
		}
	}
	return n
}

// TestVerifyCacheShared: copies of a DeviceConfig share one cache, and a
// second device syncing the same configs adds nothing to it (it hit).
func TestVerifyCacheShared(t *testing.T) {
	clock := newFakeClock()
	agg := startTestAggregator(t, clock)
	cfg := syncFleet(clock, agg)
	if cfg.WithDailyBudget(2).WithRelay("").verified != cfg.verified {
		t.Fatal("a copy of the config has a cache of its own")
	}
	for i := range 2 {
		if ids := syncedIDs(t, cfg.WithDailyBudget(float64(i+1))); len(ids) != len(testCampaigns) {
			t.Fatalf("device %d pinned %v, want %d campaigns", i, ids, len(testCampaigns))
		}
		if n := cfg.verified.count(verifiedCampaign); n != len(testCampaigns) {
			t.Fatalf("after device %d: %d verified configs cached, want %d", i, n, len(testCampaigns))
		}
	}
	// Devices syncing at once (as the demo's workers do) each pin every
	// campaign.
	var wg sync.WaitGroup
	for range 4 {
		dir := t.TempDir()
		wg.Go(func() {
			if ids, err := syncIDs(cfg, dir); err != nil || len(ids) != len(testCampaigns) {
				t.Errorf("a concurrent device pinned %v (%v)", ids, err)
			}
		})
	}
	wg.Wait()
	if NewDeviceConfig().verified == cfg.verified {
		t.Fatal("two NewDeviceConfig share a cache")
	}
}

// TestVerifyCacheAttacks: with the honest configs verified and cached, a
// device sharing the cache still refuses every config the uncached check
// refuses.
func TestVerifyCacheAttacks(t *testing.T) {
	clock := newFakeClock()
	agg := startTestAggregator(t, clock)
	agg.serve(t, testCampaigns...)
	honest := *agg.configs.Load()
	_, attacker, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	attackerPub := attacker.Public().(ed25519.PublicKey)

	// altered: the honest signatures over configs that ask for a larger ε
	// (1 → 8; still a valid campaign, so only the signature refuses it).
	altered := api.SignedCampaignList{}
	for _, s := range honest.Campaigns {
		b := bytes.Replace(s.Config, []byte(`"epsilon":1,`), []byte(`"epsilon":8,`), 1)
		if bytes.Equal(b, s.Config) {
			t.Fatalf("no epsilon to alter in %s", s.Config)
		}
		altered.Campaigns = append(altered.Campaigns, api.SignedCampaign{Config: b, Signature: s.Signature})
	}
	// Another campaign id under the honest signatures: a cached entry
	// found by signature alone would accept it.
	renamed := api.SignedCampaignList{}
	for _, s := range honest.Campaigns {
		b := bytes.Replace(s.Config, []byte(`"id":"`), []byte(`"id":"x`), 1)
		renamed.Campaigns = append(renamed.Campaigns, api.SignedCampaign{Config: b, Signature: s.Signature})
	}
	small, err := ParseTaxonomy(strings.NewReader("header\n\t1\t\tInterest\tInterest\n\t625\t1\tCycling\tInterest\tCycling\n"))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		serve  api.SignedCampaignList
		config func(DeviceConfig) DeviceConfig
		want   []string
	}{
		{"altered bytes, cached signature", altered, nil, nil},
		{"other id, cached signature", renamed, nil, nil},
		{"same bytes, another key", honest, func(c DeviceConfig) DeviceConfig { return c.WithCampaignKey(attackerPub) }, nil},
		// validated against the default taxonomy; this one lacks Running (410)
		{"same bytes, another taxonomy", honest, func(c DeviceConfig) DeviceConfig { return c.WithTaxonomy(small) }, []string{"cyclists"}},
		{"honest, after all that", honest, nil, []string{"cyclists", "runners"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := syncFleet(clock, agg)
			agg.configs.Store(&honest)
			if ids := syncedIDs(t, cfg); len(ids) != 2 {
				t.Fatalf("the honest device pinned %v", ids)
			}
			agg.configs.Store(&tc.serve)
			dev := cfg
			if tc.config != nil {
				dev = tc.config(cfg)
			}
			if got := syncedIDs(t, dev); !equalStrings(got, tc.want) {
				t.Fatalf("pinned %v, want %v", got, tc.want)
			}
		})
	}

	// Poisoning: a device of the process provisioned with the attacker's
	// key verifies the attacker's configs, which the cache keeps; a device
	// with the honest key must still refuse the very same bytes.
	t.Run("poisoned by a device with another key", func(t *testing.T) {
		cfg := syncFleet(clock, agg)
		forged := signedList(t, attacker, testCampaigns...)
		agg.configs.Store(&forged)
		if ids := syncedIDs(t, cfg.WithCampaignKey(attackerPub)); len(ids) != 2 {
			t.Fatalf("the attacker's device pinned %v, want its 2 configs", ids)
		}
		if ids := syncedIDs(t, cfg); len(ids) != 0 {
			t.Fatalf("the honest device pinned %v from configs signed by another key", ids)
		}
	})
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}

// TestVerifyCacheDirect: the cache's answers for inputs the plain checks
// refuse, after the valid input was cached; and what one caller does to
// its campaign does not reach the next.
func TestVerifyCacheDirect(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	tax := DefaultTaxonomy()
	c := testCampaigns[0]
	c.Question = campaign.Question{Type: campaign.QuestionTopK, Categories: []uint32{410, 625}, K: 1}
	config, sig, err := campaign.Sign(&c, priv)
	if err != nil {
		t.Fatal(err)
	}
	vc := newVerifyCache()
	first, err := vc.campaign(pub, config, sig, tax)
	if err != nil {
		t.Fatal(err)
	}
	// Each caller's campaign is its own: the one that verified, and the
	// ones that hit.
	first.Question.Categories[0] = 1
	for i := range 2 {
		again, err := vc.campaign(pub, config, sig, tax)
		if err != nil || again.Question.Categories[0] != 410 {
			t.Fatalf("verify %d: %v, categories %v: want the config's [410 625]", i+2, err, again.Question.Categories)
		}
		again.Question.Categories[0] = 2
	}

	flipped := bytes.Clone(config)
	flipped[len(flipped)-2] ^= 1
	badSig := bytes.Clone(sig)
	badSig[0] ^= 1
	for name, in := range map[string]struct {
		pub         ed25519.PublicKey
		config, sig []byte
	}{
		"altered config":        {pub, flipped, sig},
		"altered signature":     {pub, config, badSig},
		"another key":           {otherPub, config, sig},
		"signature with a tail": {pub, config[1:], append(bytes.Clone(sig), config[0])},
		"short key":             {pub[:31], config, sig},
	} {
		if _, err := vc.campaign(in.pub, in.config, in.sig, tax); !errors.Is(err, ErrCampaignSignature) {
			t.Errorf("%s: %v, want ErrCampaignSignature", name, err)
		}
	}

	cat := []byte(`{"creatives":[]}`)
	catSig := ed25519.Sign(priv, append([]byte(catalogueContext), cat...))
	for i := range 2 { // verified, then a hit
		if !vc.catalogue(pub, cat, catSig) {
			t.Fatalf("check %d: a signed catalogue does not verify", i+1)
		}
	}
	// A campaign config's signature is not a catalogue's, cached or not.
	if vc.catalogue(pub, config, sig) || vc.catalogue(otherPub, cat, catSig) || vc.catalogue(pub, append(cat, ' '), catSig) {
		t.Fatal("the catalogue check took a signature it should refuse")
	}
}

// TestVerifyCacheBounded: past its bounds the cache forgets, and a
// forgotten config verifies again in full.
func TestVerifyCacheBounded(t *testing.T) {
	vc := newVerifyCache()
	for i := range verifyCacheEntries + 10 {
		if _, err := vc.spec([]byte(`{"id":"c` + strings.Repeat("x", i%7) + `","k":` + strconv.Itoa(i) + `}`)); err != nil {
			t.Fatal(err)
		}
	}
	if n := vc.count(parsedSpec); n != verifyCacheEntries {
		t.Fatalf("%d entries, want the bound %d", n, verifyCacheEntries)
	}
	big := make([]byte, verifyCacheBytes/16+1)
	vc.put(parsedSpec, nil, big, Campaign{})
	if _, ok := vc.get(parsedSpec, nil, big); ok {
		t.Fatal("an entry over the size bound was kept")
	}
	for range 20 {
		vc.put(parsedSpec, nil, big[:verifyCacheBytes/16], Campaign{})
		big[0]++
	}
	if vc.size > verifyCacheBytes {
		t.Fatalf("%d bytes held, bound %d", vc.size, verifyCacheBytes)
	}
}
