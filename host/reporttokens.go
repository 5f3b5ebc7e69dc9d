package host

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/wisp-project/wisp/host/internal/devicestore"
	"github.com/wisp-project/wisp/internal/privpass"
)

// Report tokens on the device (issue 16 item 7; docs/DEVICE.md "Report
// tokens"). A campaign whose signed config has report_tokens takes a
// report only with a Privacy Pass token its issuer signed, blind, for the
// report's campaign epoch: one per device and epoch. The device fetches it
// after the ledger charge — in the pass that answered, for a report whose
// send delay has not passed (prefetchTokens), else when the report is
// about to leave — so a failed fetch leaves the report queued and charges
// nothing twice; it keeps the token with the report in the outbox and
// sends the same token with every upload of that report. The issuer sees
// the device (its credential) and the campaign epoch, not the report; the
// aggregator sees the token, which the issuer cannot link to the issuance
// (blind signature), nor by time: the two are the send delay apart.

// reportTokensDigest is what questionDigest adds for a campaign with
// report tokens: the issuer, which learns that this device answers this
// campaign each epoch. The owner agreed knowing who learns that; a version
// that adds tokens or changes the issuer asks again. Nothing is added
// without tokens, so other digests, and the consents bound to them, are
// unchanged.
func reportTokensDigest(c *Campaign, str func(string)) {
	if !c.RequiresTokens() {
		return
	}
	str("report_tokens")
	str(c.ReportTokens.IssuerURL)
	str(c.ReportTokens.IssuerName)
}

// issuerHost names, for the owner, the issuer of c's report tokens ("":
// none): the host of its URL.
func issuerHost(c *Campaign) string {
	if !c.RequiresTokens() {
		return ""
	}
	if u, err := url.Parse(c.ReportTokens.IssuerURL); err == nil && u.Host != "" {
		return u.Host
	}
	return c.ReportTokens.IssuerURL
}

// takesTokens reports whether the device can answer c: a campaign that
// requires report tokens needs the device maker's credential.
func (d *Device) takesTokens(c *Campaign) bool {
	return !c.RequiresTokens() || d.cfg.credential != nil
}

// reportToken is the Authorization header value a queued report goes
// with: "" when its campaign takes none (dummies are sent only for those,
// scheduler.go). The first time, the token is fetched from the campaign's
// issuer and stored with the report.
func (d *Device) reportToken(ctx context.Context, r *devicestore.Report, now time.Time) (string, error) {
	if r.Token != nil {
		t, err := privpass.ParseToken(r.Token)
		if err != nil {
			return "", fmt.Errorf("host: stored report token: %w", err)
		}
		return privpass.AuthorizationHeader(&t), nil
	}
	pin, err := d.pinnedByID(ctx, r.Campaign)
	if errors.Is(err, devicestore.ErrNotFound) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	c := &pin.Campaign
	if !c.RequiresTokens() {
		return "", nil
	}
	if d.cfg.credential == nil {
		return "", fmt.Errorf("host: campaign %q requires report tokens and the device has no credential", c.ID)
	}
	cred := d.cfg.credential
	t, err := privpass.FetchToken(ctx, d.client.direct(), c.ReportTokens.IssuerURL, c.ReportTokens.IssuerName, cred.cred, cred.key, c.ID, r.Epoch, now)
	if err != nil {
		return "", fmt.Errorf("host: report token for %s epoch %d: %w", c.ID, r.Epoch, err)
	}
	r.Token = t.Marshal()
	if err := d.store.SetReportToken(ctx, r.ID, r.Token); err != nil {
		return "", err
	}
	return privpass.AuthorizationHeader(&t), nil
}

// prefetchTokens fetches now the tokens of queued reports whose send delay
// has not passed: were a token fetched only as its report leaves, an
// issuer and an aggregator pooling their logs could pair each issuance
// with the redemption that follows it by a few milliseconds. Fetched at
// answer time, every issuance of a pass happens at one moment and each
// redemption a random send delay later. A failed fetch is tried again at
// the next pass, and as the report leaves (reportToken). Like any egress
// it waits for the egress lock and does nothing while sharing is paused.
func (d *Device) prefetchTokens(ctx context.Context, now time.Time) error {
	if d.client == nil || d.cfg.credential == nil {
		return nil
	}
	d.egress.Lock()
	defer d.egress.Unlock()
	if paused, _, err := d.sharingPaused(ctx); err != nil || paused {
		return err
	}
	queued, err := d.store.Queued(ctx)
	if err != nil {
		return err
	}
	for i := range queued {
		r := &queued[i]
		if r.Token != nil || r.Dummy || r.InFlight || !r.NotBefore.After(now) {
			continue // has one, needs none, is leaving, or is due: it is fetched as it leaves
		}
		d.reportToken(ctx, r, now) // an unreachable issuer is asked again later
	}
	return nil
}
