package host_test

import (
	"context"
	"crypto/rand"
	_ "embed"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
	"github.com/wisp-project/wisp/internal/wire"
)

// exampleWasm scores Running (410) and Cycling (625) from workout events
// (kind 3; code 1 run, 2 ride; value minutes). Built from
// testdata/device_workouts.wat with wat2wasm.
//
//go:embed testdata/device_workouts.wasm
var exampleWasm []byte

// A device maker embeds the runtime in a few lines: open it on a data
// directory, install a signed plugin, let the owner opt in, record events,
// run the scheduler, and show the owner what the device inferred. Forget
// erases it again, and the counts prove it.
func ExampleOpen() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "wisp-device")
	defer os.RemoveAll(dir)

	// The plugin's author signs its manifest; the device trusts the author.
	author, _ := sandbox.GenerateKey(sandbox.Ed25519, nil)
	manifest := sandbox.Manifest{Name: "workouts", Version: "1.0.0", Categories: []uint32{410, 625}}
	signed, _ := sandbox.SignManifest(manifest, exampleWasm, author)

	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	cfg := host.NewDeviceConfig().
		WithRuntime(sandbox.NewRuntimeConfig().WithTrustStore(sandbox.NewTrustStore(author.Public()))).
		WithClock(func() time.Time { return now })
	d, err := host.Open(ctx, dir, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close(ctx)

	p, err := d.Install(ctx, signed, exampleWasm)
	fmt.Println("installed:", p.Name, p.Version, "signed:", p.Signed, "err:", err)

	run := host.Event{Kind: 3, Code: 1, Time: now.Add(-24 * time.Hour), Value: 45}
	fmt.Println("before consent:", d.RecordEvent(ctx, "workouts", run))

	d.Grant(ctx, host.PluginPurpose("workouts"))
	d.RecordEvents(ctx, "workouts", []host.Event{run, {Kind: 3, Code: 1, Time: now, Value: 30}})
	d.RunOnce(ctx)

	interests, _ := d.Interests(ctx, 1)
	for _, in := range interests {
		fmt.Printf("top interest: %s %.2f\n", in.Name, in.Score)
	}

	st, _ := d.Status(ctx)
	fmt.Println("stored before forget:", st.Stored["events"], "events,", st.Stored["profile"], "scores")
	d.Revoke(ctx, host.PluginPurpose("workouts"), true) // revoke and erase
	st, _ = d.Status(ctx)
	fmt.Println("stored after forget:", st.Stored["events"], "events,", st.Stored["profile"], "scores")
	for _, c := range st.Consent {
		fmt.Println("consent:", c.At.Format(time.Kitchen), c.Purpose, "granted:", c.Granted, "erased:", c.Erased)
	}
	// Output:
	// installed: workouts 1.0.0 signed: true err: <nil>
	// before consent: host: no consent: plugin "workouts"
	// top interest: Interest | Healthy Living | Fitness and Exercise | Running and Jogging 0.56
	// stored before forget: 2 events, 2 scores
	// stored after forget: 0 events, 0 scores
	// consent: 9:00AM plugin:workouts granted: true erased: false
	// consent: 9:00AM plugin:workouts granted: false erased: true
}

// The scheduler answers each campaign the owner opted in to once per
// epoch: it spends the privacy budget, randomizes the answer, seals it to
// the aggregator and sends it after a random delay. The owner sees which
// campaigns were answered, the ε spent and every report that left — its
// size and time, never its content.
func ExampleDevice_RunOnce() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "wisp-device")
	defer os.RemoveAll(dir)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	url, campaignKey, stop := exampleAggregator(dir, clock)
	defer stop()

	author, _ := sandbox.GenerateKey(sandbox.Ed25519, nil)
	signed, _ := sandbox.SignManifest(sandbox.Manifest{Name: "workouts", Version: "1.0.0", Categories: []uint32{410, 625}}, exampleWasm, author)
	cfg := host.NewDeviceConfig().
		WithRuntime(sandbox.NewRuntimeConfig().WithTrustStore(sandbox.NewTrustStore(author.Public()))).
		WithAggregator(url, nil).
		WithCampaignKey(campaignKey). // provisioned with the firmware
		WithClock(clock).
		WithSendDelay(30 * time.Minute)
	d, err := host.Open(ctx, filepath.Join(dir, "device"), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close(ctx)
	d.Install(ctx, signed, exampleWasm)
	d.Grant(ctx, host.PluginPurpose("workouts"))
	d.Grant(ctx, host.CampaignPurpose("runners"))
	for day := range 4 {
		d.RecordEvent(ctx, "workouts", host.Event{Kind: 3, Code: 1, Time: now.Add(-time.Duration(day) * 24 * time.Hour), Value: 40})
	}

	sum, _ := d.RunOnce(ctx)
	fmt.Printf("answered %d, sent %d, queued %d\n", sum.Answered, sum.Sent, sum.Remaining)
	now = now.Add(30 * time.Minute) // the random send delay has passed
	sum, _ = d.RunOnce(ctx)
	fmt.Printf("answered %d, sent %d, queued %d\n", sum.Answered, sum.Sent, sum.Remaining)

	st, _ := d.Status(ctx)
	for _, c := range st.Campaigns {
		fmt.Printf("%s: consent %v, ε spent %.1f, answered this epoch %v\n", c.ID, c.Consent, c.Spent, c.AnsweredThisEpoch)
	}
	for _, r := range st.Sent {
		fmt.Printf("left: %s, %d bytes sealed, %s\n", r.Campaign, r.Size, r.Outcome)
	}
	fmt.Printf("budget: %.1f of %.1f left in 24 hours\n", st.Budget.LeftToday, st.Budget.DailyCap)
	// Output:
	// answered 1, sent 0, queued 1
	// answered 0, sent 1, queued 0
	// runners: consent true, ε spent 1.0, answered this epoch true
	// left: runners, 156 bytes sealed, accepted
	// budget: 3.0 of 4.0 left in 24 hours
}

// exampleAggregator runs a real aggregator on 127.0.0.1 with one weekly
// campaign, "runners": is the owner's Running score at least 0.5? It
// returns the key that signs its campaigns.
func exampleAggregator(dir string, now func() time.Time) (url string, campaignKey []byte, stop func()) {
	ctx := context.Background()
	tax, _ := taxonomy.ParseBytes(taxonomy.DefaultTSV())
	st, _ := store.OpenSQLite(ctx, filepath.Join(dir, "aggregator.db"))
	key, _ := wire.GenerateKeyPair(1, rand.Reader)
	runners := campaign.Campaign{ID: "runners", Name: "Runners", Epsilon: 1, EpochSeconds: 7 * 86400, K: 100,
		Question: campaign.Question{Type: campaign.QuestionThreshold, Category: 410, MinScore: 0.5}}
	srv, err := aggregator.New(aggregator.Config{Store: st, Keys: []*wire.KeyPair{key}, Campaigns: []campaign.Campaign{runners}, Taxonomy: tax, Now: now})
	if err != nil {
		panic(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), srv.SigningKey(), func() { hs.Close(); st.Close() }
}
