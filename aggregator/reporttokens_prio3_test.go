package aggregator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/prio"
	"github.com/wisp-project/wisp/internal/privpass"
	"github.com/wisp-project/wisp/internal/wire"
)

// tokenPair is a leader and a helper whose prio3 campaign requires report
// tokens from a test issuer.
func tokenPair(t testing.TB) (*pair, *testIssuer) {
	t.Helper()
	clk := newClock()
	ti := startIssuer(t, clk.Now)
	p := newPairWith(t, clk, prio.ForThreshold(), campaign.Question{Type: "threshold", Category: 410, MinScore: 0.6}, 25, func(c *campaign.Campaign) {
		c.ReportTokens = &campaign.ReportTokens{IssuerURL: ti.url, IssuerName: issuerName}
	})
	return p, ti
}

// uploadOne posts one encoded report to the leader with authorization
// ("" for none) and returns its result.
func (p *pair) uploadOne(t testing.TB, raw []byte, authorization string) api.Result {
	t.Helper()
	body, err := wire.EncodeRawBatch([][]byte{raw})
	if err != nil {
		t.Fatal(err)
	}
	return aggregatortest.UploadOne(t, p.leader.url(), body, authorization)
}

// TestPrio3ReportTokens: the leader verifies report tokens at ingest
// (missing and reused ones refused), keeps each with its report and
// forwards it in the aggregation job; the helper verifies every one
// itself. A compromised leader that forwards a reused token, a forged one
// and none gets those three reports refused by the helper — stored
// rejected there, so counted by neither aggregator.
func TestPrio3ReportTokens(t *testing.T) {
	p, ti := tokenPair(t)
	ctx := context.Background()
	epoch := p.epoch()
	const n = 8
	for i := range n {
		cred, key := ti.device(t, "device-"+string(rune('a'+i)))
		tok, err := ti.token(t, cred, key, p.camp.ID, epoch, p.clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if res := p.uploadOne(t, p.device(t, epoch, prio.Bit(i%2 == 0), nil), privpass.AuthorizationHeader(&tok)); !res.Accepted {
			t.Fatalf("report %d with a valid token: %+v", i, res)
		}
		if i == 0 {
			if res := p.uploadOne(t, p.device(t, epoch, prio.Bit(true), nil), privpass.AuthorizationHeader(&tok)); res.Reason != api.ReasonReportTokenReused {
				t.Fatalf("reused token at the leader: %+v", res)
			}
			if res := p.uploadOne(t, p.device(t, epoch, prio.Bit(true), nil), ""); res.Reason != api.ReasonReportTokenMissing {
				t.Fatalf("no token at the leader: %+v", res)
			}
		}
	}

	// The leader turns rogue in flight: report 1 gets report 0's token,
	// report 2 a forged one, report 3 none.
	aggregator.SetPrio3Client(p.leader.srv, &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == "/v1/prio3/aggregate" {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return nil, err
			}
			var job map[int]any
			if err := cbor.Unmarshal(b, &job); err != nil {
				return nil, err
			}
			reps := job[4].([]any)
			r0, r1, r2, r3 := reps[0].(map[any]any), reps[1].(map[any]any), reps[2].(map[any]any), reps[3].(map[any]any)
			r1[uint64(5)] = r0[uint64(5)]
			forged := bytes.Clone(r2[uint64(5)].([]byte))
			forged[len(forged)-1] ^= 1
			r2[uint64(5)] = forged
			delete(r3, uint64(5))
			if b, err = wire.Marshal(job); err != nil {
				return nil, err
			}
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}
		return http.DefaultTransport.RoundTrip(r)
	})})
	if err := p.leader.srv.RunPrio3Jobs(ctx); err != nil {
		t.Fatal(err)
	}
	for _, node := range []*node{p.leader, p.helper} {
		b := p.batches(t, node)
		if len(b) != 1 || b[0].Aggregated != n-3 || b[0].Pending != 0 {
			t.Errorf("%s batches %+v, want %d aggregated (3 refused by the helper), none pending", node.role, b, n-3)
		}
	}
	seg := p.collectExact(t, epoch)
	js, _ := json.Marshal(seg)
	if seg.Reports != n-3 {
		t.Errorf("released %s, want %d reports", js, n-3)
	}
	// The leader counts the helper's refusals by the helper's reasons (it
	// counted them all as bad_answer before): at ingest it refused one
	// reused and one missing token itself.
	for reason, want := range map[api.Reason]float64{api.ReasonReportTokenReused: 2, api.ReasonReportTokenInvalid: 1,
		api.ReasonReportTokenMissing: 2, api.ReasonBadAnswer: 0} {
		if got := p.leader.rejected(t, reason); got != want {
			t.Errorf("leader counted %v reports rejected for %s, want %v", got, reason, want)
		}
	}
}
