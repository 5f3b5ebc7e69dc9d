package host

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestSyncReusesConnection: a device's syncs — two GETs each (HPKE
// configs, campaigns) — share one kept-alive connection to the aggregator
// instead of dialling one per request: Client.do reads every response to
// its end, which is what lets the transport keep the connection.
func TestSyncReusesConnection(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregator(t, clock)
	var dials atomic.Int64
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return dialer.DialContext(ctx, network, addr)
		},
	}}
	d, err := Open(ctx, t.TempDir(), NewDeviceConfig().WithClock(clock.Now).WithAggregator(agg.URL, hc).WithCampaignKey(agg.key))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	for range 3 {
		if err := d.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if pins, err := d.pinned(ctx); err != nil || len(pins) != len(testCampaigns) {
		t.Fatalf("pinned %d campaigns (%v), want %d", len(pins), err, len(testCampaigns))
	}
	if n := dials.Load(); n != 1 {
		t.Fatalf("6 GETs dialled %d connections, want 1", n)
	}
}
