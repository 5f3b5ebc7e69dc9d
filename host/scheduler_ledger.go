package host

import (
	"context"
	"errors"
	"time"

	"github.com/wisp-project/wisp/host/internal/ledger"
)

// LedgerDB is the name of the privacy budget ledger's database file in a
// device's directory (host/internal/ledger). It is a separate file from
// DeviceDB so the ledger's one rule — the spend is durable before the
// report exists — does not depend on the device store.
const LedgerDB = "ledger.db"

// spend charges one answer to the ledger: the campaign's ε, within its
// per-epoch budget (one answer per epoch) and the device's 24-hour cap. It
// returns errAlreadyAnswered or an error wrapping ledger.ErrOverBudget
// when the budget refuses.
func (d *Device) spend(ctx context.Context, campaign string, epoch uint32, epsilon float64) error {
	_, err := d.ledger.Spend(ctx, ledger.Charge{Campaign: campaign, Epoch: epoch, Epsilon: epsilon, EpochBudget: epsilon})
	return err
}

// answeredEpoch reports whether the ledger holds a spend for campaign in
// epoch: the device's first line against answering an epoch twice.
func (d *Device) answeredEpoch(ctx context.Context, campaign string, epoch uint32, epsilon float64) (bool, error) {
	b, err := d.ledger.Remaining(ctx, campaign, epoch, epsilon)
	return b.Spent > 0, err
}

// spentPerCampaign sums the ledger's entries per campaign, all epochs.
func (d *Device) spentPerCampaign(ctx context.Context) (map[string]float64, error) {
	entries, err := d.ledger.Entries(ctx, time.Time{})
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, e := range entries {
		out[e.Campaign] += e.Epsilon
	}
	return out, nil
}

func overBudget(err error) bool { return errors.Is(err, ledger.ErrOverBudget) }
