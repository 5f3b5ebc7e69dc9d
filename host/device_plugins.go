package host

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/wisp-project/wisp/host/internal/devicestore"
	"github.com/wisp-project/wisp/host/sandbox"
)

// PluginInfo describes an installed plugin.
type PluginInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Author is the author's public key ("alg:base64"); empty for an
	// unsigned development plugin.
	Author     string        `json:"author,omitempty"`
	Signed     bool          `json:"signed"`
	Categories []uint32      `json:"categories"`
	Retention  time.Duration `json:"retention_ns"`
	Installed  time.Time     `json:"installed"`
	// Running is false when an installed plugin could not be loaded (for
	// example its author left the trust store).
	Running bool `json:"running"`
}

// Install verifies a signed manifest file against the trust store and the
// module against the manifest, loads it, and installs it (replacing an
// older version of the same name, whose data and consent stay). The plugin
// does not run until the owner grants it consent.
func (d *Device) Install(ctx context.Context, signedManifest, wasm []byte) (PluginInfo, error) {
	return d.install(ctx, signedManifest, wasm, false)
}

// InstallUnsigned installs a plugin with no signature. It is refused with
// ErrUnsignedRefused unless the device was opened WithUnsignedPlugins.
func (d *Device) InstallUnsigned(ctx context.Context, m sandbox.Manifest, wasm []byte) (PluginInfo, error) {
	if !d.cfg.allowUnsigned {
		return PluginInfo{}, fmt.Errorf("%w: plugin %q", ErrUnsignedRefused, m.Name)
	}
	m.Author = sandbox.PublicKey{}
	b, err := m.MarshalJSON()
	if err != nil {
		return PluginInfo{}, err
	}
	return d.install(ctx, b, wasm, true)
}

func (d *Device) install(ctx context.Context, manifest, wasm []byte, unsigned bool) (PluginInfo, error) {
	if !d.gate.enter() {
		return PluginInfo{}, ErrDeviceClosed
	}
	defer d.gate.leave()
	p, err := d.load(ctx, manifest, wasm, unsigned, nil)
	if err != nil {
		return PluginInfo{}, err
	}
	m := p.Manifest()
	row := devicestore.Plugin{
		Name: m.Name, Version: m.Version, Manifest: manifest, Module: p.ModuleDigest(),
		Categories: m.Categories, Retention: d.cfg.retention, Installed: d.now(),
	}
	if !unsigned {
		row.Author = m.Author.String()
	}
	old, upgrade := d.installed(ctx, m.Name)
	if upgrade {
		row.Retention = old.Retention // an upgrade keeps the owner's settings
	}
	if err := d.storeModule(ctx, row, wasm); err != nil {
		p.Close(ctx)
		d.sweepModules(ctx) // best effort: the next Open sweeps too
		return PluginInfo{}, err
	}
	if upgrade && old.Module != row.Module {
		d.sweepModules(ctx) // best effort: the next Open sweeps too
	}
	d.mu.Lock()
	prev := d.plugins[m.Name]
	d.plugins[m.Name] = p
	d.mu.Unlock()
	if prev != nil {
		prev.Close(ctx)
	}
	return pluginInfo(row, true), nil
}

// load loads a plugin; stored, for a module read back from its file, is
// the digest its row names, which the bytes must hash to. (A signed
// module must hash to its manifest's digest in any case.)
func (d *Device) load(ctx context.Context, manifest, wasm []byte, unsigned bool, stored *[sha256.Size]byte) (*sandbox.Plugin, error) {
	if !unsigned {
		return d.rt.LoadSigned(ctx, manifest, wasm)
	}
	if !d.cfg.allowUnsigned {
		return nil, ErrUnsignedRefused
	}
	m, err := sandbox.ParseManifest(manifest)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", sandbox.ErrRefused, err)
	}
	if stored != nil {
		return d.rt.LoadDigest(ctx, m, wasm, *stored)
	}
	return d.rt.Load(ctx, m, wasm)
}

func (d *Device) installed(ctx context.Context, name string) (devicestore.Plugin, bool) {
	list, err := d.store.Plugins(ctx)
	if err != nil {
		return devicestore.Plugin{}, false
	}
	for _, p := range list {
		if p.Name == name {
			return p, true
		}
	}
	return devicestore.Plugin{}, false
}

func pluginInfo(p devicestore.Plugin, running bool) PluginInfo {
	return PluginInfo{
		Name: p.Name, Version: p.Version, Author: p.Author, Signed: p.Author != "",
		Categories: p.Categories, Retention: p.Retention, Installed: p.Installed, Running: running,
	}
}

// Plugins lists the installed plugins by name.
func (d *Device) Plugins(ctx context.Context) ([]PluginInfo, error) {
	if !d.gate.enter() {
		return nil, ErrDeviceClosed
	}
	defer d.gate.leave()
	list, err := d.store.Plugins(ctx)
	if err != nil {
		return nil, err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]PluginInfo, 0, len(list))
	for _, p := range list {
		out = append(out, pluginInfo(p, d.plugins[p.Name] != nil))
	}
	return out, nil
}

// Remove uninstalls a plugin and erases its events, its interests and
// queued reports that may derive from them.
func (d *Device) Remove(ctx context.Context, name string) error {
	if !d.gate.enter() {
		return ErrDeviceClosed
	}
	defer d.gate.leave()
	if _, ok := d.installed(ctx, name); !ok {
		return fmt.Errorf("%w: %q", ErrUnknownPlugin, name)
	}
	d.egress.Lock() // nothing of this plugin's may be on the wire after Remove returns
	defer d.egress.Unlock()
	if err := d.store.DeletePlugin(ctx, name, d.now()); err != nil {
		return err
	}
	d.mu.Lock()
	p := d.plugins[name]
	delete(d.plugins, name)
	d.mu.Unlock()
	if p != nil {
		p.Close(ctx)
	}
	d.sweepModules(ctx) // best effort: the next Open sweeps too
	return nil
}

// SetRetention changes how long a plugin's events are kept; older events
// are deleted at once.
func (d *Device) SetRetention(ctx context.Context, name string, keep time.Duration) error {
	if !d.gate.enter() {
		return ErrDeviceClosed
	}
	defer d.gate.leave()
	if keep <= 0 {
		return fmt.Errorf("host: retention %v must be positive", keep)
	}
	if err := d.store.SetRetention(ctx, name, keep); err != nil {
		if errors.Is(err, devicestore.ErrNotFound) {
			return fmt.Errorf("%w: %q", ErrUnknownPlugin, name)
		}
		return err
	}
	_, err := d.store.Retain(ctx, d.now())
	return err
}
