package attack_test

import (
	"context"
	"math"
	"testing"

	"github.com/wisp-project/wisp/host/attack"
)

// TestBounds: the identification bound is the binary one at m = 2, 1/m at
// ε = 0, and grows to 1 with ε.
func TestBounds(t *testing.T) {
	if b := attack.BinaryBound(1); math.Abs(b-math.E/(1+math.E)) > 1e-12 {
		t.Errorf("BinaryBound(1) = %v", b)
	}
	if b := attack.IdentifyBound(0, 10); math.Abs(b-0.1) > 1e-12 {
		t.Errorf("IdentifyBound(0, 10) = %v, want 1/10 (guessing)", b)
	}
	if a, b := attack.IdentifyBound(1, 10), attack.IdentifyBound(8, 10); !(a < b && b < 1) {
		t.Errorf("IdentifyBound(1, 10) = %v, (8, 10) = %v", a, b)
	}
}

// TestRunIsReproducible: one seed, one result.
func TestRunIsReproducible(t *testing.T) {
	cfg := attack.DefaultConfig()
	cfg.Devices = 50
	a, err := attack.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := attack.Run(context.Background(), cfg)
	for i := range a {
		t.Logf("%+v", a[i])
		if a[i] != b[i] {
			t.Errorf("%s: %+v then %+v", a[i].Attack, a[i], b[i])
		}
	}
}
