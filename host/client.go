package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/wisp-project/wisp/internal/wire"
)

// Client is a device's connection to an aggregator. It sends only sealed
// reports and fetches only public configuration: no device identifier, no
// cookie, nothing beyond what HTTP itself carries.
type Client struct {
	// BaseURL is the aggregator's address, e.g. http://127.0.0.1:8080.
	BaseURL string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
}

func (c *Client) http() *http.Client {
	if c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
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
	return c.uploadBody(ctx, body, len(reports), false)
}

// uploadEncoded is Upload for envelopes already encoded: the outbox sends
// the bytes it stored, one report per call, each on a connection of its
// own (closed after the response), so two of a device's reports never
// share a request or a kept-alive connection.
func (c *Client) uploadEncoded(ctx context.Context, reports [][]byte) (IngestResponse, error) {
	body, err := wire.EncodeRawBatch(reports)
	if err != nil {
		return IngestResponse{}, err
	}
	return c.uploadBody(ctx, body, len(reports), true)
}

func (c *Client) uploadBody(ctx context.Context, body []byte, n int, closeConn bool) (IngestResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"/v1/reports", bytes.NewReader(body))
	if err != nil {
		return IngestResponse{}, err
	}
	req.Close = closeConn
	req.Header.Set("Content-Type", "application/cbor")
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

func (c *Client) do(req *http.Request) ([]byte, error) {
	resp, err := c.http().Do(req)
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
