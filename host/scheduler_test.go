package host

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestDummyReportsLeaveAndCountForNothing: a dummy is sealed and sized like
// a real report; the aggregator opens it, finds no answer and stores
// nothing; it spends no budget.
func TestDummyReportsLeaveAndCountForNothing(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregator(t, clock)
	d, _ := readyDevice(t, t.TempDir(), clock, agg)
	d.cfg = d.cfg.WithDummyReports(1)
	if err := d.Revoke(ctx, CampaignPurpose("cyclists"), false); err != nil {
		t.Fatal(err)
	}
	sum, err := d.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Answered != 1 || sum.Dummies != 1 || sum.Sent != 2 {
		t.Fatalf("summary %+v, want 1 answered, 1 dummy, 2 sent", sum)
	}
	log, err := d.SentLog(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[Outcome]int{}
	sizes := map[int]bool{}
	for _, s := range log {
		outcomes[s.Outcome]++
		sizes[s.Size] = true
	}
	if outcomes["accepted"] != 1 || outcomes["dummy"] != 1 || len(sizes) != 1 {
		t.Errorf("log outcomes %v, sizes %v; want one accepted, one dummy, one size", outcomes, sizes)
	}
	if got := agg.stored(t, "runners", testCampaigns[0].Epoch(clock.Now())); got != 1 {
		t.Errorf("aggregator stored %d reports, want 1 (the dummy counts for nothing)", got)
	}
	if spent, _ := d.spentPerCampaign(ctx); spent["runners"] != 1 {
		t.Errorf("spent %v on runners, want 1", spent["runners"])
	}
}

// TestDeviceConcurrentUse hammers one device from several goroutines:
// events, passes, status, consent changes, picks (run with -race).
func TestDeviceConcurrentUse(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregator(t, clock)
	d, _ := readyDevice(t, t.TempDir(), clock, agg)
	d.SetCatalogue(ctx, testCatalogue())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				switch (g + i) % 5 {
				case 0:
					d.RecordEvent(ctx, "workouts", Event{Kind: kindWorkout, Code: codeRide, Time: clock.Now().Add(-time.Duration(i) * time.Minute), Value: 20})
				case 1:
					if _, err := d.RunOnce(ctx); err != nil {
						t.Error(err)
					}
				case 2:
					if _, err := d.Status(ctx); err != nil {
						t.Error(err)
					}
				case 3:
					d.Revoke(ctx, CampaignPurpose("cyclists"), false)
					d.Grant(ctx, CampaignPurpose("cyclists"))
				case 4:
					d.Pick(ctx)
				}
			}
		}()
	}
	wg.Wait()
	if spent, _ := d.spentPerCampaign(ctx); spent["runners"] != 1 || spent["cyclists"] > 1 {
		t.Errorf("spent %v: a campaign was answered twice in one epoch", spent)
	}
}

// TestDeviceCloseWaitsForCalls: calls racing Close either finish on an
// open store or get ErrDeviceClosed, never a closed-database error.
func TestDeviceCloseWaitsForCalls(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	d, _ := readyDevice(t, t.TempDir(), clock, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				var err error
				switch (g + i) % 3 {
				case 0:
					_, err = d.RunOnce(ctx)
				case 1:
					err = d.RecordEvent(ctx, "workouts", Event{Kind: kindWorkout, Code: codeRun, Time: clock.Now(), Value: 1})
				case 2:
					_, err = d.Status(ctx)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	time.Sleep(0) // let them start; correctness does not depend on timing
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrDeviceClosed) {
			t.Errorf("call racing Close: %v, want ErrDeviceClosed", err)
		}
	}
}
