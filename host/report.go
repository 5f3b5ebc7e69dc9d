package host

import (
	"crypto/rand"
	"fmt"
	"io"

	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/wire"
)

// Reporter turns a device's local scores into the one thing that may leave
// it: a randomized, padded, sealed report for a campaign the owner
// consented to. Scores, events and the true answer stay on the device.
type Reporter struct {
	// Key is the aggregator's HPKE configuration to seal to.
	Key KeyConfig
	// Entropy feeds HPKE and report ids; nil means crypto/rand.
	Entropy io.Reader
}

// Report answers c for epoch from scores: evaluate the question, randomize
// the answer with the campaign's ε-LDP mechanism using the operating
// system's secure randomness, encode, pad and seal. It works for every
// question type (threshold, top_k, mean); it does not memoize — a device
// answering the same campaign every epoch goes through its scheduler,
// which does. A prio3 campaign is not randomized: its scheduler shards the
// true answer (prio3.go), and Report refuses it.
func (r *Reporter) Report(c *Campaign, epoch uint32, scores map[uint32]float32) (Envelope, error) {
	codec, err := c.Codec()
	if err != nil {
		return Envelope{}, fmt.Errorf("host: %w", err)
	}
	return r.ReportWith(c, codec, epoch, scores)
}

// ReportWith is Report with the campaign's codec built once by the caller
// (c.Codec()), for a caller answering one campaign many times.
func (r *Reporter) ReportWith(c *Campaign, codec *Codec, epoch uint32, scores map[uint32]float32) (Envelope, error) {
	answer, err := codec.Randomize(codec.Truth(scores), ldp.NewCryptoRand())
	if err != nil {
		return Envelope{}, fmt.Errorf("host: campaign %q: %w", c.ID, err)
	}
	return r.seal(c, epoch, wire.Payload{Mechanism: codec.Mechanism(), Answer: answer})
}

// seal gives a payload a fresh report id and seals it for c and epoch.
func (r *Reporter) seal(c *Campaign, epoch uint32, p wire.Payload) (Envelope, error) {
	entropy := r.Entropy
	if entropy == nil {
		entropy = rand.Reader
	}
	e := Envelope{Version: wire.Version, Mode: wire.ModeLDP, Campaign: c.ID, Epoch: epoch}
	if _, err := io.ReadFull(entropy, e.ID[:]); err != nil {
		return Envelope{}, fmt.Errorf("host: report id: %w", err)
	}
	if err := wire.Seal(r.Key, &e, p, c.PaddedSize(), entropy); err != nil {
		return Envelope{}, fmt.Errorf("host: campaign %q: %w", c.ID, err)
	}
	return e, nil
}
