package host

import "context"

// ForgetInterest erases, at the owner's request, one inferred interest:
// its score from every plugin's profile and the queued reports that may
// derive from it. The events stay, so a plugin that sees new activity of
// that kind may infer it again; revoking the plugin stops that.
func (d *Device) ForgetInterest(ctx context.Context, category uint32) error {
	if !d.gate.enter() {
		return ErrDeviceClosed
	}
	defer d.gate.leave()
	d.egress.Lock() // nothing derived from it is on the wire once we return
	defer d.egress.Unlock()
	return d.store.ForgetInterest(ctx, category, d.now())
}

// AggregatorURL is the aggregator the device fetches campaigns from and
// sends its reports to ("" if none): what the owner is told reports go to.
func (d *Device) AggregatorURL() string { return d.cfg.aggregatorURL }
