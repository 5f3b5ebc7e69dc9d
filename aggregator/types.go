package aggregator

import (
	"io"

	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
	"github.com/wisp-project/wisp/internal/wire"
)

// The server's public signatures use these names. They are aliases of the
// types the aggregator and the devices share (internal/), so both sides
// agree on one definition and an operator's module can still name them.
type (
	// Taxonomy is an immutable set of audience categories.
	Taxonomy = taxonomy.Taxonomy
	// Campaign is what a marketer asks and how privately it is answered.
	Campaign = campaign.Campaign
	// Question is a campaign's question to devices.
	Question = campaign.Question
	// QuestionType is a question's kind: threshold, top_k or mean.
	QuestionType = campaign.QuestionType
	// KeyPair is an HPKE key pair devices seal reports to.
	KeyPair = wire.KeyPair
	// Role is a bearer token's role.
	Role = api.Role
	// CreateTokenRequest asks for a new bearer token.
	CreateTokenRequest = api.CreateTokenRequest
	// TokenInfo describes a token (and carries its secret once, at creation).
	TokenInfo = api.TokenInfo
	// CampaignInfo is a campaign as the API returns it.
	CampaignInfo = api.CampaignInfo
	// KeyInfo describes an HPKE key and its rotation state.
	KeyInfo = api.KeyInfo
	// KeyState is where an HPKE key is in its rotation.
	KeyState = api.KeyState
	// TopKResult is a released top-k estimate.
	TopKResult = api.TopKResult
	// CategoryEstimate is one category of a top-k estimate.
	CategoryEstimate = api.CategoryEstimate
	// MeanResult is a released mean estimate.
	MeanResult = api.MeanResult
	// Reason is a machine-readable rejection reason.
	Reason = api.Reason
)

// Question types.
const (
	QuestionThreshold = campaign.QuestionThreshold
	QuestionTopK      = campaign.QuestionTopK
	QuestionMean      = campaign.QuestionMean
)

// Token roles.
const (
	RoleOperator = api.RoleOperator
	RoleMarketer = api.RoleMarketer
)

// DefaultTaxonomy is the IAB Audience Taxonomy 1.1 that Wisp embeds.
func DefaultTaxonomy() *Taxonomy { return taxonomy.Default() }

// ParseTaxonomy reads a taxonomy in the IAB Audience Taxonomy 1.1 TSV layout.
func ParseTaxonomy(r io.Reader) (*Taxonomy, error) { return taxonomy.Parse(r) }

// GenerateKeyPair makes an HPKE key pair with the given key id, for
// Config.Keys; most operators let New generate the first one.
func GenerateKeyPair(id uint8, rand io.Reader) (*KeyPair, error) {
	return wire.GenerateKeyPair(id, rand)
}
