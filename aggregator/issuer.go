package aggregator

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/privpass"
)

// The report-token issuer (serve --role issuer; issue 16 item 7): it signs
// one Privacy Pass token (internal/privpass) per device, campaign and
// epoch, blind, after checking the device's credential from its maker.
// It should be run by the device maker — RFC 9576's attester and issuer
// in one — not by an aggregator: it sees which device asks for which
// campaign epoch (consent, never answers), and blindness keeps that from
// the report only as long as the issuer and the aggregators do not pool
// their logs by time (docs/PRIVACY.md).
//
// Keys: one RSA-2048 token key per (campaign, epoch), made the first time
// a device with a credential asks for it (POST; a GET only reads, so no
// one without a credential can make the issuer generate keys, and a
// device can have at most IssuerConfig.NewKeysPerDevice made a day) and
// stored (sealed with the key encryption key) under the secret "report-token-key/C/E", insert-if-absent, so every issuer
// node serves the same key and a token is bound to its epoch by key as
// well as by its challenge. Every device gets the same key for an epoch
// (GET is the same for all, cacheable): an issuer handing one device a
// key of its own could link that device's token — the key-consistency
// concern of RFC 9576 §6.3; aggregators fetch the key the same way, and
// a key differing between them shows up as tokens refused.
//
// One issuance: the first request of (device, campaign, epoch) is recorded
// (store.RecordIssuance, the SHA-256 of its blinded message) and signed.
// A request again with the same blinded message is a retry (the answer was
// lost) and is signed again — the same signature, RSA blind signatures
// being deterministic; any other is refused 409: the device has its token.

// IssuerConfig is what an issuer needs.
type IssuerConfig struct {
	Store store.Store
	// Name is the issuer_name of its tokens' challenge, as campaigns name it.
	Name string
	// Makers are the device makers' Ed25519 public keys; a credential
	// signed by none is refused.
	Makers []ed25519.PublicKey
	// KeyEncryptionKey seals the token keys in the store (as Config's).
	KeyEncryptionKey []byte
	// NewKeysPerDevice bounds the keys one device may have the issuer
	// make in a day (UTC); 0 is DefaultNewKeysPerDevice.
	NewKeysPerDevice int
	Now              func() time.Time // nil: time.Now
	Logger           *slog.Logger     // nil: slog.Default()
}

// Issuer serves the report-token issuer's API.
type Issuer struct {
	st     store.Store
	name   string
	makers []ed25519.PublicKey
	wrap   *keyWrapper
	now    func() time.Time
	log    *slog.Logger

	mu   sync.Mutex                      // guards keys and made
	keys map[tokenEpoch]*privpass.Issuer // at most maxCachedKeys
	made keysMade
	gen  sync.Mutex // one key generation at a time: a flood of new epochs costs one core
}

// DefaultNewKeysPerDevice is how many keys one device may have the issuer
// make in a day. A device makes a key only when it is the first to ask
// for a campaign epoch's token, so an honest one makes at most one per
// campaign it answers and epoch; a credential lifted from a device cannot
// make more than this.
const DefaultNewKeysPerDevice = 64

// maxCachedKeys bounds the keys an issuer keeps parsed in memory; others
// are read from the store again.
const maxCachedKeys = 4096

// keysMade counts, per device, the keys it had made on day.
type keysMade struct {
	limit    int
	day      int64
	byDevice map[string]int
}

// allow records that device makes a key at now, or reports that it has
// made its limit today.
func (m *keysMade) allow(device string, now time.Time) bool {
	if day := now.Unix() / 86400; day != m.day || m.byDevice == nil {
		m.day, m.byDevice = day, map[string]int{}
	}
	if m.byDevice[device] >= m.limit {
		return false
	}
	m.byDevice[device]++
	return true
}

type tokenEpoch struct {
	campaign string
	epoch    uint32
}

// NewIssuer checks cfg and returns an issuer.
func NewIssuer(cfg IssuerConfig) (*Issuer, error) {
	if cfg.Store == nil || cfg.Name == "" || len(cfg.Makers) == 0 {
		return nil, fmt.Errorf("%w: an issuer needs a store, a name and at least one device maker key", ErrConfig)
	}
	for _, k := range cfg.Makers {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: device maker key of %d bytes", ErrConfig, len(k))
		}
	}
	wrap, err := newKeyWrapper(cfg.KeyEncryptionKey)
	if err != nil {
		return nil, err
	}
	if cfg.NewKeysPerDevice < 0 {
		return nil, fmt.Errorf("%w: new keys per device %d", ErrConfig, cfg.NewKeysPerDevice)
	} else if cfg.NewKeysPerDevice == 0 {
		cfg.NewKeysPerDevice = DefaultNewKeysPerDevice
	}
	i := &Issuer{st: cfg.Store, name: cfg.Name, makers: cfg.Makers, wrap: wrap, now: cfg.Now, log: cfg.Logger,
		keys: map[tokenEpoch]*privpass.Issuer{}, made: keysMade{limit: cfg.NewKeysPerDevice}}
	if i.now == nil {
		i.now = time.Now
	}
	if i.log == nil {
		i.log = slog.Default()
	}
	return i, nil
}

