package host

import (
	"context"
	"testing"
	"time"
)

// BenchmarkDeviceRecordEvent: one event, one durable transaction (WAL,
// synchronous=FULL: an fsync per call).
func BenchmarkDeviceRecordEvent(b *testing.B) {
	ctx := context.Background()
	clock := newFakeClock()
	d, _ := readyDevice(b, b.TempDir(), clock, nil)
	defer d.Close(ctx)
	e := Event{Kind: kindWorkout, Code: codeRun, Time: clock.Now(), Value: 30}
	b.ResetTimer()
	for b.Loop() {
		if err := d.RecordEvent(ctx, "workouts", e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeviceRecordEvents100: a batch of 100 events in one transaction.
func BenchmarkDeviceRecordEvents100(b *testing.B) {
	ctx := context.Background()
	clock := newFakeClock()
	d, _ := readyDevice(b, b.TempDir(), clock, nil)
	defer d.Close(ctx)
	batch := make([]Event, 100)
	for i := range batch {
		batch[i] = Event{Kind: kindWorkout, Code: codeRun, Time: clock.Now().Add(-time.Duration(i) * time.Minute), Value: 1}
	}
	b.ResetTimer()
	for b.Loop() {
		if err := d.RecordEvents(ctx, "workouts", batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeviceScorePass: a scheduler pass that scores one plugin over a
// week of events (about 700) and updates the profile; no aggregator.
func BenchmarkDeviceScorePass(b *testing.B) {
	ctx := context.Background()
	clock := newFakeClock()
	d, _ := readyDevice(b, b.TempDir(), clock, nil)
	defer d.Close(ctx)
	week := make([]Event, 700)
	for i := range week {
		week[i] = Event{Kind: kindWorkout, Code: codeRun, Time: clock.Now().Add(-time.Duration(i) * 14 * time.Minute), Value: 1}
	}
	d.RecordEvents(ctx, "workouts", week)
	e := Event{Kind: kindWorkout, Code: codeRun, Time: clock.Now(), Value: 1}
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		d.RecordEvent(ctx, "workouts", e) // something new to score
		b.StartTimer()
		if sum, err := d.RunOnce(ctx); err != nil || sum.PluginsScored != 1 {
			b.Fatal(sum, err)
		}
	}
}

// BenchmarkDeviceStatus: the owner's whole view.
func BenchmarkDeviceStatus(b *testing.B) {
	ctx := context.Background()
	clock := newFakeClock()
	d, _ := readyDevice(b, b.TempDir(), clock, nil)
	defer d.Close(ctx)
	d.RunOnce(ctx)
	b.ResetTimer()
	for b.Loop() {
		if _, err := d.Status(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDevicePick: local relevance, caps and the impression record.
func BenchmarkDevicePick(b *testing.B) {
	ctx := context.Background()
	clock := newFakeClock()
	d, _ := readyDevice(b, b.TempDir(), clock, nil)
	defer d.Close(ctx)
	d.RunOnce(ctx)
	cat := testCatalogue()
	cat.Cap = FrequencyCap{}
	for i := range cat.Creatives {
		cat.Creatives[i].Cap = FrequencyCap{}
	}
	d.SetCatalogue(ctx, cat)
	b.ResetTimer()
	for b.Loop() {
		if _, err := d.Pick(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
