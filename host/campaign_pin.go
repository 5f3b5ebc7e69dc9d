package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/wisp-project/wisp/host/internal/devicestore"
)

// questionDigest is what a campaign consent is bound to: SHA-256 over the
// fields of a validated config that decide what the owner's answer
// reveals — the id, the question (type, category, minimum score, the
// categories in their order, k), ε per answer, the epoch length (how
// often ε is spent) and the mechanism. It leaves out what does not change
// that: the name, the version, the release threshold k, the report size
// and the mechanism's reason text; a prio3 campaign adds its mode,
// instance and helper (prio3Digest). So a new version that only renames a
// campaign keeps the owner's consent, and one that asks anything else
// does not. It is taken over the validated campaign (Validate fills in the
// mechanism and a top_k question's full category list), so two configs
// that ask the same thing have the same digest however they were written.
func questionDigest(c *Campaign) []byte {
	h := sha256.New()
	var b []byte
	str := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	u64 := func(v uint64) { b = binary.BigEndian.AppendUint64(b, v) }
	b = append(b, "wisp question digest v1\x00"...)
	str(c.ID)
	str(string(c.Question.Type))
	u64(uint64(c.Question.Category))
	u64(math.Float64bits(c.Question.MinScore))
	u64(uint64(len(c.Question.Categories)))
	for _, id := range c.Question.Categories {
		u64(uint64(id))
	}
	u64(uint64(c.Question.K))
	u64(math.Float64bits(c.Epsilon))
	u64(uint64(c.EpochSeconds))
	str(c.MechanismName)
	prio3Digest(c, str)        // prio3.go; nothing for an LDP campaign
	reportTokensDigest(c, str) // reporttokens.go; nothing without report tokens
	h.Write(b)
	return h.Sum(nil)
}

// pinnedCampaign is a campaign config the device verified and keeps under
// its id.
type pinnedCampaign struct {
	Campaign
	digest    []byte    // questionDigest
	served    bool      // in the aggregator's last list
	refusedAt time.Time // last refusal of another config under this id and version
}

// agreedTo reports whether the owner's consent to c covers the question c
// asks now: granted, and bound to c's question digest.
func agreedTo(agreed map[string][]byte, c *pinnedCampaign) bool {
	d, ok := agreed[c.ID]
	return ok && bytes.Equal(d, c.digest)
}

// pinned returns every pinned campaign by id, served or not.
func (d *Device) pinned(ctx context.Context) ([]pinnedCampaign, error) {
	rows, err := d.store.Campaigns(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]pinnedCampaign, 0, len(rows))
	for _, r := range rows {
		c, err := d.decodePin(r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// pinnedByID returns the campaign pinned under id, served or not
// (devicestore.ErrNotFound if none): one row read and decoded.
func (d *Device) pinnedByID(ctx context.Context, id string) (pinnedCampaign, error) {
	r, err := d.store.CampaignByID(ctx, id)
	if err != nil {
		return pinnedCampaign{}, err
	}
	return d.decodePin(r)
}

// decodePin decodes a pinned campaign's stored row.
func (d *Device) decodePin(r devicestore.Campaign) (pinnedCampaign, error) {
	c, err := d.cfg.verified.spec(r.Spec)
	if err != nil {
		return pinnedCampaign{}, fmt.Errorf("host: cached campaign %q: %w", r.ID, err)
	}
	digest := r.Digest
	if digest == nil {
		digest = questionDigest(&c)
	}
	return pinnedCampaign{Campaign: c, digest: digest, served: r.Served, refusedAt: r.RefusedAt}, nil
}

// campaigns returns the pinned campaigns the aggregator still serves: the
// ones the device answers and shows.
func (d *Device) campaigns(ctx context.Context) ([]pinnedCampaign, error) {
	all, err := d.pinned(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, c := range all {
		if c.served {
			out = append(out, c)
		}
	}
	return out, nil
}

// pin applies a fetched list of verified campaigns to the pinned ones.
// The first config verified for an id is kept; it is replaced only by a
// config of a higher version. A different config under the same id and
// version, or one of a lower version, is refused (and the refusal shown in
// Status): whoever holds the signing key — a compromised aggregator, or
// whoever stole the key — cannot swap the question under an id the owner
// agreed to. A higher version is taken, but the owner's consent is bound
// to the question it was given for, so a version that asks something else
// is not answered until the owner agrees again. meta are the store's named
// values the fetch brought, committed with the pins.
func (d *Device) pin(ctx context.Context, fetched []Campaign, now time.Time, meta map[string][]byte) error {
	rows, err := d.store.Campaigns(ctx)
	if err != nil {
		return err
	}
	pins := make(map[string]devicestore.Campaign, len(rows))
	for _, r := range rows {
		pins[r.ID] = r
	}
	sync := devicestore.CampaignSync{Meta: meta}
	for i := range fetched {
		c := &fetched[i]
		spec, err := json.Marshal(c)
		if err != nil {
			return err
		}
		sync.Served = append(sync.Served, c.ID)
		pin, ok := pins[c.ID]
		switch {
		case !ok || c.Version > pin.Version:
			row := devicestore.Campaign{ID: c.ID, Spec: spec, Fetched: now, Version: c.Version, Digest: questionDigest(c)}
			sync.Put, pins[c.ID] = append(sync.Put, row), row
		case c.Version == pin.Version && sameSpec(pin.Spec, spec):
			// unchanged
		default:
			sync.Refused = append(sync.Refused, c.ID)
		}
	}
	return d.store.SyncCampaigns(ctx, sync, now)
}

// sameSpec compares a pinned spec with a fetched one, re-encoding the
// pinned one first so that a field this version added (and omits when
// empty) does not count as a change. Equal bytes — the spec this version
// pinned, fetched again — need no re-encoding.
func sameSpec(pinned, fetched []byte) bool {
	if bytes.Equal(pinned, fetched) {
		return true
	}
	var c Campaign
	if err := json.Unmarshal(pinned, &c); err != nil {
		return false
	}
	b, err := json.Marshal(&c)
	return err == nil && bytes.Equal(b, fetched)
}

// bindLegacyConsents records the question digest of campaigns cached
// before digests were, and binds the campaign consents given before then
// to them: an owner who agreed before this version agreed to the config
// the device had when it was upgraded (Open runs this before any sync).
// A consent given before the device knew its campaign at all is bound to
// the first config the device verifies for it (pin).
func (d *Device) bindLegacyConsents(ctx context.Context) error {
	rows, err := d.store.Campaigns(ctx)
	if err != nil {
		return err
	}
	digests := map[string][]byte{}
	for _, r := range rows {
		if r.Digest != nil {
			continue
		}
		var c Campaign
		if err := json.Unmarshal(r.Spec, &c); err != nil {
			continue // an unreadable row is never answered
		}
		digests[r.ID] = questionDigest(&c)
	}
	return d.store.SetCampaignDigests(ctx, digests)
}
