package privpass

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"
)

var (
	issuerOnce sync.Once
	issuers    [2]*Issuer
)

// testIssuers are two issuers with fresh keys (keygen once per test binary).
func testIssuers(t testing.TB) [2]*Issuer {
	t.Helper()
	issuerOnce.Do(func() {
		for i := range issuers {
			iss, err := GenerateIssuer()
			if err != nil {
				panic(err)
			}
			issuers[i] = iss
		}
	})
	return issuers
}

func challengeOf(t testing.TB, issuer, campaign string, epoch uint32) []byte {
	t.Helper()
	b, err := ReportChallenge(issuer, campaign, epoch).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func issue(t testing.TB, iss *Issuer, challenge []byte) Token {
	t.Helper()
	req, p, err := Begin(iss.PublicKey(), challenge)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := iss.Evaluate(req)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.Finalize(resp)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestForgedTokensRejected: a token verifies only unchanged, under its
// key, for its campaign epoch and issuer.
func TestForgedTokensRejected(t *testing.T) {
	iss := testIssuers(t)
	ch := challengeOf(t, "issuer.example", "shoes", 7)
	tok := issue(t, iss[0], ch)
	if err := Verify(iss[0].PublicKey(), &tok, ch); err != nil {
		t.Fatalf("the genuine token: %v", err)
	}
	enc := tok.Marshal()
	for _, bit := range []int{2 * 8, (2 + 31) * 8, (2 + 32) * 8, (2 + 64) * 8, (2 + 96) * 8, len(enc)*8 - 1} {
		b := append([]byte(nil), enc...)
		b[bit/8] ^= 1 << (bit % 8)
		forged, err := ParseToken(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(iss[0].PublicKey(), &forged, ch); !errors.Is(err, ErrInvalid) {
			t.Errorf("bit %d flipped: %v, want ErrInvalid", bit, err)
		}
	}
	for name, other := range map[string][]byte{
		"other epoch":    challengeOf(t, "issuer.example", "shoes", 8),
		"other campaign": challengeOf(t, "issuer.example", "boots", 7),
		"other issuer":   challengeOf(t, "issuer.example.net", "shoes", 7),
	} {
		if err := Verify(iss[0].PublicKey(), &tok, other); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if err := Verify(iss[1].PublicKey(), &tok, ch); !errors.Is(err, ErrInvalid) {
		t.Errorf("another key: %v, want ErrInvalid", err)
	}
	// A token made by the other issuer's key but claiming this key's id.
	wrong := issue(t, iss[1], ch)
	wrong.KeyID = iss[0].PublicKey().ID()
	if err := Verify(iss[0].PublicKey(), &wrong, ch); !errors.Is(err, ErrInvalid) {
		t.Errorf("signed by another key under this key's id: %v, want ErrInvalid", err)
	}
}

// TestFinalizeChecksResponse: a response that is not the issuer's
// signature of the blinded message is refused by the client.
func TestFinalizeChecksResponse(t *testing.T) {
	iss := testIssuers(t)
	ch := challengeOf(t, "i", "c", 1)
	req, p, err := Begin(iss[0].PublicKey(), ch)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := iss[0].Evaluate(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.BlindSig[100] ^= 4
	if _, err := p.Finalize(resp); !errors.Is(err, ErrInvalid) {
		t.Fatalf("tampered response: %v, want ErrInvalid", err)
	}
	req.TruncatedKeyID ^= 1
	if _, err := iss[0].Evaluate(req); !errors.Is(err, ErrMalformed) {
		t.Fatalf("request for another key: %v, want ErrMalformed", err)
	}
}

// TestRedemptionContextBinds: the context differs for every campaign and
// epoch, and a campaign id cannot run into the epoch.
func TestRedemptionContextBinds(t *testing.T) {
	seen := map[[32]byte]string{}
	for _, c := range []struct {
		id    string
		epoch uint32
	}{{"a", 1}, {"a", 2}, {"b", 1}, {"a\x00\x00\x00", 1}, {"", 0x61000000}} {
		rc := RedemptionContext(c.id, c.epoch)
		if prev, ok := seen[rc]; ok {
			t.Fatalf("%q/%d has the context of %s", c.id, c.epoch, prev)
		}
		seen[rc] = c.id
	}
}

func newDevice(t testing.TB, maker ed25519.PrivateKey, id string) (Credential, ed25519.PrivateKey) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := IssueCredential(maker, id, pub)
	if err != nil {
		t.Fatal(err)
	}
	return cred, key
}

// TestIssuanceRequest: a request verifies only under a configured maker,
// signed by its device's key, in time.
func TestIssuanceRequest(t *testing.T) {
	makerPub, maker, _ := ed25519.GenerateKey(rand.Reader)
	_, otherMaker, _ := ed25519.GenerateKey(rand.Reader)
	iss := testIssuers(t)
	req, _, err := Begin(iss[0].PublicKey(), challengeOf(t, "i", "c", 1))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	cred, key := newDevice(t, maker, "device-1")
	body, err := SignIssuance(key, cred, "c", 1, req, now)
	if err != nil {
		t.Fatal(err)
	}
	makers := []ed25519.PublicKey{makerPub}
	got, err := VerifyIssuance(body, makers, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got.DeviceID != "device-1" || got.Campaign != "c" || got.Epoch != 1 || got.Request != req {
		t.Fatalf("verified %+v", got)
	}
	if _, err := VerifyIssuance(body, makers, now.Add(MaxRequestAge+time.Second)); !errors.Is(err, ErrCredential) {
		t.Errorf("a stale request: %v, want ErrCredential", err)
	}
	forgedCred, forgedKey := newDevice(t, otherMaker, "device-2")
	body2, _ := SignIssuance(forgedKey, forgedCred, "c", 1, req, now)
	if _, err := VerifyIssuance(body2, makers, now); !errors.Is(err, ErrCredential) {
		t.Errorf("a credential of another maker: %v, want ErrCredential", err)
	}
	// Device 1's credential with a key it does not hold.
	_, thief, _ := ed25519.GenerateKey(rand.Reader)
	body3, _ := SignIssuance(thief, cred, "c", 1, req, now)
	if _, err := VerifyIssuance(body3, makers, now); !errors.Is(err, ErrCredential) {
		t.Errorf("a credential used with another key: %v, want ErrCredential", err)
	}
	// A credential whose id was changed after the maker signed it.
	renamed := cred
	renamed.DeviceID = "device-9"
	body4, _ := SignIssuance(key, renamed, "c", 1, req, now)
	if _, err := VerifyIssuance(body4, makers, now); !errors.Is(err, ErrCredential) {
		t.Errorf("a renamed credential: %v, want ErrCredential", err)
	}
	// A signed request moved to another epoch.
	r, _ := VerifyIssuance(body, makers, now)
	if r.Epoch != 1 {
		t.Fatal(r.Epoch)
	}
	var raw IssuanceRequest
	if err := credDec.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	raw.Epoch = 2
	moved, _ := credEnc.Marshal(&raw)
	if _, err := VerifyIssuance(moved, makers, now); !errors.Is(err, ErrCredential) {
		t.Errorf("a request moved to another epoch: %v, want ErrCredential", err)
	}
}

// TestKeyRequest: a key request verifies like an issuance request, and
// neither passes for the other (their signatures are in separate domains).
func TestKeyRequest(t *testing.T) {
	makerPub, maker, _ := ed25519.GenerateKey(rand.Reader)
	makers := []ed25519.PublicKey{makerPub}
	now := time.Unix(1_800_000_000, 0)
	cred, key := newDevice(t, maker, "device-1")
	body, err := SignKeyRequest(key, cred, "c", 4, now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifyKeyRequest(body, makers, now)
	if err != nil || got.DeviceID != "device-1" || got.Campaign != "c" || got.Epoch != 4 {
		t.Fatalf("verified %+v, %v", got, err)
	}
	if _, err := VerifyKeyRequest(body, makers, now.Add(MaxRequestAge+time.Second)); !errors.Is(err, ErrCredential) {
		t.Errorf("a stale key request: %v, want ErrCredential", err)
	}
	if _, err := VerifyIssuance(body, makers, now); err == nil {
		t.Error("a key request passed for an issuance request")
	}
	req, _, err := Begin(testIssuers(t)[0].PublicKey(), challengeOf(t, "i", "c", 4))
	if err != nil {
		t.Fatal(err)
	}
	issuance, _ := SignIssuance(key, cred, "c", 4, req, now)
	if _, err := VerifyKeyRequest(issuance, makers, now); err == nil {
		t.Error("an issuance request passed for a key request")
	}
	// An issuance request stripped of its token request, its signature
	// kept: not a key request either.
	var raw IssuanceRequest
	if err := credDec.Unmarshal(issuance, &raw); err != nil {
		t.Fatal(err)
	}
	raw.TokenRequest = nil
	stripped, _ := credEnc.Marshal(&raw)
	if _, err := VerifyKeyRequest(stripped, makers, now); !errors.Is(err, ErrCredential) {
		t.Errorf("a stripped issuance request: %v, want ErrCredential", err)
	}
}
