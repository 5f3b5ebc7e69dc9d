package store

import (
	"bytes"
	"time"
)

// Report tokens (Privacy Pass, issue 16 item 7; migration 0006). An issuer
// records the one token it signed per (device, campaign, epoch); every
// aggregator records the token nonces it redeemed, each with the report
// that redeemed it.

// TokenClaim is one report's redemption of a report token's nonce in a
// campaign epoch.
type TokenClaim struct {
	Campaign string
	Epoch    uint32
	Nonce    []byte
	Report   ReportID
}

// Issuance is an issuer's record of the token it signed for a device in a
// campaign epoch: the SHA-256 of the blinded message.
type Issuance struct {
	Device   string
	Campaign string
	Epoch    uint32
	Blinded  []byte
	IssuedAt time.Time
}

// claimAll runs claim (insert if absent, then read the holder) for every
// claim and reports which are held by their own report. Claims keyed by
// report make a claim idempotent: a report that claimed its token and was
// then not stored (a crash, a failed commit) claims it again when resent,
// while no other report can use it.
func claimAll(claims []TokenClaim, claim func(c *TokenClaim) (holder []byte, err error)) ([]bool, error) {
	held := make([]bool, len(claims))
	for i := range claims {
		holder, err := claim(&claims[i])
		if err != nil {
			return nil, err
		}
		held[i] = bytes.Equal(holder, claims[i].Report[:])
	}
	return held, nil
}
