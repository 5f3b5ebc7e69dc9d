package wire_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/wire"
)

// plainPayload is wire.Payload as it was before its Mechanism was typed:
// a plain uint8. A typed mechanism must encode byte for byte the same.
type plainPayload struct {
	Mechanism uint8  `cbor:"1,keyasint"`
	Answer    []byte `cbor:"2,keyasint"`
}

// TestPayloadEncodingUnchanged: every mechanism byte encodes as the plain
// uint8 it was.
func TestPayloadEncodingUnchanged(t *testing.T) {
	answer := []byte{0xff, 0x00, 0x2a}
	for m := 0; m < 256; m++ {
		got, err := wire.Marshal(wire.Payload{Mechanism: ldp.Mechanism(m), Answer: answer})
		if err != nil {
			t.Fatal(err)
		}
		want, err := wire.Marshal(plainPayload{Mechanism: uint8(m), Answer: answer})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("mechanism %d encodes as %x, want %x", m, got, want)
		}
	}
}

// goldenReader is a deterministic stand-in for crypto/rand.
type goldenReader byte

func (g *goldenReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(*g)
		*g++
	}
	return len(p), nil
}

// goldenEnvelopes were sealed by this package before Payload.Mechanism was
// typed (it was a uint8), from a fixed key and fixed randomness. Sealing
// the same payloads must produce the same bytes, and they must open to
// the same payloads.
var goldenEnvelopes = []struct {
	payload wire.Payload
	size    int
	hex     string
}{
	{wire.Payload{Mechanism: 1, Answer: []byte{1}}, 64,
		"a801010201036772756e6e657273040705090650010203000000000000000000000000000758207b277ed1e62b4014830ef9f725885f10" +
			"dead81617147df73bbbc8ea5ab6d0e6e0858504aaee1881f2c38b983132a8efb5b7b1819be4d8f9f7d0a3c721aff4c90795558abaa38" +
			"7766e89864703679a40a315efaaac2734cd3e161653f9d89c9e0e3b45500d95698f1f144edf8052f4c69993b79"},
	{wire.Payload{Mechanism: 7, Answer: []byte{0x12, 0x34, 0x56, 0x78}}, 64,
		"a801010201036772756e6e6572730407050906500102030000000000000000000000000007582044c0a316f0e35357a5643fa25616f712" +
			"9f09db65f522390a0f4aaf40f07a5461085850e6e4355fe34c61397d4d61c49768185d4833cb371a49d457152005998bfa5abb992a3b" +
			"8bfcefcded07014ac9918bd2a7fe4d71be103473488a4987ad99307b6e0f2c91562099b9f86d14f6cbcd18378e"},
}

func TestSealedBytesGolden(t *testing.T) {
	seed := goldenReader(0)
	k, err := wire.GenerateKeyPair(9, &seed)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range goldenEnvelopes {
		rnd := goldenReader(100 + i)
		e := wire.Envelope{Version: wire.Version, Mode: wire.ModeLDP, Campaign: "runners", Epoch: 7, ID: wire.ReportID{1, 2, 3}}
		if err := wire.Seal(k.Config, &e, g.payload, g.size, &rnd); err != nil {
			t.Fatal(err)
		}
		b, err := wire.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(b); got != g.hex {
			t.Errorf("envelope %d: sealed\n%s\nwant\n%s", i, got, g.hex)
		}
		want, err := hex.DecodeString(g.hex)
		if err != nil {
			t.Fatal(err)
		}
		ge, err := wire.DecodeEnvelope(want)
		if err != nil {
			t.Fatal(err)
		}
		p, err := k.Open(&ge)
		if err != nil {
			t.Fatalf("envelope %d: %v", i, err)
		}
		if p.Mechanism != g.payload.Mechanism || !bytes.Equal(p.Answer, g.payload.Answer) {
			t.Errorf("envelope %d opens to %+v, want %+v", i, p, g.payload)
		}
	}
}
