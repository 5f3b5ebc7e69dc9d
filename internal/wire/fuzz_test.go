package wire_test

import (
	"bytes"
	"testing"

	"github.com/wisp-project/wisp/internal/prio"
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

// FuzzDecodePrio3Report: DecodePrio3Report and PeekMode never panic, a
// decoded report re-encodes to the same bytes (one encoding per report),
// and opening its shares fails or succeeds cleanly.
func FuzzDecodePrio3Report(f *testing.F) {
	leader, helper := newKey(f, 1), newKey(f, 2)
	r, _ := prio3Report(f, leader, helper)
	good, _ := wire.EncodePrio3Report(&r)
	f.Add(good)
	env, _ := wire.Marshal(sealed(f, leader, 1))
	f.Add(env)
	f.Add([]byte{0xa2, 0x01, 0x01, 0x02, 0x02})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		wire.PeekMode(b)
		r, err := wire.DecodePrio3Report(b)
		if err != nil {
			return
		}
		if m, err := wire.PeekMode(b); err != nil || m != wire.ModePrio3 {
			t.Fatalf("a decoded report peeks as %v, %v", m, err)
		}
		again, err := wire.EncodePrio3Report(&r)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decoded report re-encodes as %x (%v), read %x", again, err, b)
		}
		leader.OpenShare(r.Leader, r.AAD(prio.Leader))
		helper.OpenShare(r.Helper, r.AAD(prio.Helper))
	})
}
