package sandbox_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
)

// LoadDigest runs a stored module only if its bytes hash to the digest it
// was stored under, and a plugin's ModuleDigest is the SHA-256 of its bytes.
func TestLoadDigestChecksTheBytes(t *testing.T) {
	ctx := context.Background()
	rt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	defer rt.Close(ctx)
	m := sandbox.Manifest{Name: "fridge", Categories: []uint32{368}}
	sum := sha256.Sum256(plugins.Fridge)
	p, err := rt.LoadDigest(ctx, m, plugins.Fridge, sum)
	if err != nil {
		t.Fatal(err)
	}
	if p.ModuleDigest() != sum {
		t.Errorf("ModuleDigest %x, want %x", p.ModuleDigest(), sum)
	}
	p.Close(ctx)
	if p, err := rt.Load(ctx, m, plugins.Car); err != nil || p.ModuleDigest() != sha256.Sum256(plugins.Car) {
		t.Errorf("Load's ModuleDigest: %v", err)
	} else {
		p.Close(ctx)
	}
	// The car plugin under the fridge's digest: a valid module, refused.
	if _, err := rt.LoadDigest(ctx, m, plugins.Car, sum); !errors.Is(err, sandbox.ErrRefused) || !errors.Is(err, sandbox.ErrDigestMismatch) {
		t.Errorf("LoadDigest of other bytes = %v, want ErrRefused and ErrDigestMismatch", err)
	}
}

// The digest of bytes equal to a compiled module's is taken from it, not
// hashed: bytes that differ in one place, or the caller's slice changed
// after its Load, are hashed and refused under the old digest.
func TestEqualBytesShareTheirDigestOnly(t *testing.T) {
	ctx := context.Background()
	rt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	defer rt.Close(ctx)
	m := sandbox.Manifest{Name: "fridge", Categories: []uint32{368}}
	sum := sha256.Sum256(plugins.Fridge)
	buf := bytes.Clone(plugins.Fridge)
	p, err := rt.Load(ctx, m, buf) // compiled and kept
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if q, err := rt.LoadDigest(ctx, m, bytes.Clone(plugins.Fridge), sum); err != nil {
		t.Errorf("equal bytes: %v", err)
	} else {
		q.Close(ctx)
	}
	buf[len(buf)/2] ^= 1 // the caller's slice, changed after Load
	if _, err := rt.LoadDigest(ctx, m, buf, sum); !errors.Is(err, sandbox.ErrDigestMismatch) {
		t.Errorf("bytes changed in place after Load: %v, want ErrDigestMismatch", err)
	}
	other := bytes.Clone(plugins.Fridge)
	other[len(other)-1] ^= 1 // same length, one byte off
	if _, err := rt.LoadDigest(ctx, m, other, sum); !errors.Is(err, sandbox.ErrDigestMismatch) {
		t.Errorf("bytes of the same length that differ: %v, want ErrDigestMismatch", err)
	}
}
