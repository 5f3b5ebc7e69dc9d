package aggregator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/prio"
	"github.com/wisp-project/wisp/internal/wire"
)

// hostileLeader speaks to a helper as a leader that ignores the epoch
// rules: it provisions the campaign with a verify key of its own (so it can
// prepare its side of any report) and sends jobs for whatever epoch it
// likes, with reports that are otherwise perfectly valid.
type hostileLeader struct {
	p  *pair
	vk prio.VerifyKey
}

func newHostileLeader(t *testing.T, p *pair) *hostileLeader {
	t.Helper()
	var list api.SignedCampaignList
	if err := json.Unmarshal(getBytes(t, p.leader.url()+"/v1/campaign-configs"), &list); err != nil || len(list.Campaigns) != 1 {
		t.Fatalf("campaign configs: %+v %v", list, err)
	}
	sc := list.Campaigns[0]
	h := &hostileLeader{p: p, vk: prio.NewVerifyKey()}
	if r := postPeer(t, p.helper.url()+"/v1/prio3/campaigns", peerToken, map[int]any{1: 1, 2: "acme", 3: []byte(sc.Config), 4: sc.Signature, 5: h.vk[:]}); r.status != http.StatusOK {
		t.Fatalf("provisioning: %d %s", r.status, r.body)
	}
	return h
}

// job sends n true reports for epoch to the helper and returns the
// outcome and reason of each.
func (h *hostileLeader) job(t *testing.T, epoch uint32, n int) (outcomes []uint64, reasons []string) {
	t.Helper()
	p := h.p
	agg, err := prio.NewAggregator(p.params, prio.AppContext(p.camp.ID), prio.Leader, h.vk)
	if err != nil {
		t.Fatal(err)
	}
	hk, err := p.camp.Prio3.HelperKeyConfig()
	if err != nil {
		t.Fatal(err)
	}
	var reports []map[int]any
	for range n {
		rep, err := p.client.Shard(prio.Bit(true))
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := wire.SealPrio3(p.camp.ID, epoch, rep, p.leaderKey, hk)
		if err != nil {
			t.Fatal(err)
		}
		_, prep, err := agg.PrepInit(prio.Nonce(sealed.ID), sealed.Public, rep.Leader)
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, map[int]any{1: sealed.ID, 2: sealed.Public, 3: sealed.Helper, 4: prep})
	}
	r := postPeer(t, p.helper.url()+"/v1/prio3/aggregate", peerToken, map[int]any{1: 1, 2: p.camp.ID, 3: epoch, 4: reports})
	if r.status != http.StatusOK {
		t.Fatalf("job for epoch %d: %d %s", epoch, r.status, r.body)
	}
	var res map[int]any
	if err := cbor.Unmarshal(r.body, &res); err != nil {
		t.Fatal(err)
	}
	for _, x := range res[2].([]any) {
		m := x.(map[any]any)
		reason, _ := m[uint64(4)].(string)
		outcomes, reasons = append(outcomes, m[uint64(2)].(uint64)), append(reasons, reason)
	}
	if len(outcomes) != n {
		t.Fatalf("job of %d reports: %d results", n, len(outcomes))
	}
	return outcomes, reasons
}

// helperAggregated is how many reports the helper counted in epoch.
func (p *pair) helperAggregated(t *testing.T, epoch uint32) int64 {
	t.Helper()
	for _, b := range p.batches(t, p.helper) {
		if b.Epoch == epoch {
			return b.Aggregated
		}
	}
	return 0
}

