package host

import (
	"crypto/ed25519"
	"crypto/x509"
	"io"
	"net/http"
	"time"

	"github.com/wisp-project/wisp/host/internal/ledger"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/internal/privpass"
)

// DeviceConfig configures a Device. It is an immutable value: each With
// method returns a copy. The zero value is not useful; start from
// NewDeviceConfig.
type DeviceConfig struct {
	runtime       sandbox.RuntimeConfig
	cacheDirSet   bool
	sandbox       *sandbox.Runtime
	sharedModules string
	aggregatorURL string
	httpClient    *http.Client
	rootCAs       *x509.CertPool
	relayURL      string
	campaignKey   []byte
	now           func() time.Time
	entropy       io.Reader
	allowUnsigned bool
	taxonomy      *Taxonomy

	retention    time.Duration
	halfLife     time.Duration
	scoreWindow  time.Duration
	dailyEpsilon float64
	// The long-term budgets (host/internal/ledger): ε per category and per
	// device over longWindow.
	categoryEpsilon float64
	deviceEpsilon   float64
	longWindow      time.Duration

	maxSendDelay   time.Duration
	backoffBase    time.Duration
	backoffMax     time.Duration
	reportValidity time.Duration
	dummyRate      float64
	syncEvery      time.Duration

	// credential is the device maker's credential for report tokens
	// (WithDeviceCredential); nil: none, campaigns that require tokens
	// are not answered.
	credential *deviceCredential

	// verified is shared by every copy of the config: what one of its
	// devices verified, the others need not (verifycache.go).
	verified *verifyCache
}

type deviceCredential struct {
	cred privpass.Credential
	key  ed25519.PrivateKey
}

// NewDeviceConfig returns the defaults: DefaultPolicy and an empty trust
// store (only signed plugins from trusted authors install), no aggregator,
// the system clock and crypto/rand, events kept 30 days, interests halving
// every 7 days without fresh evidence and scored over the last 7 days of
// events, a device-wide budget of ε = 4 in any 24 hours and, over any 365
// days, of ε = 8 on answers about any one category and ε = 64 in all
// (WithLifetimeBudget; docs/PRIVACY.md says why), a random send delay
// of up to 1 hour, retries backing off from 1 minute to 6 hours (with
// jitter), reports valid until 1 hour after their epoch ends (the
// aggregator's default grace), no dummy
// reports, and campaigns re-fetched every 6 hours.
func NewDeviceConfig() DeviceConfig {
	return DeviceConfig{
		runtime:         sandbox.NewRuntimeConfig(),
		now:             time.Now,
		retention:       30 * 24 * time.Hour,
		halfLife:        7 * 24 * time.Hour,
		scoreWindow:     7 * 24 * time.Hour,
		dailyEpsilon:    4,
		categoryEpsilon: ledger.DefaultCategoryCap,
		deviceEpsilon:   ledger.DefaultDeviceCap,
		longWindow:      ledger.DefaultLongWindow,
		maxSendDelay:    time.Hour,
		backoffBase:     time.Minute,
		backoffMax:      6 * time.Hour,
		reportValidity:  time.Hour,
		syncEvery:       6 * time.Hour,
		verified:        newVerifyCache(),
	}
}

// WithRuntime sets the plugin runtime's configuration: the device maker's
// policy caps, the trust store of plugin authors, the log sink. Without a
// compile cache directory, the device keeps one under its data directory.
func (c DeviceConfig) WithRuntime(rc sandbox.RuntimeConfig) DeviceConfig {
	c.runtime = rc
	c.cacheDirSet = rc.CompilationCacheDir() != ""
	return c
}

