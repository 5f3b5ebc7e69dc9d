package host

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/wisp-project/wisp/host/internal/devicestore"
)

// Event is one local observation recorded for a plugin: Kind and Code are
// the plugin's own vocabulary (declared with its manifest, e.g. kind 3 =
// workout, code 1 = run), Value is the measurement (steps, minutes, bpm).
// Events stay on the device; the plugin sees them, nothing else does.
type Event struct {
	Kind  uint32    `json:"kind"`
	Code  uint32    `json:"code"`
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// RecordEvent stores one event for plugin. See RecordEvents.
func (d *Device) RecordEvent(ctx context.Context, plugin string, e Event) error {
	return d.RecordEvents(ctx, plugin, []Event{e})
}

// RecordEvents stores events for plugin in one transaction. It refuses
// (ErrNoConsent) events for a plugin the owner has not opted in to: data
// the owner did not agree to is not collected, not even locally. Events
// older than the plugin's retention are dropped on arrival, events from the
// future (more than a day ahead of the device clock) and non-finite values
// are refused with ErrBadEvent. The consent check and the insert are one
// transaction, so no event is stored after a revocation returns. The next
// scheduler pass scores them.
func (d *Device) RecordEvents(ctx context.Context, plugin string, events []Event) error {
	if !d.gate.enter() {
		return ErrDeviceClosed
	}
	defer d.gate.leave()
	now := d.now()
	keep := make([]devicestore.Event, 0, len(events))
	for i, e := range events {
		switch {
		case math.IsNaN(e.Value) || math.IsInf(e.Value, 0):
			return fmt.Errorf("%w: event %d: value %v", ErrBadEvent, i, e.Value)
		case e.Time.IsZero() || e.Time.After(now.Add(24*time.Hour)):
			return fmt.Errorf("%w: event %d: time %v (device clock %v)", ErrBadEvent, i, e.Time, now)
		}
		keep = append(keep, devicestore.Event{Kind: e.Kind, Code: e.Code, At: e.Time, Value: e.Value})
	}
	_, err := d.store.AddEvents(ctx, plugin, keep, now)
	switch {
	case errors.Is(err, devicestore.ErrNotFound):
		return fmt.Errorf("%w: %q", ErrUnknownPlugin, plugin)
	case errors.Is(err, devicestore.ErrRevoked):
		return fmt.Errorf("%w: plugin %q", ErrNoConsent, plugin)
	}
	return err
}
