package host

import (
	"context"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// deviceStats is what both of a device's databases ran since they opened.
func deviceStats(d *Device) (store, ledger sqlitedb.Stats) {
	return d.store.Stats(), d.ledger.Stats()
}

// atMost fails t if got exceeds max in writes or in reads (read
// transactions and statements run on their own).
func atMost(t *testing.T, what string, got sqlitedb.Stats, writes, reads int64) {
	t.Helper()
	if got.Writes > writes || got.Reads+got.Implicit > reads {
		t.Errorf("%s: %d write transactions and %d reads (%+v), want at most %d and %d", what, got.Writes, got.Reads+got.Implicit, got, writes, reads)
	}
}

// TestSchedulerPassTransactions bounds the SQLite transactions of a first
// scheduler pass that syncs, scores, answers both campaigns and sends both
// reports, of a pass that finds nothing to do, and of the owner's views,
// which write nothing: a read or a step that begins a transaction it does
// not need fails here, whatever the machine's speed.
func TestSchedulerPassTransactions(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregator(t, clock)
	d, _ := readyDevice(t, t.TempDir(), clock, agg)
	s0, l0 := deviceStats(d)
	sum, err := d.RunOnce(ctx)
	if err != nil || sum.Answered != 2 || sum.Sent != 2 {
		t.Fatalf("first pass %+v, %v; want 2 answered and sent", sum, err)
	}
	s1, l1 := deviceStats(d)
	// The durable steps: the profile update, the campaign sync with its
	// two meta values, the order seed, two reports queued, three claims,
	// the second and third settling the report before (the third finds none
	// to claim); retention and expiry find nothing and only read. Before
	// reads left write transactions, and a claim settled nothing, the pass
	// began 37; before the sync wrote its meta values in its own
	// transaction, and retention and expiry a write that changed nothing,
	// 12 (and 18 reads: each routine step's write became one read).
	atMost(t, "first pass, device store", s1.Sub(s0), 8, 20)
	// Two spends and two memos; the reads are the epoch checks and the
	// memo lookups.
	atMost(t, "first pass, ledger", l1.Sub(l0), 4, 4)

	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	s2, l2 := deviceStats(d)
	// A claim that finds nothing; retention and expiry look and find
	// nothing (was 18 writes, then 3 writes and 14 reads).
	atMost(t, "idle pass, device store", s2.Sub(s1), 1, 16)
	atMost(t, "idle pass, ledger", l2.Sub(l1), 0, 2)

	for _, view := range []struct {
		name          string
		writes, reads int64 // of the device store
		ledgerReads   int64 // the ledger writes nothing
		read          func() error
	}{
		// Status lists the plugins in one statement (it was a write
		// transaction of 1 + one per plugin).
		{"Status", 0, 14, 6, func() error { _, err := d.Status(ctx); return err }},
		{"Outbox", 0, 1, 0, func() error { _, err := d.Outbox(ctx); return err }},
		{"SentLog", 0, 1, 0, func() error { _, err := d.SentLog(ctx, 0); return err }},
		{"Interests", 0, 1, 0, func() error { _, err := d.Interests(ctx, 0); return err }},
		{"Relevant", 0, 2, 0, func() error { _, err := d.Relevant(ctx); return err }},
	} {
		s0, l0 := deviceStats(d)
		if err := view.read(); err != nil {
			t.Fatal(view.name, err)
		}
		s1, l1 := deviceStats(d)
		atMost(t, view.name+", device store", s1.Sub(s0), view.writes, view.reads)
		atMost(t, view.name+", ledger", l1.Sub(l0), 0, view.ledgerReads)
	}
	// Everything above ran one statement at a time: each database's pool
	// opened one connection, which parsed the schema and compiled the
	// statements once.
	if s, l := deviceStats(d); s.Conns != 1 || l.Conns != 1 {
		t.Errorf("connections opened: device store %d, ledger %d; want 1 each", s.Conns, l.Conns)
	}
}

// BenchmarkDeviceLife: a device's whole life as the demo lives it, on
// the real aggregator: open, install, consent, a week of events, a pass
// that answers and sends two campaigns, the catalogue and four picks,
// close. Besides time it reports the SQLite transactions of both
// databases per device: writes (BEGIN IMMEDIATE), reads (deferred BEGIN
// or a statement on its own) and statements compiled.
func BenchmarkDeviceLife(b *testing.B) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregator(b, clock)
	a := newAuthor(b)
	// One runtime for every device, as the demo's: each device would
	// otherwise compile the plugin again.
	rt, err := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().WithTrustStore(sandbox.NewTrustStore(a.key.Public())))
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close(ctx)
	shared := func(c DeviceConfig) DeviceConfig { return c.WithSandbox(rt) }
	cat := testCatalogue()
	var total sqlitedb.Stats
	for b.Loop() {
		d := testDevice(b, b.TempDir(), clock, a, agg, shared)
		if _, err := d.Install(ctx, a.signedManifest, workoutsWasm); err != nil {
			b.Fatal(err)
		}
		if err := d.Grant(ctx, PluginPurpose("workouts"), CampaignPurpose("runners"), CampaignPurpose("cyclists")); err != nil {
			b.Fatal(err)
		}
		recordRuns(b, d, clock.Now(), 5, 40)
		if sum, err := d.RunOnce(ctx); err != nil || sum.Sent != 2 {
			b.Fatal(sum, err)
		}
		if err := d.SetCatalogue(ctx, cat); err != nil {
			b.Fatal(err)
		}
		for range 4 {
			d.Pick(ctx)
		}
		s, l := deviceStats(d)
		total = sqlitedb.Stats{Writes: total.Writes + s.Writes + l.Writes, Reads: total.Reads + s.Reads + l.Reads + s.Implicit + l.Implicit,
			Prepared: total.Prepared + s.Prepared + l.Prepared, Conns: total.Conns + s.Conns + l.Conns}
		if err := d.Close(ctx); err != nil {
			b.Fatal(err)
		}
		clock.Advance(7 * 24 * time.Hour) // a new epoch: the next device answers too
	}
	n := float64(b.N)
	b.ReportMetric(float64(total.Writes)/n, "writes/op")
	b.ReportMetric(float64(total.Reads)/n, "reads/op")
	b.ReportMetric(float64(total.Prepared)/n, "prepared/op")
	b.ReportMetric(float64(total.Conns)/n, "conns/op")
}
