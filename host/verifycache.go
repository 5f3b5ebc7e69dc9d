package host

import (
	"encoding/json"
	"sync"

	"github.com/cloudflare/circl/sign/ed25519"

	"github.com/wisp-project/wisp/internal/campaign"
)

// verifyCache remembers what devices of one process already checked, so
// that a process running many devices (a fleet simulator, a TV with a
// profile per member of the household) verifies each campaign config and
// catalogue signature once instead of once per device, and decodes each
// pinned config's stored JSON once instead of on every read. NewDeviceConfig
// makes one; copies of the config share it, as WithSandbox's runtime is
// shared.
//
// An entry is keyed by everything the check read — its kind, the
// campaign-signing key, the signature, the exact signed bytes (compared
// whole, not by a digest of them) and, for a campaign, the taxonomy it was
// validated against — so a hit is only ever what the check itself would
// have answered for those inputs. Only successes are kept: a forged,
// altered or foreign-key config always goes through the full check and
// fails it. What it holds is the aggregator's public configs, the same
// for every device, and nothing of an owner's.
type verifyCache struct {
	mu      sync.Mutex
	entries map[verifyKey]Campaign
	size    int // bytes of keys held
}

// Bounds of a verifyCache: far above one aggregator's campaigns, and low
// enough that an aggregator serving junk cannot grow a process's memory.
// Past them an arbitrary entry goes, which costs one more check.
const (
	verifyCacheEntries = 1024
	verifyCacheBytes   = 16 << 20
)

type verifyKind uint8

const (
	verifiedCampaign  verifyKind = iota + 1 // campaign.Verify: signature, decoding, Validate
	verifiedCatalogue                       // the catalogue's signature (targeting.go)
	parsedSpec                              // a pinned campaign's stored JSON (pinned)
)

type verifyKey struct {
	kind verifyKind
	tax  *Taxonomy // verifiedCampaign: what Validate checked against
	in   string    // the key, the signature and the bytes, as they came
}

func newVerifyCache() *verifyCache {
	return &verifyCache{entries: map[verifyKey]Campaign{}}
}

// campaign is campaign.Verify(pub, config, signature, tax), done once per
// distinct input. Every caller gets a clone of its own.
func (vc *verifyCache) campaign(pub ed25519.PublicKey, config, signature []byte, tax *Taxonomy) (Campaign, error) {
	in, ok := signedInput(pub, signature, config)
	if vc == nil || !ok {
		return campaign.Verify(pub, config, signature, tax)
	}
	if c, ok := vc.get(verifiedCampaign, tax, in); ok {
		return c.Clone(), nil
	}
	c, err := campaign.Verify(pub, config, signature, tax)
	if err != nil {
		return Campaign{}, err
	}
	vc.put(verifiedCampaign, tax, in, c.Clone())
	return c, nil
}

// catalogue reports whether signature is pub's over catalogueContext ||
// catalogue.
func (vc *verifyCache) catalogue(pub ed25519.PublicKey, catalogue, signature []byte) bool {
	verify := func() bool {
		return ed25519.Verify(pub, append([]byte(catalogueContext), catalogue...), signature)
	}
	in, ok := signedInput(pub, signature, catalogue)
	if vc == nil || !ok {
		return verify()
	}
	if _, ok := vc.get(verifiedCatalogue, nil, in); ok {
		return true
	}
	if !verify() {
		return false
	}
	vc.put(verifiedCatalogue, nil, in, Campaign{})
	return true
}

// spec decodes a pinned campaign's stored JSON, once per distinct spec:
// every device pins the same configs, and reads them back on every pass
// and every report it sends.
func (vc *verifyCache) spec(b []byte) (Campaign, error) {
	if vc != nil {
		if c, ok := vc.get(parsedSpec, nil, b); ok {
			return c.Clone(), nil
		}
	}
	var c Campaign
	if err := json.Unmarshal(b, &c); err != nil {
		return Campaign{}, err
	}
	if vc != nil {
		vc.put(parsedSpec, nil, b, c.Clone())
	}
	return c, nil
}

// signedInput is a signature check's input as one string: key, signature,
// message. It is false for a key or signature not of Ed25519's fixed
// size, which fails the check anyway and is not cached; the fixed sizes
// keep two inputs from running together.
func signedInput(pub ed25519.PublicKey, signature, msg []byte) ([]byte, bool) {
	if len(pub) != ed25519.PublicKeySize || len(signature) != ed25519.SignatureSize {
		return nil, false
	}
	b := make([]byte, 0, len(pub)+len(signature)+len(msg))
	b = append(b, pub...)
	b = append(b, signature...)
	return append(b, msg...), true
}

func (vc *verifyCache) get(kind verifyKind, tax *Taxonomy, in []byte) (Campaign, bool) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	c, ok := vc.entries[verifyKey{kind: kind, tax: tax, in: string(in)}] // no copy of in
	return c, ok
}

func (vc *verifyCache) put(kind verifyKind, tax *Taxonomy, in []byte, c Campaign) {
	if len(in) > verifyCacheBytes/16 {
		return // not worth evicting for
	}
	k := verifyKey{kind: kind, tax: tax, in: string(in)}
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if _, ok := vc.entries[k]; ok {
		return
	}
	for old := range vc.entries {
		if len(vc.entries) < verifyCacheEntries && vc.size+len(k.in) <= verifyCacheBytes {
			break
		}
		vc.size -= len(old.in)
		delete(vc.entries, old)
	}
	vc.entries[k] = c
	vc.size += len(k.in)
}
