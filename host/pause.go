package host

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/wisp-project/wisp/host/internal/devicestore"
)

// metaPaused holds, while the owner has paused all sharing, the Unix ms
// at which they did; empty or absent when sharing runs.
const metaPaused = "sharing-paused"

// PauseSharing stops everything that leaves the device, at once and until
// ResumeSharing: when it returns no report is on the wire, and while the
// pause lasts the device fetches no campaigns, answers none (so it spends
// no privacy budget) and sends nothing. Local scoring goes on. Reports
// already queued stay queued (they leave after the pause unless they
// expire first). The pause is stored with the device and outlives a
// restart and Forget.
func (d *Device) PauseSharing(ctx context.Context) error {
	if !d.gate.enter() {
		return ErrDeviceClosed
	}
	defer d.gate.leave()
	d.egress.Lock() // wait for an upload in progress; none starts after
	defer d.egress.Unlock()
	if paused, _, err := d.sharingPaused(ctx); err != nil || paused {
		return err
	}
	return d.store.SetMeta(ctx, metaPaused, []byte(strconv.FormatInt(d.now().UnixMilli(), 10)))
}

// ResumeSharing ends a pause: the next scheduler pass fetches, answers and
// sends as before.
func (d *Device) ResumeSharing(ctx context.Context) error {
	if !d.gate.enter() {
		return ErrDeviceClosed
	}
	defer d.gate.leave()
	return d.store.SetMeta(ctx, metaPaused, []byte{})
}

// SharingPaused reports whether the owner paused all sharing, and since
// when.
func (d *Device) SharingPaused(ctx context.Context) (bool, time.Time, error) {
	if !d.gate.enter() {
		return false, time.Time{}, ErrDeviceClosed
	}
	defer d.gate.leave()
	return d.sharingPaused(ctx)
}

func (d *Device) sharingPaused(ctx context.Context) (bool, time.Time, error) {
	b, err := d.store.Meta(ctx, metaPaused)
	if errors.Is(err, devicestore.ErrNotFound) || (err == nil && len(b) == 0) {
		return false, time.Time{}, nil
	} else if err != nil {
		return false, time.Time{}, err
	}
	ms, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return true, time.UnixMilli(0).UTC(), nil // paused at an unreadable time: still paused
	}
	return true, time.UnixMilli(ms).UTC(), nil
}
