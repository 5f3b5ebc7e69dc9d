package wire_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/wisp-project/wisp/internal/wire"
)

func newKey(t testing.TB, id uint8) *wire.KeyPair {
	t.Helper()
	k, err := wire.GenerateKeyPair(id, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sealed(t testing.TB, k *wire.KeyPair, answer byte) wire.Envelope {
	t.Helper()
	e := wire.Envelope{Version: wire.Version, Mode: wire.ModeLDP, Campaign: "runners", Epoch: 7, ID: wire.ReportID{1, 2, 3}}
	if err := wire.Seal(k.Config, &e, wire.Payload{Mechanism: 1, Answer: []byte{answer}}, 64, rand.Reader); err != nil {
		t.Fatal(err)
	}
	return e
}

// roundTrip encodes e to CBOR and decodes it back, as the aggregator does.
func roundTrip(t testing.TB, e wire.Envelope) wire.Envelope {
	t.Helper()
	b, err := wire.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := wire.DecodeEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := newKey(t, 3)
	for _, answer := range []byte{0, 1} {
		e := roundTrip(t, sealed(t, k, answer))
		if e.KeyID != 3 {
			t.Fatalf("key id %d, want 3", e.KeyID)
		}
		p, err := k.Open(&e)
		if err != nil {
			t.Fatal(err)
		}
		if p.Mechanism != 1 || !bytes.Equal(p.Answer, []byte{answer}) {
			t.Fatalf("opened %+v, want answer %d", p, answer)
		}
	}
}

func TestSealedSizeDoesNotDependOnAnswer(t *testing.T) {
	k := newKey(t, 1)
	a, b := sealed(t, k, 0), sealed(t, k, 1)
	ba, _ := wire.Marshal(a)
	bb, _ := wire.Marshal(b)
	if len(a.Sealed) != len(b.Sealed) || len(ba) != len(bb) {
		t.Fatalf("sizes differ: sealed %d vs %d, envelope %d vs %d", len(a.Sealed), len(b.Sealed), len(ba), len(bb))
	}
}

func TestTamperingIsDetected(t *testing.T) {
	k := newKey(t, 1)
	tests := map[string]func(e *wire.Envelope){
		"flipped ciphertext byte": func(e *wire.Envelope) { e.Sealed[5] ^= 1 },
		"flipped enc byte":        func(e *wire.Envelope) { e.Enc[0] ^= 1 },
		"other campaign (AAD)":    func(e *wire.Envelope) { e.Campaign = "cyclists" },
		"other epoch (AAD)":       func(e *wire.Envelope) { e.Epoch++ },
		"other report id (AAD)":   func(e *wire.Envelope) { e.ID[0] ^= 1 },
		"truncated ciphertext":    func(e *wire.Envelope) { e.Sealed = e.Sealed[:len(e.Sealed)-1] },
	}
	for name, tamper := range tests {
		t.Run(name, func(t *testing.T) {
			e := roundTrip(t, sealed(t, k, 1))
			tamper(&e)
			if _, err := k.Open(&e); !errors.Is(err, wire.ErrDecrypt) {
				t.Fatalf("Open error = %v, want ErrDecrypt", err)
			}
		})
	}
}

func TestUnknownKeyID(t *testing.T) {
	k, other := newKey(t, 1), newKey(t, 2)
	e := sealed(t, other, 1)
	if _, err := k.Open(&e); !errors.Is(err, wire.ErrUnknownKey) {
		t.Fatalf("Open error = %v, want ErrUnknownKey", err)
	}
	e.KeyID = 1 // right id, wrong key: does not open
	if _, err := k.Open(&e); !errors.Is(err, wire.ErrDecrypt) {
		t.Fatalf("Open error = %v, want ErrDecrypt", err)
	}
}

func TestPayloadTooLarge(t *testing.T) {
	k := newKey(t, 1)
	e := wire.Envelope{Version: wire.Version, Mode: wire.ModeLDP, Campaign: "c"}
	err := wire.Seal(k.Config, &e, wire.Payload{Mechanism: 1, Answer: make([]byte, 100)}, 64, rand.Reader)
	if !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("Seal error = %v, want ErrTooLarge", err)
	}
}

func TestMalformedEnvelopes(t *testing.T) {
	k := newKey(t, 1)
	good := sealed(t, k, 1)
	mutate := func(f func(e *wire.Envelope)) []byte {
		e := good
		f(&e)
		b, _ := wire.Marshal(e)
		return b
	}
	goodBytes, _ := wire.Marshal(good)
	tests := map[string]struct {
		in   []byte
		want error
	}{
		"empty":           {nil, wire.ErrMalformed},
		"not cbor":        {[]byte("hello"), wire.ErrMalformed},
		"cbor array":      {[]byte{0x82, 0x01, 0x02}, wire.ErrMalformed},
		"truncated":       {goodBytes[:len(goodBytes)-3], wire.ErrMalformed},
		"trailing bytes":  {append(append([]byte{}, goodBytes...), 0), wire.ErrMalformed},
		"unknown field":   {[]byte{0xa1, 0x18, 0x63, 0x01}, wire.ErrMalformed},
		"duplicate key":   {[]byte{0xa2, 0x01, 0x01, 0x01, 0x01}, wire.ErrMalformed},
		"wrong version":   {mutate(func(e *wire.Envelope) { e.Version = 9 }), wire.ErrVersion},
		"prio3 mode (v1)": {mutate(func(e *wire.Envelope) { e.Mode = wire.ModePrio3 }), wire.ErrVersion},
		"no campaign":     {mutate(func(e *wire.Envelope) { e.Campaign = "" }), wire.ErrMalformed},
		"no ciphertext":   {mutate(func(e *wire.Envelope) { e.Sealed = nil }), wire.ErrMalformed},
		"huge campaign":   {mutate(func(e *wire.Envelope) { e.Campaign = string(make([]byte, 65)) }), wire.ErrMalformed},
		"short report id": {[]byte{0xa1, 0x06, 0x41, 0x00}, wire.ErrMalformed},
		"long report id":  {append([]byte{0xa1, 0x06, 0x51}, make([]byte, 17)...), wire.ErrMalformed},
		"text report id":  {append([]byte{0xa1, 0x06, 0x70}, "0123456789abcdef"...), wire.ErrMalformed},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := wire.DecodeEnvelope(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("DecodeEnvelope error = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestReportIDHeads: a 16-byte id decodes the same whether its head is the
// shortest (0x50, the fast path of ReportID.UnmarshalCBOR) or a longer
// one (0x58 0x10, the full decoder).
func TestReportIDHeads(t *testing.T) {
	id := []byte("0123456789abcdef")
	for _, head := range [][]byte{{0x50}, {0x58, 0x10}, {0x59, 0x00, 0x10}} {
		var got wire.ReportID
		if err := got.UnmarshalCBOR(append(append([]byte{}, head...), id...)); err != nil || string(got[:]) != string(id) {
			t.Errorf("head %x: id %x, %v; want %x", head, got, err, id)
		}
	}
}

func TestBatchKeepsMalformedReportsSeparate(t *testing.T) {
	k := newKey(t, 1)
	good, _ := wire.Marshal(sealed(t, k, 1))
	// Build the batch by hand: a map {1: [good, 0x40]} where 0x40 is an empty
	// byte string — well-formed CBOR but not an envelope.
	body := append([]byte{0xa1, 0x01, 0x82}, good...)
	body = append(body, 0x40)
	batch, err := wire.DecodeBatch(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch.Reports) != 2 {
		t.Fatalf("%d reports, want 2", len(batch.Reports))
	}
	if _, err := wire.DecodeEnvelope(batch.Reports[0]); err != nil {
		t.Fatalf("good report: %v", err)
	}
	if _, err := wire.DecodeEnvelope(batch.Reports[1]); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("bad report error = %v, want ErrMalformed", err)
	}
}

func TestEncodeBatchRoundTrip(t *testing.T) {
	k := newKey(t, 1)
	envs := []wire.Envelope{sealed(t, k, 0), sealed(t, k, 1)}
	body, err := wire.EncodeBatch(envs)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := wire.DecodeBatch(body)
	if err != nil {
		t.Fatal(err)
	}
	for i, raw := range batch.Reports {
		e, err := wire.DecodeEnvelope(raw)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := k.Open(&e); err != nil || p.Answer[0] != byte(i) {
			t.Fatalf("report %d: %+v, %v", i, p, err)
		}
	}
}

func TestKeyPairPersistence(t *testing.T) {
	k := newKey(t, 4)
	raw, err := k.MarshalPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := wire.UnmarshalKeyPair(4, raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.Config.PublicKey, k2.Config.PublicKey) {
		t.Fatal("restored key has another public key")
	}
	e := sealed(t, k, 1)
	if _, err := k2.Open(&e); err != nil {
		t.Fatalf("restored key cannot open: %v", err)
	}
}