// campaignIDPattern is internal/campaign's id rule: the issuer makes keys
// only for names a campaign can have.
var campaignIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

func tokenKeyLabel(campaign string, epoch uint32) string {
	return fmt.Sprintf("report-token-key/%s/%d", campaign, epoch)
}

// errTooManyKeys: a device asked for more new keys than a day allows.
var errTooManyKeys = errors.New("aggregator: this device has had the issuer make its keys for the day")

// key returns the token key of (campaign, epoch): store.ErrNotFound if
// none was made, unless device (one with a credential, as issuedDevice
// names it) asks for it to be made, and stored, now.
func (i *Issuer) key(ctx context.Context, campaign string, epoch uint32, device string) (*privpass.Issuer, error) {
	at := tokenEpoch{campaign, epoch}
	i.mu.Lock()
	k := i.keys[at]
	i.mu.Unlock()
	if k != nil {
		return k, nil
	}
	label := tokenKeyLabel(campaign, epoch)
	stored, err := i.st.LookupSecret(ctx, label)
	if errors.Is(err, store.ErrNotFound) && device != "" {
		i.mu.Lock()
		ok := i.made.allow(device, i.now())
		i.mu.Unlock()
		if !ok {
			return nil, errTooManyKeys
		}
		i.gen.Lock()
		stored, err = i.generate(ctx, label)
		i.gen.Unlock()
	}
	if err != nil {
		return nil, err
	}
	der, err := i.wrap.open(label, stored)
	if err != nil {
		return nil, err
	}
	sk, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("aggregator: stored %s: %w", label, err)
	}
	if k, err = privpass.NewIssuer(sk); err != nil {
		return nil, err
	}
	i.mu.Lock()
	if len(i.keys) >= maxCachedKeys {
		for old := range i.keys { // any one: it is read from the store again if asked for
			delete(i.keys, old)
			break
		}
	}
	i.keys[at] = k
	i.mu.Unlock()
	return k, nil
}

// generate makes a key for label and stores it unless a node stored one
// first; it returns what the store holds.
func (i *Issuer) generate(ctx context.Context, label string) ([]byte, error) {
	if stored, err := i.st.LookupSecret(ctx, label); err == nil { // made while this one waited
		return stored, nil
	}
	sk, err := rsa.GenerateKey(rand.Reader, 8*privpass.Nk)
	if err != nil {
		return nil, err
	}
	sealed, err := i.wrap.seal(label, x509.MarshalPKCS1PrivateKey(sk))
	if err != nil {
		return nil, err
	}
	return i.st.Secret(ctx, label, sealed)
}

// Handler returns the issuer's API:
//
//	GET  /v1/report-token-keys?campaign=C&epoch=E  the token key of a campaign epoch (JSON); 404 if none was made
//	POST /v1/report-token-keys                      a device's signed key request → the key, made if it was not
//	POST /v1/report-tokens                          a signed token request → blind signature
//	GET  /healthz                                   health
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+privpass.KeysPath, i.handleKeys)
	mux.HandleFunc("POST "+privpass.KeysPath, i.handleMakeKey)
	mux.HandleFunc("POST "+privpass.TokensPath, i.handleIssue)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := i.st.Ping(r.Context()); err != nil {
			writeProblem(i.log, w, http.StatusServiceUnavailable, "store unavailable", "", err)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(i.log, w, http.StatusNotFound, "no such endpoint", "", fmt.Errorf("%s %s", r.Method, r.URL.Path))
	})
	return mux
}

func (i *Issuer) handleKeys(w http.ResponseWriter, r *http.Request) {
	campaign := r.URL.Query().Get("campaign")
	epoch, err := strconv.ParseUint(r.URL.Query().Get("epoch"), 10, 32)
	if !campaignIDPattern.MatchString(campaign) || err != nil {
		writeProblem(i.log, w, http.StatusBadRequest, string(EInvalid), "", errors.New("want ?campaign=ID&epoch=N"))
		return
	}
	i.writeKey(w, r, campaign, uint32(epoch), "")
}

// issuedDevice names req's device in the issuer's records: its id under
// the maker that signed its credential (the first 8 bytes of the maker's
// key, hex), since each maker numbers its own devices — one maker's
// "device-1" must not use up, or be refused for, another's.
func issuedDevice(req privpass.Issuance) string {
	return hex.EncodeToString(req.Maker[:8]) + "/" + req.DeviceID
}

// handleMakeKey answers a device's signed key request: the key, made now
// if no device asked for one before.
func (i *Issuer) handleMakeKey(w http.ResponseWriter, r *http.Request) {
	body, ok := i.readSigned(w, r)
	if !ok {
		return
	}
	req, err := privpass.VerifyKeyRequest(body, i.makers, i.now())
	if !i.checkSigned(w, req, err) {
		return
	}
	i.writeKey(w, r, req.Campaign, req.Epoch, issuedDevice(req))
}