// TestPrio3HelperEpochRules: a hostile leader sends the helper valid
// reports for an epoch that has not begun and for epochs after the
// helper's copy of the campaign was paused; the helper refuses them with
// the leader's ingest reasons and counts nothing. The current epoch and the
// epoch of the pause are still prepared.
func TestPrio3HelperEpochRules(t *testing.T) {
	p := newPair(t)
	h := newHostileLeader(t, p)
	now := p.epoch()

	for _, future := range []uint32{now + 2, now + 1000} {
		outcomes, reasons := h.job(t, future, 4)
		for i := range outcomes {
			if outcomes[i] != 2 || reasons[i] != string(api.ReasonEpochTooEarly) {
				t.Errorf("job for future epoch %d: report %d answered %d %q, want rejected %s", future, i, outcomes[i], reasons[i], api.ReasonEpochTooEarly)
			}
		}
		if got := p.helperAggregated(t, future); got != 0 {
			t.Errorf("helper counted %d reports in future epoch %d", got, future)
		}
	}
	// 7 minutes before the next epoch: beyond the leader's 5-minute skew
	// by the helper's clock, within both aggregators' — an honest leader's
	// job when the helper's clock runs 2 minutes behind; prepared.
	p.clk.Set(time.Unix(int64(now+1)*3600, 0).Add(-7 * time.Minute))
	if outcomes, reasons := h.job(t, now+1, 2); outcomes[0] != 1 || outcomes[1] != 1 {
		t.Errorf("job for the epoch starting in 7 minutes: %v %v, want prepared", outcomes, reasons)
	}
	p.clk.Add(8 * time.Minute) // now in epoch now+1
	cur := p.epoch()
	if cur != now+1 {
		t.Fatalf("clock in epoch %d, want %d", cur, now+1)
	}
	if outcomes, _ := h.job(t, cur, 3); outcomes[0] != 1 || outcomes[2] != 1 {
		t.Fatalf("job for the current epoch: %v, want prepared", outcomes)
	}

	// The helper's operator pauses its copy: the epoch of the pause is still
	// prepared, later epochs are refused.
	ctx := context.Background()
	if _, err := p.helper.srv.SetLifecycle(ctx, aggregator.Principal{Role: aggregator.RoleOperator}, p.camp.ID, "pause"); err != nil {
		t.Fatal(err)
	}
	if outcomes, _ := h.job(t, cur, 1); outcomes[0] != 1 {
		t.Errorf("job for the epoch of the pause: %v, want prepared", outcomes)
	}
	p.clk.Add(time.Hour)
	outcomes, reasons := h.job(t, cur+1, 3)
	for i := range outcomes {
		if outcomes[i] != 2 || reasons[i] != string(api.ReasonCampaignPaused) {
			t.Errorf("job after the pause: report %d answered %d %q, want rejected %s", i, outcomes[i], reasons[i], api.ReasonCampaignPaused)
		}
	}
	if got := p.helperAggregated(t, cur+1); got != 0 {
		t.Errorf("helper counted %d reports after the pause", got)
	}
	if got := p.helperAggregated(t, cur); got != 2+3+1 {
		t.Errorf("helper counted %d reports in epoch %d, want 6", got, cur)
	}
}

// TestPrio3LeaderRefusesAfterPause: the leader's own ingest refuses a
// prio3 report for an epoch after the campaign was paused, as it refuses an
// LDP envelope, and still takes the epoch of the pause.
func TestPrio3LeaderRefusesAfterPause(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	epoch := p.epoch()
	if _, err := p.leader.srv.SetLifecycle(ctx, aggregator.Principal{Role: aggregator.RoleOperator}, p.camp.ID, "pause"); err != nil {
		t.Fatal(err)
	}
	if res := p.upload(t, p.device(t, epoch, prio.Bit(true), nil)); res.Accepted != 1 {
		t.Errorf("report for the epoch of the pause: %+v, want accepted", res)
	}
	p.clk.Add(time.Hour)
	res := p.upload(t, p.device(t, epoch+1, prio.Bit(true), nil))
	if res.Accepted != 0 || len(res.Results) != 1 || res.Results[0].Reason != api.ReasonCampaignPaused {
		t.Errorf("report for the epoch after the pause: %+v, want %s", res, api.ReasonCampaignPaused)
	}
}

