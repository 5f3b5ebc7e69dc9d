package host

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/cloudflare/circl/sign/ed25519"

	"github.com/wisp-project/wisp/internal/api"
)

// Campaigns fetches the aggregator's signed campaign configs and returns
// those that verify under signingKey — the aggregator's Ed25519 key, which
// the device maker provisions; never the key the aggregator itself
// advertises, or a man in the middle could sign its own questions — and
// validate against tax. Configs that fail are returned as errors in bad
// (wrapping ErrCampaignSignature or ErrCampaignInvalid) and must not be
// answered; one bad config does not hide the good ones.
func (c *Client) Campaigns(ctx context.Context, signingKey ed25519.PublicKey, tax *Taxonomy) (good []Campaign, bad []error, err error) {
	return c.campaigns(ctx, signingKey, tax, nil)
}

// campaigns is Campaigns checking each config through vc (nil: no cache).
func (c *Client) campaigns(ctx context.Context, signingKey ed25519.PublicKey, tax *Taxonomy, vc *verifyCache) (good []Campaign, bad []error, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/v1/campaign-configs", nil)
	if err != nil {
		return nil, nil, err
	}
	body, err := c.do(req)
	if err != nil {
		return nil, nil, err
	}
	var list api.SignedCampaignList
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, nil, fmt.Errorf("host: campaigns: %w", err)
	}
	for i, s := range list.Campaigns {
		camp, err := vc.campaign(signingKey, s.Config, s.Signature, tax)
		if err != nil {
			bad = append(bad, fmt.Errorf("host: campaign config %d: %w", i, err))
			continue
		}
		good = append(good, camp)
	}
	return good, bad, nil
}