// WithSandbox makes the device run its plugins in rt, a plugin runtime the
// caller made (sandbox.NewRuntimeWithConfig), owns and closes after every
// device that uses it; WithRuntime's configuration is then unused. Devices
// sharing a runtime share each plugin's compiled module, so a process that
// runs many devices (a fleet simulator, a TV with a profile per member of
// the household) validates and compiles a plugin once, not once per device;
// each device still runs its own instances, which share no memory or state
// with another device's (sandbox.Runtime.Load). They also share the
// runtime's trust store, policy, log sink and its bound on concurrent
// plugin calls (sandbox.RuntimeConfig.WithMaxConcurrentCalls). nil: the
// device makes a runtime of its own from WithRuntime's configuration.
func (c DeviceConfig) WithSandbox(rt *sandbox.Runtime) DeviceConfig {
	c.sandbox = rt
	return c
}

// WithSharedModules makes the device keep its plugins' modules as hard
// links to files in dir, a folder the devices of one process (or of one
// machine) share: a module already there is linked, not written again, so
// many devices installing one plugin store its bytes once (a fleet
// simulator's 10,000 wearables, one 2.6 MB file). Each device's data
// directory still holds every module it names (a link counts as a copy:
// removing dir takes nothing from a device), and every load checks the
// bytes against the digest the device stored; devices never remove dir's
// files. If a link cannot be made (dir on another file system), the device
// writes a copy of its own. "": no sharing.
func (c DeviceConfig) WithSharedModules(dir string) DeviceConfig {
	c.sharedModules = dir
	return c
}

// WithTaxonomy sets the taxonomy the device's plugins score and its
// campaigns name (nil: the IAB Audience Taxonomy 1.1, DefaultTaxonomy). It
// must be the one the aggregator was given, or campaigns that name
// categories it lacks are refused.
func (c DeviceConfig) WithTaxonomy(t *Taxonomy) DeviceConfig {
	c.taxonomy = t
	return c
}

// WithAggregator sets the aggregator the device fetches campaigns from and
// sends reports to, and the HTTP client to reach it (nil: a client with a
// 30 s timeout).
func (c DeviceConfig) WithAggregator(baseURL string, client *http.Client) DeviceConfig {
	c.aggregatorURL, c.httpClient = baseURL, client
	return c
}

// WithRootCAs makes the device trust only pool's certificate authorities
// for the aggregator's (and the relay's) TLS certificate, instead of the
// system's: a private CA, or a test's. It configures the default HTTP
// client; a client given to WithAggregator brings its own TLS settings,
// and Open refuses both at once.
func (c DeviceConfig) WithRootCAs(pool *x509.CertPool) DeviceConfig {
	c.rootCAs = pool
	return c
}

// WithDeviceCredential gives the device its maker's credential and the
// device key it holds (ProvisionDevice), with which it asks a
// campaign's report-token issuer for its one token per campaign epoch
// (docs/DEVICE.md "Report tokens"). Without one, the device does not
// answer campaigns that require report tokens: their reports would be
// refused, and the budget spent for nothing.
func (c DeviceConfig) WithDeviceCredential(cred DeviceCredential, key ed25519.PrivateKey) DeviceConfig {
	c.credential = &deviceCredential{cred: cred, key: key}
	return c
}

// WithRelay sends every request to the aggregator through an Oblivious
// HTTP relay (RFC 9458) at relayURL, sealed to the aggregator's gateway
// key, so the aggregator never sees the device's address; the relay sees
// the address but cannot read or change a request. Only the gateway's
// public key configuration is fetched from the aggregator directly (see
// Client.Relay). "" talks to the aggregator directly. The HTTP client of
// WithAggregator carries the requests to the relay.
func (c DeviceConfig) WithRelay(relayURL string) DeviceConfig {
	c.relayURL = relayURL
	return c
}

// WithClock makes the device read time from now; tests pass a fake clock.
func (c DeviceConfig) WithClock(now func() time.Time) DeviceConfig {
	c.now = now
	return c
}

// WithEntropy sets the randomness for report ids, HPKE, send delays and
// jitter (nil: crypto/rand). The randomized-response noise itself always
// comes from the operating system's secure generator.
func (c DeviceConfig) WithEntropy(r io.Reader) DeviceConfig {
	c.entropy = r
	return c
}