// TestPrio3HelperAppliesItsPolicy: a leader cannot make the helper take
// part in a campaign the helper's operator does not allow. Before, the
// helper checked only central ε: a leader could provision a question on a
// special category of data (here Medical Health), a one-year epoch, or a
// config without report tokens (switching the helper's token check off).
// Now the helper applies its whole policy.
func TestPrio3HelperAppliesItsPolicy(t *testing.T) {
	p := newPair(t)
	var list api.SignedCampaignList
	if err := json.Unmarshal(getBytes(t, p.leader.url()+"/v1/campaign-configs"), &list); err != nil || len(list.Campaigns) != 1 {
		t.Fatalf("campaign configs: %+v %v", list, err)
	}
	sc := list.Campaigns[0]
	vk := prio.NewVerifyKey()
	provision := func(config []byte) peerResp {
		return postPeer(t, p.helper.url()+"/v1/prio3/campaigns", peerToken, map[int]any{1: 1, 2: "acme", 3: config, 4: sc.Signature, 5: vk[:]})
	}
	health := bytes.Replace(bytes.Replace(sc.Config, []byte(`"id":"runners-p3"`), []byte(`"id":"health-p3"`), 1), []byte(`"category":410`), []byte(`"category":466`), 1)
	if r := provision(health); r.status != http.StatusUnprocessableEntity || !bytes.Contains(r.body, []byte("special category")) {
		t.Errorf("a question on Medical Health: %d %s, want 422 (special category of data)", r.status, r.body)
	}
	all, err := p.helper.st.Campaigns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		if c.ID == "health-p3" {
			t.Error("the helper registered the refused campaign")
		}
	}
	// A helper whose operator requires report tokens refuses a config
	// without them (which would switch its token check off) and takes one
	// with them.
	strict := startNodeWith(t, aggregator.RoleHelper, p.clk, nil, 25, aggregator.Policy{MinK: 1, RequireReportTokens: true})
	if r := postPeer(t, strict.url()+"/v1/prio3/campaigns", peerToken, map[int]any{1: 1, 2: "acme", 3: []byte(sc.Config), 4: sc.Signature, 5: vk[:]}); r.status != http.StatusUnprocessableEntity || !bytes.Contains(r.body, []byte("report_tokens_required")) {
		t.Errorf("a config without report_tokens at a helper that requires them: %d %s, want 422", r.status, r.body)
	}
	withTokens := bytes.Replace(sc.Config, []byte(`"mode":"prio3"`), []byte(`"mode":"prio3","report_tokens":{"issuer_url":"https://issuer.example","issuer_name":"issuer.example"}`), 1)
	if r := postPeer(t, strict.url()+"/v1/prio3/campaigns", peerToken, map[int]any{1: 1, 2: "acme", 3: withTokens, 4: sc.Signature, 5: vk[:]}); r.status != http.StatusOK {
		t.Errorf("a config with report_tokens at a helper that requires them: %d %s", r.status, r.body)
	}
	frugal := startNodeWith(t, aggregator.RoleHelper, p.clk, nil, 25, aggregator.Policy{MinK: 1, MaxEpsilon: 0.5})
	if r := postPeer(t, frugal.url()+"/v1/prio3/campaigns", peerToken, map[int]any{1: 1, 2: "acme", 3: []byte(sc.Config), 4: sc.Signature, 5: vk[:]}); r.status != http.StatusUnprocessableEntity || !bytes.Contains(r.body, []byte("epsilon 1 is above")) {
		t.Errorf("central ε 1 at a helper whose limit is 0.5: %d %s, want 422", r.status, r.body)
	}
	long := bytes.Replace(bytes.Replace(sc.Config, []byte(`"id":"runners-p3"`), []byte(`"id":"slow-p3"`), 1), []byte(`"epoch_seconds":3600`), []byte(`"epoch_seconds":31536000`), 1)
	if r := provision(long); r.status != http.StatusUnprocessableEntity || !bytes.Contains(r.body, []byte("epoch_seconds")) {
		t.Errorf("a one-year epoch: %d %s, want 422", r.status, r.body)
	}
}
