package host

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Purpose is something the owner opts in to: running a plugin on their
// events, or answering a campaign. Every purpose is off until granted.
type Purpose struct {
	Kind PurposeKind `json:"kind"`
	ID   string      `json:"id"` // plugin name or campaign id
}

// PurposeKind says what a purpose covers.
type PurposeKind string

// Purpose kinds.
const (
	// PurposePlugin: record events for the plugin and let it score them.
	PurposePlugin PurposeKind = "plugin"
	// PurposeCampaign: answer the campaign (send DP reports about it).
	PurposeCampaign PurposeKind = "campaign"
)

// PluginPurpose is the purpose of running plugin name.
func PluginPurpose(name string) Purpose { return Purpose{Kind: PurposePlugin, ID: name} }

// CampaignPurpose is the purpose of answering campaign id.
func CampaignPurpose(id string) Purpose { return Purpose{Kind: PurposeCampaign, ID: id} }

// String is the purpose's stored form, "plugin:<name>" or "campaign:<id>".
func (p Purpose) String() string { return string(p.Kind) + ":" + p.ID }

// ParsePurpose is the inverse of String.
func ParsePurpose(s string) (Purpose, error) {
	kind, id, ok := strings.Cut(s, ":")
	p := Purpose{Kind: PurposeKind(kind), ID: id}
	if !ok || id == "" || (p.Kind != PurposePlugin && p.Kind != PurposeCampaign) {
		return Purpose{}, fmt.Errorf("host: purpose %q is not plugin:<name> or campaign:<id>", s)
	}
	return p, nil
}

// ConsentChange is one entry of the owner's consent history.
type ConsentChange struct {
	Purpose Purpose   `json:"purpose"`
	Granted bool      `json:"granted"`
	Erased  bool      `json:"erased,omitempty"`
	At      time.Time `json:"at"`
}

// Grant opts the owner in to each purpose given, in one transaction: all
// of them or, on an error, none. Granting a plugin requires it to be
// installed. Granting a campaign agrees to the question the device holds
// for it now (Status shows it, with its QuestionDigest): a later version
// of the campaign that asks something else is not answered until the
// owner grants again. A campaign may be granted before the device has
// fetched it; the consent then covers the first config the device
// verifies for the id.
func (d *Device) Grant(ctx context.Context, ps ...Purpose) error {
	if !d.gate.enter() {
		return ErrDeviceClosed
	}
	defer d.gate.leave()
	purposes := make([]string, len(ps))
	for i, p := range ps {
		if p.Kind == PurposePlugin {
			if _, ok := d.installed(ctx, p.ID); !ok {
				return fmt.Errorf("%w: %q", ErrUnknownPlugin, p.ID)
			}
		}
		if _, err := ParsePurpose(p.String()); err != nil {
			return err
		}
		purposes[i] = p.String()
	}
	return d.store.GrantAll(ctx, purposes, d.now())
}

// Revoke opts the owner out of p, effective at once: when Revoke returns,
// no report for the purpose is on the wire and none will leave — queued
// reports of a revoked campaign are dropped, and so are queued reports
// about a revoked plugin's categories, which may derive from its scores.
// With erase, a plugin's events and interests are erased too. The ε
// already spent on dropped reports is not refunded: the ledger only ever
// over-counts.
func (d *Device) Revoke(ctx context.Context, p Purpose, erase bool) error {
	if !d.gate.enter() {
		return ErrDeviceClosed
	}
	defer d.gate.leave()
	if _, err := ParsePurpose(p.String()); err != nil {
		return err
	}
	// Wait for an upload in progress to finish, so that nothing of this
	// purpose is in flight once we return.
	d.egress.Lock()
	defer d.egress.Unlock()
	return d.store.SetConsent(ctx, p.String(), false, erase, d.now())
}

// ConsentHistory returns every consent change the owner made, oldest
// first.
func (d *Device) ConsentHistory(ctx context.Context) ([]ConsentChange, error) {
	if !d.gate.enter() {
		return nil, ErrDeviceClosed
	}
	defer d.gate.leave()
	rows, err := d.store.ConsentHistory(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ConsentChange, 0, len(rows))
	for _, r := range rows {
		p, err := ParsePurpose(r.Purpose)
		if err != nil {
			return nil, err
		}
		out = append(out, ConsentChange{Purpose: p, Granted: r.Granted, Erased: r.Erased, At: r.At})
	}
	return out, nil
}
