package host

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/cloudflare/circl/sign/ed25519"

	"github.com/wisp-project/wisp/host/internal/devicestore"
	"github.com/wisp-project/wisp/internal/wire"
)

// Meta keys in the device store.
const (
	metaKeyConfigs = "hpke-configs" // CBOR KeyConfigList
	metaSyncedAt   = "synced-at"    // Unix ms of the last successful sync
)

// Sync fetches the aggregator's campaigns and HPKE configs now, instead of
// at the next scheduler pass after the sync interval (6 hours by default).
// Campaigns that do not verify under the campaign-signing key are dropped.
// Without an aggregator, or while sharing is paused, it does nothing.
func (d *Device) Sync(ctx context.Context) error {
	if !d.gate.enter() {
		return ErrDeviceClosed
	}
	defer d.gate.leave()
	if d.client == nil {
		return nil
	}
	d.run.Lock()
	defer d.run.Unlock()
	return d.sync(ctx, d.now(), true)
}

// sync fetches the aggregator's campaigns and HPKE configs when they are
// older than the sync interval. Both are cached in the store, so a device
// that cannot reach the aggregator keeps answering with what it has;
// campaigns are pinned per id (pin), so a fetch cannot swap a question.
func (d *Device) sync(ctx context.Context, now time.Time, force bool) error {
	if d.client == nil {
		return nil
	}
	if paused, _, err := d.sharingPaused(ctx); err != nil || paused {
		return err // the owner paused sharing: not even a fetch leaves
	}
	if !force {
		if b, err := d.store.Meta(ctx, metaSyncedAt); err == nil {
			if at, err := strconv.ParseInt(string(b), 10, 64); err == nil && now.Sub(time.UnixMilli(at)) < d.cfg.syncEvery {
				return nil
			}
		}
	}
	keys, err := d.client.KeyConfigs(ctx)
	if err != nil {
		return err
	}
	list, err := d.fetchCampaigns(ctx)
	if err != nil {
		return err
	}
	keyBytes, err := wire.Marshal(keys)
	if err != nil {
		return err
	}
	return d.pin(ctx, list, now, map[string][]byte{
		metaKeyConfigs: keyBytes,
		metaSyncedAt:   []byte(strconv.FormatInt(now.UnixMilli(), 10)),
	})
}

// ErrNoCampaignKey: the device has no aggregator campaign-signing key to
// verify campaigns with (DeviceConfig.WithCampaignKey), so it answers none.
var ErrNoCampaignKey = errors.New("host: no campaign-signing key configured")

// fetchCampaigns reads the signed campaign configs and keeps those that
// verify under the provisioned key and validate against the device's
// taxonomy. A campaign that fails is skipped, never answered.
func (d *Device) fetchCampaigns(ctx context.Context) ([]Campaign, error) {
	pub, err := d.campaignKey()
	if err != nil {
		return nil, err
	}
	good, _, err := d.client.campaigns(ctx, pub, d.tax, d.cfg.verified)
	return good, err
}

// campaignKey is the aggregator's campaign-signing key the device maker
// provisioned. The device never takes the key the aggregator advertises:
// whoever sits between them could then sign its own questions.
func (d *Device) campaignKey() (ed25519.PublicKey, error) {
	if len(d.cfg.campaignKey) != ed25519.PublicKeySize {
		return nil, ErrNoCampaignKey
	}
	return ed25519.PublicKey(d.cfg.campaignKey), nil
}

// keyConfig returns the cached HPKE config to seal to.
func (d *Device) keyConfig(ctx context.Context) (KeyConfig, bool, error) {
	b, err := d.store.Meta(ctx, metaKeyConfigs)
	if errors.Is(err, devicestore.ErrNotFound) {
		return KeyConfig{}, false, nil
	} else if err != nil {
		return KeyConfig{}, false, err
	}
	list, err := wire.DecodeKeyConfigList(b)
	if err != nil || len(list.Configs) == 0 {
		return KeyConfig{}, false, err
	}
	return list.Configs[0], true, nil
}