// writeKey answers the key of (campaign, epoch), made for device if it
// is not "" (key).
func (i *Issuer) writeKey(w http.ResponseWriter, r *http.Request, campaign string, epoch uint32, device string) {
	k, err := i.key(r.Context(), campaign, epoch, device)
	switch {
	case errors.Is(err, store.ErrNotFound):
		w.Header().Set("Cache-Control", "no-store")
		writeProblem(i.log, w, http.StatusNotFound, string(ENotFound), "", fmt.Errorf("no key of %s epoch %d yet: a device with a credential has one made (POST %s)", campaign, epoch, privpass.KeysPath))
		return
	case errors.Is(err, errTooManyKeys):
		w.Header().Set("Retry-After", "3600")
		writeProblem(i.log, w, http.StatusTooManyRequests, "too many new keys", ReasonKeyQuota, err)
		return
	case err != nil:
		writeProblem(i.log, w, http.StatusInternalServerError, "internal error", "", err)
		return
	}
	// The key never changes: any cache may keep it (and every device gets
	// the same answer).
	w.Header().Set("Cache-Control", "public, max-age=86400, immutable")
	writeJSON(w, http.StatusOK, privpass.NewKeyInfo(i.name, k.PublicKey()))
}

// readSigned reads a signed request's body, or answers why not.
func (i *Issuer) readSigned(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if err := requireContentType(r, privpass.RequestMediaType); err != nil {
		writeProblem(i.log, w, http.StatusUnsupportedMediaType, string(EMediaType), "", err)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
	if err != nil {
		writeProblem(i.log, w, http.StatusBadRequest, "cannot read body", "", err)
		return nil, false
	}
	return body, true
}

// checkSigned answers a signed request that did not verify (err) or names
// no campaign id, and reports whether it did.
func (i *Issuer) checkSigned(w http.ResponseWriter, req privpass.Issuance, err error) bool {
	switch {
	case errors.Is(err, privpass.ErrCredential):
		writeProblem(i.log, w, http.StatusForbidden, string(EForbidden), ReasonCredential, err)
		return false
	case err != nil:
		writeProblem(i.log, w, http.StatusBadRequest, string(EInvalid), "", err)
		return false
	case !campaignIDPattern.MatchString(req.Campaign):
		writeProblem(i.log, w, http.StatusBadRequest, string(EInvalid), "", fmt.Errorf("campaign id %q", req.Campaign))
		return false
	}
	return true
}

// Problem reasons of a refused token request.
const (
	ReasonCredential    ProblemReason = "device_credential_invalid" // 403: no configured maker signed it, or the request is not the device's
	ReasonAlreadyIssued ProblemReason = "report_token_issued"       // 409: this device has its token for the campaign epoch
	ReasonKeyQuota      ProblemReason = "report_token_key_quota"    // 429: this device had the day's new keys made
)

func (i *Issuer) handleIssue(w http.ResponseWriter, r *http.Request) {
	body, ok := i.readSigned(w, r)
	if !ok {
		return
	}
	req, err := privpass.VerifyIssuance(body, i.makers, i.now())
	if !i.checkSigned(w, req, err) {
		return
	}
	k, err := i.key(r.Context(), req.Campaign, req.Epoch, "")
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(i.log, w, http.StatusBadRequest, string(EInvalid), "", fmt.Errorf("no key of %s epoch %d: the request cannot be blinded for it", req.Campaign, req.Epoch))
		return
	} else if err != nil {
		writeProblem(i.log, w, http.StatusInternalServerError, "internal error", "", err)
		return
	}
	// A request for another key must not use up the device's issuance:
	// checked (cheaply) before it is recorded. The signature itself comes
	// after, so a credential's repeated requests cost one RSA operation.
	if id := k.PublicKey().ID(); req.Request.TruncatedKeyID != id[privpass.KeyIDSize-1] {
		writeProblem(i.log, w, http.StatusBadRequest, string(EInvalid), "", fmt.Errorf("token request for another key of %s epoch %d: fetch %s again", req.Campaign, req.Epoch, privpass.KeysPath))
		return
	}
	digest := sha256.Sum256(req.Request.BlindedMsg[:])
	got, err := i.st.RecordIssuance(r.Context(), store.Issuance{Device: issuedDevice(req), Campaign: req.Campaign, Epoch: req.Epoch, Blinded: digest[:], IssuedAt: i.now()})
	if err != nil {
		writeProblem(i.log, w, http.StatusServiceUnavailable, "store unavailable", "", err)
		return
	}
	if string(got.Blinded) != string(digest[:]) {
		writeProblem(i.log, w, http.StatusConflict, string(EConflict), ReasonAlreadyIssued,
			fmt.Errorf("device %q already has its token for %s epoch %d", req.DeviceID, req.Campaign, req.Epoch))
		return
	}
	resp, err := k.Evaluate(req.Request)
	if err != nil {
		writeProblem(i.log, w, http.StatusBadRequest, string(EInvalid), "", err)
		return
	}
	w.Header().Set("Content-Type", privpass.ResponseMediaType)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(resp.BlindSig[:])
}
