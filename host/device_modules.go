package host

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/wisp-project/wisp/host/internal/devicestore"
)

// ModulesDir is the folder of a device's data directory that holds its
// plugins' modules, one file per module named by its SHA-256
// ("<hex>.wasm"); device.db's plugin rows name them. Keeping megabytes out
// of SQLite writes a module once instead of into the WAL and again at the
// checkpoint.
const ModulesDir = "modules"

// moduleFiles is a device's module folder. A file is made durable (written
// to a temporary name, fsynced, renamed, the folder fsynced) before the row
// that names it commits, and removed once no row does, so a crash leaves
// at most a file no row names, which the next sweep removes. Every load
// checks the bytes' digest, against the row's (sandbox.Runtime.LoadDigest)
// or a signed module's manifest: a file changed on disk is refused, never
// run.
type moduleFiles struct {
	dir string
	// shared is WithSharedModules' folder, or "": a module already there is
	// hard-linked into dir instead of written again.
	shared string
}

func (f moduleFiles) path(sum [sha256.Size]byte) string {
	return filepath.Join(f.dir, hex.EncodeToString(sum[:])+".wasm")
}

func (f moduleFiles) read(sum [sha256.Size]byte) ([]byte, error) {
	b, err := os.ReadFile(f.path(sum))
	if err != nil {
		return nil, fmt.Errorf("host: plugin module: %w", err)
	}
	return b, nil
}

// put makes the file of wasm, whose SHA-256 is sum, durable in the
// device's folder. With a shared folder, the module is written there once
// (if it is not yet) and linked; a link that fails (another file system)
// falls back to a copy of the device's own.
func (f moduleFiles) put(sum [sha256.Size]byte, wasm []byte) error {
	name := hex.EncodeToString(sum[:]) + ".wasm"
	if f.shared != "" {
		if err := f.link(name, wasm); err == nil {
			return nil
		}
	}
	if err := writeDurable(f.dir, name, wasm); err != nil {
		return fmt.Errorf("host: plugin module: %w", err)
	}
	return nil
}

// link puts the shared folder's file name (writing it first if it is
// missing or not wasm's size) into the device's folder as a hard link.
func (f moduleFiles) link(name string, wasm []byte) error {
	src := filepath.Join(f.shared, name)
	if fi, err := os.Stat(src); err != nil || fi.Size() != int64(len(wasm)) {
		if err := mkdirDurable(f.shared); err != nil {
			return err
		}
		if err := writeDurable(f.shared, name, wasm); err != nil {
			return err
		}
	}
	tmp := filepath.Join(f.dir, tempName(name))
	if err := os.Link(src, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(f.dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(f.dir)
}

// sweep removes the files of the device's folder that name no module in
// keep: those of removed or upgraded plugins, and temporary files a crash
// left.
func (f moduleFiles) sweep(keep map[[sha256.Size]byte]bool) error {
	entries, err := os.ReadDir(f.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("host: plugin modules: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if e.Name() == lockName {
			continue
		}
		var sum [sha256.Size]byte
		hexSum, ok := strings.CutSuffix(e.Name(), ".wasm")
		if ok {
			if n, err := hex.Decode(sum[:], []byte(hexSum)); err != nil || n != len(sum) {
				ok = false
			}
		}
		if ok && keep[sum] {
			continue
		}
		if err := os.Remove(filepath.Join(f.dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// lockName is the lock file in the modules folder: an install holds it from
// writing its file until its row commits, and a sweep while it reads which
// files rows name and removes the others, so that a sweep (of this process
// or another on the same data directory) never removes a file whose row is
// about to commit.
const lockName = ".lock"

// lockModules creates the modules folder if needed and takes its lock.
func (d *Device) lockModules() (unlock func(), err error) {
	if err := mkdirDurable(d.modules.dir); err != nil {
		return nil, fmt.Errorf("host: plugin modules: %w", err)
	}
	return lockFile(filepath.Join(d.modules.dir, lockName))
}

// storeModule makes wasm's file durable and then commits row, which names
// it, under the modules lock.
func (d *Device) storeModule(ctx context.Context, row devicestore.Plugin, wasm []byte) error {
	unlock, err := d.lockModules()
	if err != nil {
		return err
	}
	defer unlock()
	if err := d.modules.put(row.Module, wasm); err != nil {
		return err
	}
	if err := d.step("module-written"); err != nil {
		return err
	}
	return d.store.PutPlugin(ctx, row)
}

// sweepModules removes the module files no plugin row names.
func (d *Device) sweepModules(ctx context.Context) error {
	if _, err := os.Stat(d.modules.dir); errors.Is(err, fs.ErrNotExist) {
		return nil // no module was ever stored
	}
	unlock, err := d.lockModules()
	if err != nil {
		return err
	}
	defer unlock()
	list, err := d.store.Plugins(ctx)
	if err != nil {
		return err
	}
	keep := make(map[[sha256.Size]byte]bool, len(list))
	for _, p := range list {
		keep[p.Module] = true
	}
	return d.modules.sweep(keep)
}

// moveModulesOut moves the modules that the plugin rows of list from
// before device.db's migration 9 hold into files, and sets their Module.
func (d *Device) moveModulesOut(ctx context.Context, list []devicestore.Plugin) error {
	for i, p := range list {
		if p.Module != ([sha256.Size]byte{}) {
			continue
		}
		wasm, err := d.store.InlineWasm(ctx, p.Name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(wasm)
		if err := d.moveModuleOut(ctx, p.Name, sum, wasm); err != nil {
			return err
		}
		list[i].Module = sum
	}
	return nil
}

func (d *Device) moveModuleOut(ctx context.Context, name string, sum [sha256.Size]byte, wasm []byte) error {
	unlock, err := d.lockModules()
	if err != nil {
		return err
	}
	defer unlock()
	if err := d.modules.put(sum, wasm); err != nil {
		return err
	}
	return d.store.MoveModuleOut(ctx, name, sum)
}

// mkdirDurable creates dir if needed; a new folder's entry is fsynced in
// its parent, so a file made durable in it stays reachable.
func mkdirDurable(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// writeDurable writes b to dir/name through a temporary file, fsynced
// before the rename, and fsyncs dir after it: the name then holds all of b
// or, after a crash before, does not change.
func writeDurable(dir, name string, b []byte) error {
	f, err := os.OpenFile(filepath.Join(dir, tempName(name)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	return syncDir(dir)
}

// tempName is a fresh temporary name for name in its folder (a sweep
// removes it if a crash leaves it).
func tempName(name string) string {
	return "." + name + ".tmp-" + rand.Text()
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
