package campaign

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cloudflare/circl/sign/ed25519"

	"github.com/wisp-project/wisp/internal/taxonomy"
)

// A campaign config travels signed by the aggregator, so a device answers
// only questions the aggregator registered (and validated against its
// policy), whoever relays the config. The signature covers a context string
// and the exact config bytes, so it cannot be replayed as a signature over
// anything else.
const signingContext = "wisp campaign config v1\x00"

// ErrSignature reports a signed config that does not verify.
var ErrSignature = errors.New("campaign: signature does not verify")

// Sign encodes c as JSON and signs the bytes with priv. It returns the
// signed bytes and the signature.
func Sign(c *Campaign, priv ed25519.PrivateKey) (config, signature []byte, err error) {
	config, err = json.Marshal(c)
	if err != nil {
		return nil, nil, fmt.Errorf("campaign: sign: %w", err)
	}
	return config, ed25519.Sign(priv, signedMessage(config)), nil
}

// Verify checks signature over config with the aggregator's public key,
// then decodes and validates the campaign against tax. Devices call it on
// every campaign they fetch and answer none that fails.
func Verify(pub ed25519.PublicKey, config, signature []byte, tax *taxonomy.Taxonomy) (Campaign, error) {
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, signedMessage(config), signature) {
		return Campaign{}, ErrSignature
	}
	var c Campaign
	if err := json.Unmarshal(config, &c); err != nil {
		return Campaign{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	// A config signed before report_epsilon existed is answered in one
	// layer, as the aggregator that signed it decodes it (a prio3 config
	// has no report_epsilon and no layers).
	c.legacy = c.ReportEpsilon == 0 && !c.IsPrio3()
	if err := c.Validate(tax); err != nil {
		return Campaign{}, err
	}
	return c, nil
}

func signedMessage(config []byte) []byte {
	return append([]byte(signingContext), config...)
}
