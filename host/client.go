package host

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/wisp-project/wisp/internal/ohttp"
	"github.com/wisp-project/wisp/internal/wire"
)

// Client is a device's connection to an aggregator. It sends only sealed
// reports and fetches only public configuration: no device identifier, no
// cookie, nothing beyond what HTTP itself carries.
//
// With Relay set, the aggregator does not even see the device's address:
// every request (HPKE configs, campaigns, uploads) is sealed to the
// aggregator's Oblivious HTTP gateway key (RFC 9458) and sent to the relay,
// which forwards it to the gateway; the relay sees the address but not the
// request. Only the gateway's key configuration is fetched directly from
// BaseURL (GET /v1/ohttp-keys: public, the same for every device; it tells
// the aggregator that this address runs Wisp and when it fetched, nothing
// else). It is cached for a day and fetched again when the gateway refuses
// it. A Client must not be copied after first use.
type Client struct {
	// BaseURL is the aggregator's address, e.g. http://127.0.0.1:8080.
	BaseURL string
	// HTTP is the client to use; nil means http.DefaultClient. With Relay,
	// its Transport carries the requests to the relay and the key fetch.
	HTTP *http.Client
	// Relay is an Oblivious HTTP relay's URL that forwards to BaseURL's
	// gateway (POST BaseURL/v1/ohttp); "" talks to BaseURL directly.
	Relay string

	mu        sync.Mutex
	keys      *ohttp.KeyConfig
	keysAt    time.Time
	relayHTTP *http.Client
}

// NewHTTPClient is the HTTP client a device uses by default: a 30 s
// timeout per request and TLS 1.2 or newer, verifying the server's
// certificate against roots (nil: the system's roots).
func NewHTTPClient(roots *x509.CertPool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	return &http.Client{Timeout: 30 * time.Second, Transport: t}
}

// ohttpKeysMaxAge is how long a fetched gateway key configuration is used.
const ohttpKeysMaxAge = 24 * time.Hour

func (c *Client) direct() *http.Client {
	if c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}

// http is the client for the aggregator's device routes: direct, or the
// relay's when Relay is set.
func (c *Client) http() *http.Client {
	if c.Relay == "" {
		return c.direct()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.relayHTTP == nil {
		d := c.direct()
		// A client of its own: no cookie jar, nothing but what each request sets.
		c.relayHTTP = &http.Client{Timeout: d.Timeout, Transport: &ohttp.Transport{Relay: c.Relay, Keys: c.gatewayKeys, Base: d.Transport}}
	}
	return c.relayHTTP
}

// gatewayKeys returns the gateway's key configuration, fetching it from
// BaseURL when there is none, it is a day old, or refresh is set.
func (c *Client) gatewayKeys(ctx context.Context, refresh bool) (ohttp.KeyConfig, error) {
	c.mu.Lock()
	if c.keys != nil && !refresh && time.Since(c.keysAt) < ohttpKeysMaxAge {
		k := *c.keys
		c.mu.Unlock()
		return k, nil
	}
	c.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/v1/ohttp-keys", nil)
	if err != nil {
		return ohttp.KeyConfig{}, err
	}
	body, err := c.doWith(c.direct(), req)
	if err != nil {
		return ohttp.KeyConfig{}, err
	}
	cs, err := ohttp.ParseKeyConfigs(body)
	if err != nil {
		return ohttp.KeyConfig{}, fmt.Errorf("host: OHTTP key configs: %w", err)
	}
	c.mu.Lock()
	c.keys, c.keysAt = &cs[0], time.Now()
	c.mu.Unlock()
	return cs[0], nil
}

// KeyConfigs fetches the aggregator's HPKE configurations.
func (c *Client) KeyConfigs(ctx context.Context) (KeyConfigList, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/v1/hpke-config", nil)
	if err != nil {
		return KeyConfigList{}, err
	}
	body, err := c.do(req)
	if err != nil {
		return KeyConfigList{}, err
	}
	return wire.DecodeKeyConfigList(body)
}

// Upload sends a batch of sealed reports and returns the aggregator's
// per-report results. An error means nothing in the batch is known to be
// stored: the batch may be retried as it is (replays are rejected).
func (c *Client) Upload(ctx context.Context, reports []Envelope) (IngestResponse, error) {
	body, err := wire.EncodeBatch(reports)
	if err != nil {
		return IngestResponse{}, err
	}
	return c.uploadBody(ctx, body, len(reports), false, "")
}

// uploadEncoded is Upload for envelopes already encoded: the outbox sends
// the bytes it stored, one report per call, each on a connection of its
// own (closed after the response), so two of a device's reports never
// share a request or a kept-alive connection.
//
// authorization, if not "", is the upload's Authorization header: the
// report token (privpass.AuthorizationHeader) of a one-report batch.
func (c *Client) uploadEncoded(ctx context.Context, reports [][]byte, authorization string) (IngestResponse, error) {
	body, err := wire.EncodeRawBatch(reports)
	if err != nil {
		return IngestResponse{}, err
	}
	return c.uploadBody(ctx, body, len(reports), true, authorization)
}

func (c *Client) uploadBody(ctx context.Context, body []byte, n int, closeConn bool, authorization string) (IngestResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"/v1/reports", bytes.NewReader(body))
	if err != nil {
		return IngestResponse{}, err
	}
	req.Close = closeConn
	req.Header.Set("Content-Type", "application/cbor")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	b, err := c.do(req)
	if err != nil {
		return IngestResponse{}, err
	}
	var resp IngestResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		return IngestResponse{}, fmt.Errorf("host: upload: response: %w", err)
	}
	if len(resp.Results) != n {
		return IngestResponse{}, fmt.Errorf("host: upload: %d results for %d reports", len(resp.Results), n)
	}
	return resp, nil
}

// ErrBusy is wrapped by the error of a request the aggregator turned away
// for load (429 or 503); see BusyError for how long it asked to wait.
var ErrBusy = errors.New("host: aggregator busy")

// BusyError is an aggregator's "come back later". RetryAfter is its
// Retry-After header (0 if it sent none).
type BusyError struct {
	Status     int
	RetryAfter time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("host: aggregator busy (%d), retry after %v", e.Status, e.RetryAfter)
}

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

func (c *Client) do(req *http.Request) ([]byte, error) { return c.doWith(c.http(), req) }

func (c *Client) doWith(hc *http.Client, req *http.Request) ([]byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("host: %s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("host: %s %s: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		busy := &BusyError{Status: resp.StatusCode}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			busy.RetryAfter = time.Duration(min(secs, 86400)) * time.Second
		}
		return nil, fmt.Errorf("host: %s %s: %w", req.Method, req.URL.Path, busy)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("host: %s %s: %s: %s", req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(body))
	}
	return body, nil
}
