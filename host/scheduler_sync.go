package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cloudflare/circl/sign/ed25519"
	"net/http"
	"strconv"
	"time"

	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/devicestore"
	"github.com/wisp-project/wisp/internal/wire"
)

// Meta keys in the device store.
const (
	metaKeyConfigs  = "hpke-configs" // CBOR wire.KeyConfigList
	metaSyncedAt    = "synced-at"    // Unix ms of the last successful sync
	metaCampaignKey = "campaign-key" // the pinned Ed25519 campaign-signing key
)

// sync fetches the aggregator's campaigns and HPKE configs when they are
// older than the sync interval. Both are cached in the store, so a device
// that cannot reach the aggregator keeps answering with what it has.
func (d *Device) sync(ctx context.Context, now time.Time, force bool) error {
	if d.client == nil {
		return nil
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
	rows := make([]devicestore.Campaign, 0, len(list))
	for _, c := range list {
		spec, err := json.Marshal(c)
		if err != nil {
			return err
		}
		rows = append(rows, devicestore.Campaign{ID: c.ID, Spec: spec, Fetched: now})
	}
	if err := d.store.PutCampaigns(ctx, rows); err != nil {
		return err
	}
	if err := d.store.SetMeta(ctx, metaKeyConfigs, keyBytes); err != nil {
		return err
	}
	return d.store.SetMeta(ctx, metaSyncedAt, []byte(strconv.FormatInt(now.UnixMilli(), 10)))
}

// signedCampaigns is the body of GET /v1/campaign-configs: each campaign's
// exact JSON bytes and the aggregator's Ed25519 signature over them.
type signedCampaigns struct {
	Campaigns []struct {
		Config    []byte `json:"config"`
		Signature []byte `json:"signature"`
	} `json:"campaigns"`
}

// signingKey is the body of GET /v1/campaign-signing-key.
type signingKey struct {
	Algorithm string `json:"alg"`
	PublicKey []byte `json:"public_key"`
}

// fetchCampaigns reads the signed campaign configs and keeps those that
// verify under the pinned key and validate against the device's taxonomy.
// A campaign that fails is skipped, never answered.
func (d *Device) fetchCampaigns(ctx context.Context) ([]campaign.Campaign, error) {
	pub, err := d.campaignKey(ctx)
	if err != nil {
		return nil, err
	}
	var list signedCampaigns
	if err := d.getJSON(ctx, "/v1/campaign-configs", &list); err != nil {
		return nil, err
	}
	var out []campaign.Campaign
	for _, sc := range list.Campaigns {
		c, err := campaign.Verify(pub, sc.Config, sc.Signature, d.tax)
		if err != nil {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// campaignKey returns the configured key, or the key pinned on first
// contact, fetching and pinning it if there is none yet.
func (d *Device) campaignKey(ctx context.Context) (ed25519.PublicKey, error) {
	if len(d.cfg.campaignKey) > 0 {
		return ed25519.PublicKey(d.cfg.campaignKey), nil
	}
	if b, err := d.store.Meta(ctx, metaCampaignKey); err == nil {
		return ed25519.PublicKey(b), nil
	} else if !errors.Is(err, devicestore.ErrNotFound) {
		return nil, err
	}
	var k signingKey
	if err := d.getJSON(ctx, "/v1/campaign-signing-key", &k); err != nil {
		return nil, err
	}
	if k.Algorithm != "Ed25519" || len(k.PublicKey) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("host: aggregator campaign key: %q key of %d bytes", k.Algorithm, len(k.PublicKey))
	}
	if err := d.store.SetMeta(ctx, metaCampaignKey, k.PublicKey); err != nil {
		return nil, err
	}
	return ed25519.PublicKey(k.PublicKey), nil
}

func (d *Device) getJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.client.BaseURL+path, nil)
	if err != nil {
		return err
	}
	body, err := d.client.do(req)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("host: GET %s: %w", path, err)
	}
	return nil
}

// campaigns returns the cached campaigns.
func (d *Device) campaigns(ctx context.Context) ([]campaign.Campaign, error) {
	rows, err := d.store.Campaigns(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]campaign.Campaign, 0, len(rows))
	for _, r := range rows {
		var c campaign.Campaign
		if err := json.Unmarshal(r.Spec, &c); err != nil {
			return nil, fmt.Errorf("host: cached campaign %q: %w", r.ID, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// keyConfig returns the cached HPKE config to seal to.
func (d *Device) keyConfig(ctx context.Context) (wire.KeyConfig, bool, error) {
	b, err := d.store.Meta(ctx, metaKeyConfigs)
	if errors.Is(err, devicestore.ErrNotFound) {
		return wire.KeyConfig{}, false, nil
	} else if err != nil {
		return wire.KeyConfig{}, false, err
	}
	list, err := wire.DecodeKeyConfigList(b)
	if err != nil || len(list.Configs) == 0 {
		return wire.KeyConfig{}, false, err
	}
	return list.Configs[0], true, nil
}
