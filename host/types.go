package host

import (
	"crypto/ed25519"
	"io"

	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/privpass"
	"github.com/wisp-project/wisp/internal/taxonomy"
	"github.com/wisp-project/wisp/internal/wire"
)

// The device's public signatures use these names. They are aliases of the
// types the device and the aggregator share (internal/), so both sides
// agree on one definition and a device maker's module can still name them.
type (
	// Taxonomy is an immutable set of audience categories (IAB Audience
	// Taxonomy 1.1 layout).
	Taxonomy = taxonomy.Taxonomy
	// Category is one node of a Taxonomy.
	Category = taxonomy.Category
	// Campaign is a campaign as the aggregator publishes it: the question
	// devices answer and the privacy parameters of the answer.
	Campaign = campaign.Campaign
	// Envelope is one sealed report as it travels to the aggregator.
	Envelope = wire.Envelope
	// KeyConfig is an aggregator's public HPKE key configuration.
	KeyConfig = wire.KeyConfig
	// KeyConfigList is the aggregator's advertised HPKE configurations.
	KeyConfigList = wire.KeyConfigList
	// IngestResponse is the aggregator's answer to an upload.
	IngestResponse = api.IngestResponse
	// Reason is why the aggregator rejected a report.
	Reason = api.Reason
	// Codec is a validated campaign's mechanism, built once by
	// Campaign.Codec.
	Codec = campaign.Codec
	// DeviceCredential is a device's credential from its maker, presented
	// to a report-token issuer (WithDeviceCredential).
	DeviceCredential = privpass.Credential
)

// ProvisionDevice is the device maker's step for one device: a fresh
// device key and its credential signed by maker, for the device to keep
// (WithDeviceCredential). The issuer is configured with maker's public key.
func ProvisionDevice(maker ed25519.PrivateKey, id string) (DeviceCredential, ed25519.PrivateKey, error) {
	return privpass.Provision(maker, id)
}

// ParseDeviceCredential decodes a credential as DeviceCredential.Marshal
// wrote it.
func ParseDeviceCredential(b []byte) (DeviceCredential, error) { return privpass.ParseCredential(b) }

// Reasons Client.Campaigns refuses a campaign config.
var (
	// ErrCampaignSignature: the config is not signed by the campaign key.
	ErrCampaignSignature = campaign.ErrSignature
	// ErrCampaignInvalid: the config does not validate against the taxonomy.
	ErrCampaignInvalid = campaign.ErrInvalid
)

// DefaultTaxonomy is the IAB Audience Taxonomy 1.1 that Wisp embeds.
func DefaultTaxonomy() *Taxonomy { return taxonomy.Default() }

// ParseTaxonomy reads a taxonomy in the IAB Audience Taxonomy 1.1 TSV layout.
func ParseTaxonomy(r io.Reader) (*Taxonomy, error) { return taxonomy.Parse(r) }
