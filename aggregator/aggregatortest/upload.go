package aggregatortest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/wisp-project/wisp/internal/api"
)

// UploadOne posts body, a POST /v1/reports batch of one report
// (wire.EncodeBatch or EncodeRawBatch), to the aggregator at baseURL with the Authorization header authorization (""
// for none) and returns its result; anything but a 200 with one result
// fails the test.
func UploadOne(t testing.TB, baseURL string, body []byte, authorization string) api.Result {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, baseURL+"/v1/reports", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/cbor")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	var ir api.IngestResponse
	if err != nil || resp.StatusCode != http.StatusOK || json.Unmarshal(b, &ir) != nil || len(ir.Results) != 1 {
		t.Fatalf("upload: %s %s %v", resp.Status, b, err)
	}
	return ir.Results[0]
}
