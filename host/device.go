package host

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/wisp-project/wisp/host/internal/devicestore"
	"github.com/wisp-project/wisp/host/internal/ledger"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/internal/taxonomy"
)

// Device is the runtime a device maker embeds: installed plugins, the
// owner's local events and interest profile, consent, the scheduler that
// answers campaigns, the outbox, and the owner's transparency view, all
// kept in one SQLite file under a data directory. A Device is safe for
// concurrent use; Close it to release the database and the plugins.
type Device struct {
	cfg    DeviceConfig
	dir    string
	store  *devicestore.Store
	ledger *ledger.Ledger
	rt     *sandbox.Runtime
	ownRT  bool // rt is the device's own (not WithSandbox's): Close closes it
	tax    *Taxonomy
	client *Client
	// modules are the plugins' module files (device_modules.go).
	modules moduleFiles

	gate    gate         // calls in progress; Close waits for them
	mu      sync.RWMutex // guards plugins
	plugins map[string]*sandbox.Plugin

	run    sync.Mutex // one scheduler pass at a time
	egress sync.Mutex // held while reports are on the wire; Revoke waits for it
	randMu sync.Mutex // guards entropy reads

	// fault, if set, is called between the steps of the pipeline; tests
	// return an error (or exit the process) to inject a crash there.
	fault func(step string) error
}

// Errors callers can test with errors.Is.
var (
	// ErrNoConsent: the owner has not opted in to this plugin or campaign.
	ErrNoConsent = errors.New("host: no consent")
	// ErrUnknownPlugin: no plugin of that name is installed.
	ErrUnknownPlugin = errors.New("host: no such plugin")
	// ErrUnsignedRefused: the device accepts only signed plugins.
	ErrUnsignedRefused = errors.New("host: unsigned plugins are not allowed on this device")
	// ErrDeviceClosed: the device was closed.
	ErrDeviceClosed = errors.New("host: device closed")
	// ErrBadEvent: an event's time or value cannot be stored.
	ErrBadEvent = errors.New("host: bad event")
	// ErrFrequencyCap: Pick may show nothing now; errors.Is tells why with
	// ErrQuietHours, ErrNothingRelevant or ErrAllCapped, each of which is
	// also an ErrFrequencyCap.
	ErrFrequencyCap = errors.New("host: frequency cap reached")
	// ErrQuietHours: it is the catalogue's quiet hours.
	ErrQuietHours = fmt.Errorf("%w: quiet hours", ErrFrequencyCap)
	// ErrNothingRelevant: no creative reaches its relevance threshold.
	ErrNothingRelevant = fmt.Errorf("%w: nothing relevant", ErrFrequencyCap)
	// ErrAllCapped: every relevant creative is at its frequency cap.
	ErrAllCapped = fmt.Errorf("%w: every relevant creative is at its cap", ErrFrequencyCap)
)

// DeviceDB is the name of the device's database file in its directory.
const DeviceDB = "device.db"

// Open opens the device whose data lives in dir (created if needed), loads
// its installed plugins and resumes where it stopped: reports left in
// flight by a crash are queued again, events past their retention are
// deleted.
func Open(ctx context.Context, dir string, cfg DeviceConfig) (*Device, error) {
	if cfg.now == nil {
		return nil, errors.New("host: DeviceConfig is not initialized; start from NewDeviceConfig")
	}
	if cfg.httpClient != nil && cfg.rootCAs != nil {
		return nil, errors.New("host: WithRootCAs and WithAggregator's own HTTP client: set RootCAs in that client's transport instead")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("host: device dir: %w", err)
	}
	tax := cfg.taxonomy
	if tax == nil {
		tax = taxonomy.Default()
	}
	d := &Device{cfg: cfg, dir: dir, rt: cfg.sandbox, tax: tax, plugins: map[string]*sandbox.Plugin{},
		modules: moduleFiles{dir: filepath.Join(dir, ModulesDir), shared: cfg.sharedModules}}
	if d.rt == nil {
		rc := cfg.runtime
		if !cfg.cacheDirSet {
			rc = rc.WithCompilationCacheDir(filepath.Join(dir, "cache"))
		}
		rt, err := sandbox.NewRuntimeWithConfig(rc)
		if err != nil {
			return nil, err
		}
		d.rt, d.ownRT = rt, true
	}
	lcfg := ledger.NewConfig(cfg.dailyEpsilon).WithLongTerm(cfg.categoryEpsilon, cfg.deviceEpsilon, cfg.longWindow).WithClock(cfg.now).
		WithFault(func(s ledger.Step) error { return d.step("ledger-" + string(s)) })
	var err error
	if d.ledger, err = ledger.Open(ctx, filepath.Join(dir, LedgerDB), lcfg); err != nil {
		d.closeRuntime(ctx)
		return nil, err
	}
	// The ledger opens first: a device store from before the memos moved
	// to the ledger hands them over while it migrates.
	if d.store, err = devicestore.Open(ctx, filepath.Join(dir, DeviceDB), devicestore.WithMemoHandoff(d.importMemos)); err != nil {
		d.ledger.Close()
		d.closeRuntime(ctx)
		return nil, err
	}
	if cfg.aggregatorURL != "" {
		hc := cfg.httpClient
		if hc == nil {
			hc = NewHTTPClient(cfg.rootCAs)
		}
		d.client = &Client{BaseURL: cfg.aggregatorURL, HTTP: hc, Relay: cfg.relayURL}
	}
	if err := d.resume(ctx); err != nil {
		d.Close(ctx)
		return nil, err
	}
	return d, nil
}

