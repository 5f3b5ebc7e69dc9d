package host

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/prio"
	"github.com/wisp-project/wisp/internal/wire"
)

// A prio3 campaign (campaign.ModePrio3) is answered with the true answer,
// secret-shared: the device splits it into two Prio3 input shares with a
// proof of validity, seals one to the leader (the aggregator it uploads
// to, key from its /v1/hpke-config) and one to the helper (key from the
// signed config), and queues the report like an LDP envelope. Neither
// aggregator alone learns the answer; each adds central noise at the
// campaign's ε before a release. The ledger charges that ε per report,
// before sharding (answerOne), so the device's budgets bound what the
// releases that include its reports reveal.
//
// A consented prio3 campaign gets exactly one report per epoch, whether
// or not a consented plugin scores its categories: a device with no
// evidence sends the null measurement (all zeros), which is
// indistinguishable from a real one to each aggregator, so the report's
// existence says nothing about who holds the category. There are no
// dummy reports in prio3 mode: a dummy would be a valid report and count.

// answerPrio3 shards, seals and queues one prio3 report for c in epoch;
// the ledger has already charged it. leader is the leader's key config.
func (d *Device) answerPrio3(ctx context.Context, c *Campaign, leader KeyConfig, epoch uint32, scores map[uint32]float32, now time.Time) error {
	codec, err := c.Codec()
	if err != nil {
		return err
	}
	m, err := codec.Measurement(codec.Truth(scores))
	if err != nil {
		return err
	}
	r, err := sealPrio3(c, epoch, leader, m, entropyReader{d})
	if err != nil {
		return err
	}
	b, err := wire.EncodePrio3Report(&r)
	if err != nil {
		return err
	}
	if err := d.enqueueBytes(ctx, c, r.ID, epoch, b, false, now); err != nil {
		return err
	}
	return d.step("after-enqueue")
}

// sealPrio3 shards m for c (its instance, under AppContext(c.ID), so a
// report cannot be counted in another campaign) with the nonce and
// randomness read from entropy, and seals the leader's share to leader and
// the helper's to the config's helper key. The report id is the nonce.
func sealPrio3(c *Campaign, epoch uint32, leader KeyConfig, m prio.Measurement, entropy io.Reader) (wire.Prio3Report, error) {
	fail := func(err error) (wire.Prio3Report, error) {
		return wire.Prio3Report{}, fmt.Errorf("host: campaign %q: %w", c.ID, err)
	}
	p, err := c.Instance()
	if err != nil {
		return fail(err)
	}
	helper, err := c.Prio3.HelperKeyConfig()
	if err != nil {
		return fail(err)
	}
	client, err := prio.NewClient(p, prio.AppContext(c.ID))
	if err != nil {
		return fail(err)
	}
	rep, err := client.ShardFrom(m, entropy)
	if err != nil {
		return fail(err)
	}
	r, err := wire.SealPrio3(c.ID, epoch, rep, leader, helper)
	if err != nil {
		return fail(err)
	}
	return r, nil
}

// checkStored decodes a queued report of either mode (an LDP envelope or
// a Prio3 report), so the outbox keeps a record the disk corrupted from
// leaving.
func checkStored(b []byte) error {
	mode, err := wire.PeekMode(b)
	if err != nil {
		return err
	}
	if mode == wire.ModePrio3 {
		_, err = wire.DecodePrio3Report(b)
	} else {
		_, err = wire.DecodeEnvelope(b)
	}
	return err
}

// sharedWith names, for the owner, where a prio3 campaign's shares go:
// the leader (this device's aggregator) and the helper, by host name.
func (d *Device) sharedWith(c *Campaign) []string {
	if !c.IsPrio3() {
		return nil
	}
	name := func(raw string) string {
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			return u.Host
		}
		return raw
	}
	return []string{name(d.cfg.aggregatorURL), name(c.Prio3.HelperURL)}
}

// prio3Digest is what questionDigest adds for a prio3 campaign: the
// mode, the instance and the helper's URL. The owner agreed to a
// randomized answer to one aggregator, or to a secret-shared true answer
// to this leader and this helper; a new version that changes either asks
// again. It is appended only for prio3 campaigns, so LDP digests, and the
// consents bound to them, are unchanged.
func prio3Digest(c *Campaign, str func(string)) {
	if !c.IsPrio3() {
		return
	}
	str(campaign.ModePrio3)
	str(string(c.Prio3.Params))
	str(c.Prio3.HelperURL)
}
