package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/internal/api"
)

type apiResult = api.Result

// getSegments reads the segments as a marketer would: over HTTP.
func getSegments(ctx context.Context, baseURL, token string) ([]aggregator.Segment, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/v1/segments", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("demo: segments: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("demo: segments: %s", resp.Status)
	}
	var body aggregator.SegmentsResponse
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("demo: segments: %w", err)
	}
	return body.Segments, nil
}