// importMemos moves memoized answers from the device store to the ledger.
func (d *Device) importMemos(ctx context.Context, memos []devicestore.Memo) error {
	in := make([]ledger.Memo, len(memos))
	for i, m := range memos {
		in[i] = ledger.Memo{Key: m.Key, Answer: m.Answer}
	}
	return d.ledger.ImportMemos(ctx, in)
}

func (d *Device) resume(ctx context.Context) error {
	if _, err := d.store.Recover(ctx); err != nil {
		return err
	}
	if _, err := d.store.Retain(ctx, d.now()); err != nil {
		return err
	}
	if err := d.bindLegacyConsents(ctx); err != nil {
		return err
	}
	list, err := d.store.Plugins(ctx)
	if err != nil {
		return err
	}
	if err := d.moveModulesOut(ctx, list); err != nil {
		return err
	}
	if err := d.sweepModules(ctx); err != nil {
		return err
	}
	for _, p := range list {
		// A plugin the trust store no longer vouches for, or whose module
		// file is gone or no longer hashes to its row's digest, stays
		// installed but does not run; Status shows it.
		wasm, err := d.modules.read(p.Module)
		if err != nil {
			continue
		}
		loaded, err := d.load(ctx, p.Manifest, wasm, p.Author == "", &p.Module)
		if err != nil {
			continue
		}
		d.plugins[p.Name] = loaded
	}
	return nil
}

// Close stops the plugins and closes the database. Everything the device
// acknowledged (events recorded, consent changed, reports queued) is
// already on disk.
func (d *Device) Close(ctx context.Context) error {
	if !d.gate.close() {
		return nil
	}
	d.mu.Lock()
	plugins := d.plugins
	d.plugins = nil
	d.mu.Unlock()
	for _, p := range plugins {
		p.Close(ctx)
	}
	return errors.Join(d.store.Close(), d.ledger.Close(), d.closeRuntime(ctx))
}

// closeRuntime closes the plugin runtime if it is the device's own.
func (d *Device) closeRuntime(ctx context.Context) error {
	if !d.ownRT {
		return nil
	}
	return d.rt.Close(ctx)
}

// Dir returns the device's data directory.
func (d *Device) Dir() string { return d.dir }

func (d *Device) now() time.Time { return d.cfg.now() }

// gate counts calls in progress so that Close can wait for them: a call
// that enters before Close finishes on an open store; one that comes
// after gets ErrDeviceClosed. Calls may nest (Status reads Interests):
// a nested enter during Close fails instead of deadlocking.
type gate struct {
	mu     sync.Mutex
	idle   sync.Cond
	n      int
	closed bool
}

func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n--; g.n == 0 && g.idle.L != nil {
		g.idle.Broadcast()
	}
}

// close refuses new calls and waits for those in progress; it reports
// whether it was the first close.
func (g *gate) close() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.closed = true
	g.idle.L = &g.mu
	for g.n > 0 {
		g.idle.Wait()
	}
	return true
}

// readEntropy fills b from the configured source.
func (d *Device) readEntropy(b []byte) error {
	if d.cfg.entropy == nil {
		_, err := rand.Read(b)
		return err
	}
	d.randMu.Lock()
	defer d.randMu.Unlock()
	_, err := io.ReadFull(d.cfg.entropy, b)
	return err
}

// uniform returns a uniformly random duration in [0, max).
func (d *Device) uniform(max time.Duration) (time.Duration, error) {
	if max <= 0 {
		return 0, nil
	}
	var b [8]byte
	if err := d.readEntropy(b[:]); err != nil {
		return 0, err
	}
	v := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
	return time.Duration(v % uint64(max)), nil
}

func (d *Device) step(name string) error {
	if d.fault == nil {
		return nil
	}
	return d.fault(name)
}
