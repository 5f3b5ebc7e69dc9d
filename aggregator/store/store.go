// Package store keeps the aggregator's state durably: reports, HPKE keys,
// the campaign registry, released results and API tokens. One interface,
// two implementations — SQLite (modernc.org/sqlite, WAL) embedded for a
// single node, PostgreSQL (pgx) for many stateless nodes on one database —
// and one conformance suite (package storetest) that both must pass.
//
// What is stored for a report is the minimum estimation needs: the random
// report id (for replay protection), campaign, epoch, mechanism and the
// randomized answer as bytes. No transport metadata — no address, no user
// agent, no arrival time. Because the answer is opaque bytes tagged with a
// mechanism id, answers of any LDP mechanism fit the same schema; Tally
// groups identical answers so estimators read a histogram, not every row.
//
// Every exported method is one named transaction (the name is the metric
// label the aggregator uses) and is retried on serialization failures.
package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wisp-project/wisp/internal/api"
)

// Report is an opened, validated report.
type Report struct {
	ID        ReportID
	Campaign  string
	Epoch     uint32
	Mechanism Mechanism
	Answer    []byte
}

// Key states (api.KeyState, as GET /v1/keys reports them): a pending key
// is accepted but not advertised (so every node knows it before any device
// uses it), an active key is advertised and accepted, an expired key is
// neither.
const (
	KeyPending = api.KeyPending
	KeyActive  = api.KeyActive
	KeyExpired = api.KeyExpired
)

// Key is an HPKE key pair as stored: the private key bytes
// (wire.KeyPair.MarshalPrivateKey) and its rotation state.
type Key struct {
	ID        uint8
	Private   []byte
	State     KeyState
	CreatedAt time.Time
	ChangedAt time.Time // when State last changed
}

// Campaign is a registered campaign: its canonical config bytes (JSON of
// campaign.Campaign), the aggregator's signature over them, and where it
// is in its life.
type Campaign struct {
	ID        string
	Tenant    string
	Config    []byte
	Signature []byte
	CreatedAt time.Time
	State     CampaignState // "" reads as CampaignActive
	// StateChangedAt is when the campaign entered State (zero for one
	// active since it was created).
	StateChangedAt time.Time
}

// CampaignState is where a campaign is in its life: active → paused ⇄
// active, and paused or active → archived, for good.
type CampaignState string

// Campaign states.
const (
	// CampaignActive: devices fetch its config and answer it.
	CampaignActive CampaignState = "active"
	// CampaignPaused: its config is withdrawn from devices; reports for
	// epochs after the pause are refused; it may be resumed.
	CampaignPaused CampaignState = "paused"
	// CampaignArchived: paused for good; its released results stay.
	CampaignArchived CampaignState = "archived"
)

// Release is the immutable published result of one (campaign, epoch).
type Release struct {
	Campaign   string
	Epoch      uint32
	ReleasedAt time.Time
	Body       []byte // JSON of the released segment
}

// Token is an API credential; only a hash of the secret is stored.
type Token struct {
	Hash      []byte // SHA-256 of the secret token
	Role      Role
	Tenant    string
	Name      string
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
}

