package wire_test

import (
	"testing"

	"github.com/wisp-project/wisp/internal/wire"
)

// FuzzDecode feeds arbitrary bytes to every decoder a report meets on the
// aggregator, including Open: none may panic, and a decoded envelope must
// survive a re-encode.
func FuzzDecode(f *testing.F) {
	k := newKey(f, 1)
	good, _ := wire.Marshal(sealed(f, k, 1))
	f.Add(good)
	f.Add(append([]byte{0xa1, 0x01, 0x81}, good...))
	f.Add([]byte{0xa1, 0x01, 0x80})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if batch, err := wire.DecodeBatch(b); err == nil {
			for _, r := range batch.Reports {
				wire.DecodeEnvelope(r)
			}
		}
		wire.DecodeKeyConfigList(b)
		e, err := wire.DecodeEnvelope(b)
		if err != nil {
			return
		}
		k.Open(&e) // must fail or succeed cleanly
		if _, err := wire.Marshal(e); err != nil {
			t.Fatalf("decoded envelope does not re-encode: %v", err)
		}
	})
}
