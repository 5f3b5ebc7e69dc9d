package campaign_test

import (
	"crypto/rand"
	"errors"
	"reflect"
	"testing"

	"github.com/cloudflare/circl/sign/ed25519"

	"github.com/wisp-project/wisp/internal/campaign"
)

func TestSignVerify(t *testing.T) {
	tx := tax(t)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	c := campaign.Campaign{ID: "runners", Name: "Runners", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.6},
		Epsilon: 1, EpochSeconds: 3600, K: 100}
	if err := c.Validate(tx); err != nil { // as the aggregator does before signing
		t.Fatal(err)
	}
	config, sig, err := campaign.Sign(&c, priv)
	if err != nil {
		t.Fatal(err)
	}
	got, err := campaign.Verify(pub, config, sig, tx)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, c)
	}
	tampered := append([]byte(nil), config...)
	tampered[len(tampered)-2] ^= 1
	invalid := campaign.Campaign{ID: "x", Question: campaign.Question{Type: "threshold", Category: 1, MinScore: 0.5}, Epsilon: 1, EpochSeconds: 3600, K: 1}
	invalidConfig, invalidSig, _ := campaign.Sign(&invalid, priv)
	for _, tc := range []struct {
		name        string
		pub         ed25519.PublicKey
		config, sig []byte
		want        error
	}{
		{"other key", otherPub, config, sig, campaign.ErrSignature},
		{"tampered config", pub, tampered, sig, campaign.ErrSignature},
		{"no signature", pub, config, nil, campaign.ErrSignature},
		{"short key", pub[:5], config, sig, campaign.ErrSignature},
		{"signed but invalid", pub, invalidConfig, invalidSig, campaign.ErrInvalid},
	} {
		if _, err := campaign.Verify(tc.pub, tc.config, tc.sig, tx); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
