package api

import (
	"encoding/json"
	"time"
)

// The marketer and operator API's JSON shapes (see docs/openapi.json).
// Every request except the device-facing ones carries
// "Authorization: Bearer <token>".

// Role is what a token may do.
type Role string

// Roles. An operator runs the aggregator: every tenant, keys, tokens. A
// marketer works for one tenant and sees only that tenant's campaigns.
const (
	RoleOperator Role = "operator"
	RoleMarketer Role = "marketer"
)

// IsValid reports whether r is a known role.
func (r Role) IsValid() bool { return r == RoleOperator || r == RoleMarketer }

// CampaignInfo is a registered campaign as the marketer API shows it: the
// campaign config (the fields of internal/campaign.Campaign), who owns it,
// and the signed config devices verify.
type CampaignInfo struct {
	Campaign  json.RawMessage `json:"campaign"`
	Tenant    string          `json:"tenant"`
	CreatedAt time.Time       `json:"created_at"`
	Signed    SignedCampaign  `json:"signed"`
	// State is "active", "paused" or "archived" (POST
	// /v1/campaigns/{id}/pause, /resume, /archive); StateChangedAt is when
	// it entered that state (absent while active since creation).
	State          string     `json:"state"`
	StateChangedAt *time.Time `json:"state_changed_at,omitempty"`
}

// CreateCampaignRequest is the body of POST /v1/campaigns: the campaign,
// and for operators the tenant it is created for (a marketer's own tenant
// is implied).
type CreateCampaignRequest struct {
	Campaign json.RawMessage `json:"campaign"`
	Tenant   string          `json:"tenant,omitempty"`
}

// SignedCampaign is a campaign config signed by the aggregator: Config is
// the exact JSON bytes signed, Signature the Ed25519 signature over
// "wisp campaign config v1\x00" || Config. JSON encodes both as base64.
type SignedCampaign struct {
	Config    []byte `json:"config"`
	Signature []byte `json:"signature"`
}

// SignedCampaignList is the body of GET /v1/campaign-configs.
type SignedCampaignList struct {
	Campaigns []SignedCampaign `json:"campaigns"`
}

// SigningKey is the body of GET /v1/campaign-signing-key.
type SigningKey struct {
	Algorithm string `json:"alg"`        // "Ed25519"
	PublicKey []byte `json:"public_key"` // 32 bytes, base64 in JSON
}

// CreateTokenRequest is the body of POST /v1/tokens (operators only).
type CreateTokenRequest struct {
	Role   Role   `json:"role"`
	Tenant string `json:"tenant,omitempty"` // required for marketers
	Name   string `json:"name"`
	// TTLSeconds makes the token expire this long after its creation;
	// 0 never.
	TTLSeconds int64 `json:"ttl_seconds,omitempty"`
}

// TokenInfo describes a token; the secret itself is shown once, on
// creation.
type TokenInfo struct {
	ID        string     `json:"id"` // hex SHA-256 of the secret: how to revoke it
	Role      Role       `json:"role"`
	Tenant    string     `json:"tenant,omitempty"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"` // absent: never
	Token     string     `json:"token,omitempty"`      // only in the creation response
}

// KeyState is where an HPKE key is in its rotation: pending (accepted, not
// yet advertised), active (advertised and accepted) or expired (neither).
type KeyState string

// Key states.
const (
	KeyPending KeyState = "pending"
	KeyActive  KeyState = "active"
	KeyExpired KeyState = "expired"
)

// IsValid reports whether s is a known state.
func (s KeyState) IsValid() bool { return s == KeyPending || s == KeyActive || s == KeyExpired }

// KeyInfo is one HPKE key's public state (GET /v1/keys, operators only).
type KeyInfo struct {
	ID        uint8     `json:"id"`
	State     KeyState  `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	ChangedAt time.Time `json:"changed_at"`
}

// KeyRotation is the body of POST /v1/keys/rotate's answer: what one
// rotation step changed and the keys after it.
type KeyRotation struct {
	Changes []string  `json:"changes"`
	Keys    []KeyInfo `json:"keys"`
}

// WhoAmI is the body of GET /v1/whoami: who the token acts for.
type WhoAmI struct {
	Role   Role   `json:"role"`
	Tenant string `json:"tenant,omitempty"`
	Name   string `json:"name"`
}

// IngestMetrics is the body of GET /v1/metrics: what one node ingested
// since it started, per campaign the caller may see (a marketer: their
// tenant's only). Reports that name no known campaign (garbage, another
// aggregator's) belong to no tenant and appear only in the operator's
// Prometheus /metrics.
type IngestMetrics struct {
	Since     time.Time        `json:"since"` // when this node started counting
	Campaigns []CampaignIngest `json:"campaigns"`
}

// CampaignIngest counts one campaign's reports at one node.
type CampaignIngest struct {
	Campaign string           `json:"campaign"`
	Tenant   string           `json:"tenant"`
	Accepted int64            `json:"accepted"`
	Rejected map[Reason]int64 `json:"rejected"` // by reason; absent reasons are 0
}

// Policy is the body of GET /v1/policy: the operator's limits on new
// campaigns and the epoch rules, so a form can check before submitting.
type Policy struct {
	MaxEpsilon       float64 `json:"max_epsilon"`
	MinEpochSeconds  int64   `json:"min_epoch_seconds"`
	MaxEpochSeconds  int64   `json:"max_epoch_seconds"`
	MinK             int     `json:"min_k"`
	ClockSkewSeconds int64   `json:"clock_skew_seconds"`
	GraceSeconds     int64   `json:"grace_seconds"`
	// SensitiveCategories are the taxonomy subtrees no campaign may ask
	// about; RequireReportTokens, whether campaigns need report_tokens.
	SensitiveCategories []uint32 `json:"sensitive_categories"`
	RequireReportTokens bool     `json:"require_report_tokens"`
}