// Store is durable aggregator state. Implementations are safe for
// concurrent use, also by several processes on one database.
type Store interface {
	// Insert commits reports in one transaction. fresh[i] is false when a
	// report with reports[i].ID was already stored (a replay, including one
	// earlier in the same batch or one stored by another node); such reports
	// are not stored again.
	Insert(ctx context.Context, reports []Report) (fresh []bool, err error)
	// Epochs lists the epochs that have reports for campaign, ascending.
	Epochs(ctx context.Context, campaign string) ([]uint32, error)
	// Scan calls fn for every report of campaign in epoch.
	Scan(ctx context.Context, campaign string, epoch uint32, fn func(mechanism Mechanism, answer []byte) error) error
	// Tally calls fn once per distinct (mechanism, answer) of campaign in
	// epoch with how many reports gave it.
	Tally(ctx context.Context, campaign string, epoch uint32, fn func(mechanism Mechanism, answer []byte, n int64) error) error
	// DeleteReports deletes every report of campaign in epoch, and the
	// report-token nonces they redeemed, and returns how many reports there
	// were (data minimization once a result is released; late copies of
	// them are refused by the epoch rules, not the ids or the nonces).
	DeleteReports(ctx context.Context, campaign string, epoch uint32) (int64, error)

	// Keys lists every HPKE key, by id.
	Keys(ctx context.Context) ([]Key, error)
	// AddKey stores a new key. An existing key with the same id is replaced
	// only if it is expired; otherwise ErrConflict.
	AddKey(ctx context.Context, k Key) error
	// SetKeyState moves key id to state; ErrNotFound if there is none,
	// ErrLastActiveKey (and no change) if it is the only active key and
	// state is not active: devices would have no key to seal to.
	SetKeyState(ctx context.Context, id uint8, state KeyState, at time.Time) error
	// ReplaceKey stores k as AddKey does and expires key old, in one
	// transaction: a compromised key stops being accepted the moment its
	// successor is there to be advertised. ErrNotFound if old is missing.
	ReplaceKey(ctx context.Context, k Key, old uint8) error
	// WatchKeys calls changed once at start and then soon (well under a
	// second) after any connection or process commits a change of key
	// state or a new key, until ctx ends; it returns ctx's error, or
	// another if it cannot watch at all. PostgreSQL pushes the change
	// (LISTEN/NOTIFY); SQLite, one file on one machine, polls
	// PRAGMA data_version, which costs no I/O while nothing commits.
	WatchKeys(ctx context.Context, changed func()) error
	// Rewrap rewrites, in one transaction, the private bytes of every HPKE
	// key through key and the value of every secret through secret (to
	// seal keys stored in the clear); a callback returning nil leaves its
	// row as it is, and an error rolls every row back.
	Rewrap(ctx context.Context, key func(id uint8, private []byte) ([]byte, error), secret func(name string, value []byte) ([]byte, error)) error

	// AddCampaign registers c; ErrConflict if its id is taken.
	AddCampaign(ctx context.Context, c Campaign) error
	// Campaigns lists every registered campaign, by id.
	Campaigns(ctx context.Context) ([]Campaign, error)
	// SetCampaignState moves campaign id from one of the states in from to
	// state at at; ErrNotFound if there is no such campaign, ErrConflict if
	// it is in none of from (another node moved it first).
	SetCampaignState(ctx context.Context, id string, from []CampaignState, state CampaignState, at time.Time) error

	// Release stores r unless (r.Campaign, r.Epoch) is already released,
	// and returns what is stored: the first release wins, on every node.
	Release(ctx context.Context, r Release) (Release, error)
	// Releases lists campaign's releases by epoch.
	Releases(ctx context.Context, campaign string) ([]Release, error)

	// AddToken stores t; ErrConflict if its hash exists.
	AddToken(ctx context.Context, t Token) error
	// Token finds the token with hash; ErrNotFound if there is none.
	Token(ctx context.Context, hash []byte) (Token, error)
	// Tokens lists every token (hashes only), by creation time.
	Tokens(ctx context.Context) ([]Token, error)
	// DeleteToken revokes the token with hash; ErrNotFound if there is none.
	DeleteToken(ctx context.Context, hash []byte) error

	// Secret returns the value stored under name, storing value first if
	// there is none: the first writer wins, so every node gets the same
	// (used for the campaign signing key).
	Secret(ctx context.Context, name string, value []byte) ([]byte, error)
	// Secrets returns every secret whose name starts with prefix, by name
	// (the OHTTP gateway keys: a rotation adds one).
	Secrets(ctx context.Context, prefix string) (map[string][]byte, error)
	// LookupSecret returns the value stored under name; ErrNotFound if
	// there is none (a prio3 helper reads the verify key its leader gave).
	LookupSecret(ctx context.Context, name string) ([]byte, error)

	// InsertPrio3 stores reports the prio3 leader accepted, pending, in one
	// transaction. fresh[i] is false when a report with reports[i].ID is
	// already stored (a replay, as for Insert); such reports are not stored.
	InsertPrio3(ctx context.Context, reports []Prio3Report) (fresh []bool, err error)
	// PendingPrio3 returns up to limit pending reports of a batch, by id.
	PendingPrio3(ctx context.Context, campaign string, epoch uint32, limit int) ([]Prio3Report, error)
	// Prio3Outcomes returns the stored outcomes of those of ids that are
	// prepared in the batch (a pending report, or one of another batch, has
	// none).
	Prio3Outcomes(ctx context.Context, campaign string, epoch uint32, ids []ReportID) (map[ReportID]Prio3Outcome, error)
	// AggregatePrio3 records outcomes in the batch and updates its aggregate
	// share, in one transaction. An outcome is recorded (fresh[i]) if its
	// report is pending in this batch or not stored at all; one prepared
	// before, or stored in another batch, is left as it is. add gets fresh,
	// the current share and count (empty and 0 the first time) and returns
	// the new ones; it may run more than once (retries) and must not have
	// other effects. ErrCollected if the batch was collected: nothing is
	// recorded then.
	AggregatePrio3(ctx context.Context, campaign string, epoch uint32, outcomes []Prio3Outcome,
		add func(fresh []bool, share []byte, reports int64) ([]byte, int64, error)) (fresh []bool, err error)
	// Prio3Batches lists campaign's batches by epoch.
	Prio3Batches(ctx context.Context, campaign string) ([]Prio3Batch, error)
	// CollectPrio3 returns the batch's aggregate with its noised share. The
	// first call stores noise(share, reports) as the noised share (noise may
	// refuse, and may run more than once, as add); later calls return what is
	// stored and never call noise: a batch is noised once. ErrNotFound if
	// the batch has no aggregate.
	CollectPrio3(ctx context.Context, campaign string, epoch uint32, at time.Time,
		noise func(share []byte, reports int64) ([]byte, error)) (Prio3Aggregate, error)

	// ClaimReportTokens records, in one transaction, each claim's token
	// nonce as redeemed by its report (report_tokens.go). held[i] is true
	// when claims[i].Report holds the nonce — claimed now, or before by the
	// same report (a resend, a repeated job) — and false when another
	// report holds it: a reused token.
	ClaimReportTokens(ctx context.Context, claims []TokenClaim) (held []bool, err error)
	// RecordIssuance stores i unless (device, campaign, epoch) already has
	// an issuance, and returns what is stored: the first wins.
	RecordIssuance(ctx context.Context, i Issuance) (Issuance, error)

	// Ping checks that the store answers.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Sentinel errors callers can test with errors.Is.
var (
	ErrClosed   = errors.New("store: closed")
	ErrConflict = errors.New("store: already exists")
	ErrNotFound = errors.New("store: not found")
	ErrSpec     = errors.New("store: bad store spec")
	// ErrLastActiveKey refuses to leave the store without an active key.
	ErrLastActiveKey = errors.New("store: that is the only active key")
)

// checkCampaignMove refuses to move campaign id out of state now unless
// now is one of from.
func checkCampaignMove(id string, now CampaignState, from []CampaignState) error {
	if !slices.Contains(from, now) {
		return fmt.Errorf("%w: campaign %q is %s", ErrConflict, id, now)
	}
	return nil
}

// keyChange checks moving key id, found in state was (if found), to state
// while others other keys are active.
func keyChange(found bool, was KeyState, others int, state KeyState, id uint8) error {
	switch {
	case !state.IsValid():
		return fmt.Errorf("store: set key state: %q", state)
	case !found:
		return fmt.Errorf("%w: key %d", ErrNotFound, id)
	case was == KeyActive && state != KeyActive && others == 0:
		return fmt.Errorf("%w: key %d", ErrLastActiveKey, id)
	}
	return nil
}

// campaignMissing maps a lookup's no-rows error (the driver's noRows) to
// ErrNotFound.
func campaignMissing(err, noRows error, id string) error {
	if errors.Is(err, noRows) {
		return fmt.Errorf("%w: campaign %q", ErrNotFound, id)
	}
	return err
}

// stored is a row Rewrap reads: a key id or secret name, and its bytes.
type stored[N any] struct {
	Name  N
	Value []byte
}

// rewrite passes each row through fn and stores with update what fn
// changed (Rewrap's loop, for either store).
func rewrite[N any](rows []stored[N], fn func(N, []byte) ([]byte, error), update func(N, []byte) error) error {
	for _, r := range rows {
		value, err := fn(r.Name, r.Value)
		if err != nil {
			return err
		}
		if value != nil {
			if err := update(r.Name, value); err != nil {
				return err
			}
		}
	}
	return nil
}