// WithUnsignedPlugins lets InstallUnsigned install plugins with no signed
// manifest. For development boards and trying Wisp out only: a shipped
// device should accept only plugins its trust store vouches for.
func (c DeviceConfig) WithUnsignedPlugins(allow bool) DeviceConfig {
	c.allowUnsigned = allow
	return c
}

// WithRetention sets how long events are kept by default (a plugin's own
// retention is set with Device.SetRetention).
func (c DeviceConfig) WithRetention(d time.Duration) DeviceConfig {
	c.retention = d
	return c
}

// WithProfile sets how the interest profile evolves: scores are computed
// over the last window of events and an interest halves every halfLife
// without fresh evidence.
func (c DeviceConfig) WithProfile(window, halfLife time.Duration) DeviceConfig {
	c.scoreWindow, c.halfLife = window, halfLife
	return c
}

// WithDailyBudget caps the ε the device spends on all campaigns together
// in any 24 hours (host/internal/ledger).
func (c DeviceConfig) WithDailyBudget(epsilon float64) DeviceConfig {
	c.dailyEpsilon = epsilon
	return c
}

// The long-term budgets' defaults (WithLifetimeBudget; docs/PRIVACY.md,
// "Long-term budgets", justifies them).
const (
	DefaultCategoryEpsilon = ledger.DefaultCategoryCap // ε per category over the window
	DefaultLifetimeEpsilon = ledger.DefaultDeviceCap   // ε of all answers over the window
	DefaultLifetimeWindow  = ledger.DefaultLongWindow  // 365 days
)

// WithLifetimeBudget sets the long-term privacy budgets: over any window
// (365 days by default), at most perCategory ε on the answers that depend
// on any one taxonomy category — a threshold or a mean of it, a top_k
// question that lists it among its candidates — and at most perDevice ε on
// all answers together. They bound what whoever defines every campaign can
// learn about one interest, and in total, however many campaigns it
// registers. Erasing everything (Forget("")) starts a new window; nothing
// else does. The defaults are 8, 64 and 365 days.
func (c DeviceConfig) WithLifetimeBudget(perCategory, perDevice float64, window time.Duration) DeviceConfig {
	c.categoryEpsilon, c.deviceEpsilon, c.longWindow = perCategory, perDevice, window
	return c
}

// WithSendDelay sets the largest random delay between answering a
// campaign and sending the report, so the moment a report leaves does not
// tell when the events happened. Zero sends at the next run.
func (c DeviceConfig) WithSendDelay(max time.Duration) DeviceConfig {
	c.maxSendDelay = max
	return c
}

// WithRetry sets the exponential backoff for failed uploads (from base,
// doubling, at most max, each delay jittered) and how long after its
// epoch ends a queued report may still be sent. Set validity to the
// aggregator's grace: it refuses reports of a closed epoch, so the device
// drops (and logs) them instead of sending them.
func (c DeviceConfig) WithRetry(base, max, validity time.Duration) DeviceConfig {
	c.backoffBase, c.backoffMax, c.reportValidity = base, max, validity
	return c
}

// WithDummyReports queues, with probability rate per answered campaign and
// epoch, one extra report that carries no answer and spends no budget. It
// is sealed and padded like a real one, so an observer of the network
// cannot tell how many real answers a device sends; the aggregator opens
// and discards it.
func (c DeviceConfig) WithDummyReports(rate float64) DeviceConfig {
	c.dummyRate = rate
	return c
}

// WithCampaignKey provisions the aggregator's Ed25519 campaign-signing
// public key: the device answers only campaigns (and accepts only
// catalogues) signed by it. Ship it with the firmware; without it the
// device answers nothing (ErrNoCampaignKey). The device never takes the
// key the aggregator advertises, since whoever sits between the two could
// then sign its own questions.
func (c DeviceConfig) WithCampaignKey(pub []byte) DeviceConfig {
	c.campaignKey = append([]byte(nil), pub...)
	return c
}
