// Command device is a device maker's program and an operator's in one:
// it starts an aggregator on 127.0.0.1 (embedded SQLite), embeds a Wisp
// device, installs a plugin, and lets the device answer the aggregator's
// campaign — through Wisp's public packages only.
//
//	device plugin.wasm workdir
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
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
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "device:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: device plugin.wasm workdir")
	}
	wasm, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	// The operator's side.
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(args[1], "aggregator.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	key, err := aggregator.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		return err
	}
	runners := aggregator.Campaign{ID: "runners", Name: "Runners", Epsilon: 1, EpochSeconds: 7 * 86400, K: 100,
		Question: aggregator.Question{Type: "threshold", Category: 410, MinScore: 0.5}}
	srv, err := aggregator.New(aggregator.Config{Store: st, Keys: []*aggregator.KeyPair{key},
		Campaigns: []aggregator.Campaign{runners}, Taxonomy: aggregator.DefaultTaxonomy(), Now: clock})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	defer hs.Close()
	url := "http://" + ln.Addr().String()

	// The device maker's side: a credential for report-token issuers
	// (no campaign here asks for tokens; the call proves it is nameable).
	_, maker, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	cred, deviceKey, err := host.ProvisionDevice(maker, "outside-device-1")
	if err != nil {
		return err
	}
	cfg := host.NewDeviceConfig().
		WithDeviceCredential(cred, deviceKey).
		WithRuntime(sandbox.NewRuntimeConfig().WithPolicy(sandbox.DefaultPolicy())).
		WithTaxonomy(host.DefaultTaxonomy()).
		WithUnsignedPlugins(true).
		WithAggregator(url, nil).
		WithCampaignKey(srv.SigningKey()).
		WithClock(clock).
		WithSendDelay(time.Minute)
	d, err := host.Open(ctx, filepath.Join(args[1], "device"), cfg)
	if err != nil {
		return err
	}
	defer d.Close(ctx)
	if _, err := d.InstallUnsigned(ctx, sandbox.Manifest{Name: "workouts", Version: "1", Categories: []uint32{410, 625}}, wasm); err != nil {
		return err
	}
	for _, p := range []host.Purpose{host.PluginPurpose("workouts"), host.CampaignPurpose("runners")} {
		if err := d.Grant(ctx, p); err != nil {
			return err
		}
	}
	for day := range 4 {
		if err := d.RecordEvent(ctx, "workouts", host.Event{Kind: 3, Code: 1, Time: now.Add(-time.Duration(day) * 24 * time.Hour), Value: 40}); err != nil {
			return err
		}
	}
	if _, err := d.RunOnce(ctx); err != nil {
		return err
	}
	now = now.Add(time.Minute) // past the send delay
	sum, err := d.RunOnce(ctx)
	if err != nil {
		return err
	}
	status, err := d.Status(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("sent %d\n", sum.Sent)
	for _, r := range status.Sent {
		fmt.Printf("left: %s %v\n", r.Campaign, r.Outcome)
	}

	// The device's view of the server, through the public client.
	c := &host.Client{BaseURL: url}
	good, bad, err := c.Campaigns(ctx, srv.SigningKey(), host.DefaultTaxonomy())
	if err != nil {
		return err
	}
	var camps []host.Campaign = good
	fmt.Printf("campaigns %d refused %d first %s\n", len(camps), len(bad), camps[0].ID)
	return nil
}
