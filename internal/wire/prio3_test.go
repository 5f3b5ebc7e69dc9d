package wire_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/wisp-project/wisp/internal/prio"
	"github.com/wisp-project/wisp/internal/wire"
)

// prio3Report shards a real Histogram(10) measurement and seals its
// shares to leader and helper, as a device does.
func prio3Report(t testing.TB, leader, helper *wire.KeyPair) (wire.Prio3Report, prio.Report) {
	t.Helper()
	c, err := prio.NewClient(prio.ForTopK(10, 3), prio.AppContext("runners"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Shard(prio.MultiHot(10, 1, 4))
	if err != nil {
		t.Fatal(err)
	}
	r, err := wire.SealPrio3("runners", 7, rep, leader.Config, helper.Config)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != wire.ReportID(rep.Nonce) || r.Version != wire.Version || r.Mode != wire.ModePrio3 || r.Epoch != 7 {
		t.Fatalf("report %+v", r)
	}
	return r, rep
}

func TestPrio3RoundTrip(t *testing.T) {
	leader, helper := newKey(t, 1), newKey(t, 2)
	r, rep := prio3Report(t, leader, helper)
	b, err := wire.EncodePrio3Report(&r)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := wire.PeekMode(b); err != nil || m != wire.ModePrio3 {
		t.Fatalf("PeekMode = %v, %v", m, err)
	}
	got, err := wire.DecodePrio3Report(b)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := wire.EncodePrio3Report(&got)
	if !bytes.Equal(again, b) {
		t.Fatal("decoded report re-encodes differently")
	}
	for _, tt := range []struct {
		role prio.Role
		key  *wire.KeyPair
		want []byte
	}{{prio.Leader, leader, rep.Leader}, {prio.Helper, helper, rep.Helper}} {
		plain, err := tt.key.OpenShare(got.Share(tt.role), got.AAD(tt.role))
		if err != nil || !bytes.Equal(plain, tt.want) {
			t.Fatalf("%v share: %x, %v", tt.role, plain, err)
		}
	}
	// An LDP envelope peeks as LDP, and neither decoder takes the other's bytes.
	env, _ := wire.Marshal(sealed(t, leader, 1))
	if m, err := wire.PeekMode(env); err != nil || m != wire.ModeLDP {
		t.Fatalf("PeekMode(envelope) = %v, %v", m, err)
	}
	if _, err := wire.DecodePrio3Report(env); err == nil {
		t.Fatal("an LDP envelope decoded as a Prio3 report")
	}
	if _, err := wire.DecodeEnvelope(b); err == nil {
		t.Fatal("a Prio3 report decoded as an LDP envelope")
	}
}

// TestShareAADBinding: a share opens only in the report, role and
// campaign it was sealed for, and not as an LDP envelope.
func TestShareAADBinding(t *testing.T) {
	leader, helper := newKey(t, 1), newKey(t, 2)
	r, _ := prio3Report(t, leader, helper)
	other, _ := prio3Report(t, leader, helper)
	open := func(k *wire.KeyPair, s wire.SealedShare, aad []byte) error {
		_, err := k.OpenShare(s, aad)
		return err
	}
	if err := open(leader, r.Leader, r.AAD(prio.Leader)); err != nil {
		t.Fatal(err)
	}
	moved := func(f func(r *wire.Prio3Report)) []byte {
		m := r
		f(&m)
		return m.AAD(prio.Leader)
	}
	for name, aad := range map[string][]byte{
		"other role":     r.AAD(prio.Helper),
		"other report":   moved(func(m *wire.Prio3Report) { m.ID = other.ID }),
		"other campaign": moved(func(m *wire.Prio3Report) { m.Campaign = "walkers" }),
		"other epoch":    moved(func(m *wire.Prio3Report) { m.Epoch++ }),
		"other public":   moved(func(m *wire.Prio3Report) { m.Public = other.Public }),
	} {
		if err := open(leader, r.Leader, aad); !errors.Is(err, wire.ErrDecrypt) {
			t.Errorf("%s: the leader share opened (%v)", name, err)
		}
	}
	// The helper's key does not open the leader's share even under the leader's AAD.
	swapped := r.Leader
	swapped.KeyID = helper.Config.ID
	if err := open(helper, swapped, r.AAD(prio.Leader)); !errors.Is(err, wire.ErrDecrypt) {
		t.Errorf("helper key opened the leader share: %v", err)
	}
	if err := open(helper, r.Leader, r.AAD(prio.Leader)); !errors.Is(err, wire.ErrUnknownKey) {
		t.Errorf("a share naming another key id: %v", err)
	}
	// A sealed share put into an LDP envelope does not open as one (distinct info string).
	e := wire.Envelope{Version: wire.Version, Mode: wire.ModeLDP, Campaign: r.Campaign, Epoch: r.Epoch, KeyID: 1, ID: r.ID,
		Enc: r.Leader.Enc, Sealed: r.Leader.Sealed}
	if _, err := leader.Open(&e); !errors.Is(err, wire.ErrDecrypt) {
		t.Errorf("a share opened as an LDP envelope: %v", err)
	}
}

func TestDecodePrio3ReportRejects(t *testing.T) {
	leader, helper := newKey(t, 1), newKey(t, 2)
	r, _ := prio3Report(t, leader, helper)
	mutate := func(f func(r *wire.Prio3Report)) []byte {
		m := r
		f(&m)
		b, err := wire.EncodePrio3Report(&m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good, _ := wire.EncodePrio3Report(&r)
	var asMap map[int]cbor.RawMessage
	if err := cbor.Unmarshal(good, &asMap); err != nil {
		t.Fatal(err)
	}
	withKey := func(k int, v cbor.RawMessage) []byte {
		m := map[int]cbor.RawMessage{}
		for kk, vv := range asMap {
			m[kk] = vv
		}
		m[k] = v
		b, _ := wire.Marshal(m)
		return b
	}
	tests := map[string]struct {
		b    []byte
		want error
	}{
		"ldp mode":         {mutate(func(m *wire.Prio3Report) { m.Mode = wire.ModeLDP }), wire.ErrVersion},
		"version 2":        {mutate(func(m *wire.Prio3Report) { m.Version = 2 }), wire.ErrVersion},
		"no campaign":      {mutate(func(m *wire.Prio3Report) { m.Campaign = "" }), wire.ErrMalformed},
		"huge campaign":    {mutate(func(m *wire.Prio3Report) { m.Campaign = string(make([]byte, 65)) }), wire.ErrMalformed},
		"huge public":      {mutate(func(m *wire.Prio3Report) { m.Public = make([]byte, 129) }), wire.ErrMalformed},
		"no leader share":  {mutate(func(m *wire.Prio3Report) { m.Leader.Sealed = nil }), wire.ErrMalformed},
		"no helper enc":    {mutate(func(m *wire.Prio3Report) { m.Helper.Enc = nil }), wire.ErrMalformed},
		"huge share":       {mutate(func(m *wire.Prio3Report) { m.Helper.Sealed = make([]byte, wire.MaxShareLen+1) }), wire.ErrMalformed},
		"unknown key":      {withKey(12, cbor.RawMessage{0x01}), wire.ErrMalformed},
		"ldp key 7":        {withKey(7, cbor.RawMessage{0x41, 0x00}), wire.ErrMalformed},
		"short report id":  {withKey(6, cbor.RawMessage{0x41, 0x00}), wire.ErrMalformed},
		"trailing bytes":   {append(append([]byte(nil), good...), 0), wire.ErrMalformed},
		"tagged":           {append([]byte{0xd8, 0x18}, good...), wire.ErrMalformed},
		"not a map":        {[]byte{0x80}, wire.ErrMalformed},
		"long epoch":       {withKey(4, cbor.RawMessage{0x1a, 0, 0, 0, 7}), wire.ErrMalformed},
		"empty":            {nil, wire.ErrMalformed},
		"share not a map":  {withKey(10, cbor.RawMessage{0x41, 0x00}), wire.ErrMalformed},
		"share extra key":  {withKey(11, cbor.RawMessage{0xa4, 0x01, 0x01, 0x02, 0x41, 0x01, 0x03, 0x41, 0x01, 0x04, 0x00}), wire.ErrMalformed},
		"duplicate keys":   {[]byte{0xa2, 0x01, 0x01, 0x01, 0x01}, wire.ErrMalformed},
		"indefinite share": {withKey(9, cbor.RawMessage{0x5f, 0x41, 0x00, 0xff}), wire.ErrMalformed},
	}
	for name, tt := range tests {
		if _, err := wire.DecodePrio3Report(tt.b); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tt.want)
		}
	}
	for name, b := range map[string][]byte{
		"mode 3":    mutate(func(m *wire.Prio3Report) { m.Mode = 3 }),
		"version 0": mutate(func(m *wire.Prio3Report) { m.Version = 0 }),
	} {
		if _, err := wire.PeekMode(b); !errors.Is(err, wire.ErrVersion) {
			t.Errorf("PeekMode %s: %v", name, err)
		}
	}
	if _, err := wire.PeekMode([]byte{0x80}); !errors.Is(err, wire.ErrMalformed) {
		t.Errorf("PeekMode of an array: %v", err)
	}
}
