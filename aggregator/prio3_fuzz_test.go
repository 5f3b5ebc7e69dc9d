package aggregator

import (
	"bytes"
	"testing"

	"github.com/wisp-project/wisp/internal/wire"
)

// fuzzPeer checks one peer decoder: no panic on any input, and whatever it
// accepts re-encodes to a message it accepts again with the same meaning
// (the decoder is strict, so accepted bytes are canonical up to key order).
func fuzzPeer[T interface{ check() error }](f *testing.F, seeds ...T) {
	for _, s := range seeds {
		b, err := peerEnc.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		if _, err := decodePeer[T](b); err != nil {
			f.Fatalf("seed %+v does not decode: %v", s, err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xa0})
	f.Add([]byte{0xa1, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodePeer[T](b)
		if err != nil {
			return
		}
		again, err := peerEnc.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := decodePeer[T](again)
		if err != nil {
			t.Fatalf("re-encoded message refused: %v", err)
		}
		third, _ := peerEnc.Marshal(m2)
		if !bytes.Equal(again, third) {
			t.Fatalf("decode/encode not stable: %x vs %x", again, third)
		}
	})
}

var fuzzShare = wire.SealedShare{KeyID: 1, Enc: bytes.Repeat([]byte{1}, 32), Sealed: bytes.Repeat([]byte{2}, 48)}

func FuzzPrio3Job(f *testing.F) {
	fuzzPeer(f, prio3Job{Version: prio3PeerVersion, Campaign: "c", Epoch: 7,
		Reports: []prio3JobReport{{ID: wire.ReportID{1}, Public: []byte{3}, Share: fuzzShare, LeaderPrep: []byte{4, 5}}}})
}

func FuzzPrio3JobResult(f *testing.F) {
	fuzzPeer(f, prio3JobResult{Version: prio3PeerVersion, Results: []prio3PrepResult{
		{ID: wire.ReportID{1}, Outcome: prepContinue, Message: []byte{9}}, {ID: wire.ReportID{2}, Outcome: prepReject, Reason: "replay"}}})
}

func FuzzPrio3Collect(f *testing.F) {
	fuzzPeer(f, prio3Collect{Version: prio3PeerVersion, Campaign: "c", Epoch: 7, Reports: 60})
}

func FuzzPrio3CollectResult(f *testing.F) {
	fuzzPeer(f, prio3CollectResult{Version: prio3PeerVersion, Reports: 60, Share: make([]byte, 16)})
}

func FuzzPrio3Provision(f *testing.F) {
	fuzzPeer(f, prio3Provision{Version: prio3PeerVersion, Tenant: "acme", Config: []byte(`{"id":"c"}`), Signature: make([]byte, 64), VerifyKey: make([]byte, 32)},
		prio3Provision{Version: prio3PeerVersion, Config: []byte(`{}`), VerifyKey: make([]byte, 32)})
}

func FuzzPrio3Ack(f *testing.F) { fuzzPeer(f, prio3Ack{Version: prio3PeerVersion}) }
