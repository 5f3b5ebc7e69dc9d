package sandbox_test

import (
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
