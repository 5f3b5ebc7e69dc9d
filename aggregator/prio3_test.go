package aggregator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudflare/circl/vdaf/prio3/arith/fp64"
	"github.com/fxamacker/cbor/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/aggregator/store/storetest"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/dpnoise"
	"github.com/wisp-project/wisp/internal/prio"
	"github.com/wisp-project/wisp/internal/wire"
)

const peerToken = "peer-token-for-tests-0123456789abcdef"

// node is one aggregator of a prio3 pair: a real server on a real SQLite
// file and a real 127.0.0.1 listener, which the test can stop and start
// again on the same address and file (a restart).
type node struct {
	t      testing.TB
	role   aggregator.Prio3Role
	spec   string // the store
	addr   string
	clk    *clock
	camps  []campaign.Campaign
	job    int // reports per aggregation job
	srv    *aggregator.Server
	st     store.Store
	hs     *aggregator.HTTPServer
	jobs   atomic.Int64 // aggregation jobs the node answered (helper)
	silent atomic.Int64 // jobs to run and then answer 502, as if the connection died
	reg    *prometheus.Registry
	policy aggregator.Policy
}

func startNode(t testing.TB, role aggregator.Prio3Role, clk *clock, camps []campaign.Campaign, job int) *node {
	// A helper applies its own policy to what the leader provisions: this
	// one allows the tests' small k.
	return startNodeWith(t, role, clk, camps, job, aggregator.Policy{MinK: 1})
}

// startNodeWith is startNode under policy.
func startNodeWith(t testing.TB, role aggregator.Prio3Role, clk *clock, camps []campaign.Campaign, job int, policy aggregator.Policy) *node {
	n := &node{t: t, role: role, spec: storeSpec(t, string(role)), clk: clk, camps: camps, job: job, policy: policy}
	n.start()
	t.Cleanup(n.stop)
	return n
}

// storeSpec is a fresh SQLite file for name, or with usePostgres set a
// fresh schema in the test PostgreSQL.
var storeSpec = func(t testing.TB, name string) string {
	return "sqlite:" + filepath.Join(t.TempDir(), name+".db")
}

func (n *node) url() string { return "http://" + n.addr }

// rejected is the node's count of reports rejected for reason.
func (n *node) rejected(t testing.TB, reason api.Reason) float64 {
	t.Helper()
	fams, err := n.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "wisp_ingest_reports_rejected_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == string(reason) {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func (n *node) start() {
	t := n.t
	t.Helper()
	st, err := store.Open(context.Background(), n.spec)
	if err != nil {
		t.Fatal(err)
	}
	n.reg = prometheus.NewRegistry()
	srv, err := aggregator.New(aggregator.Config{Store: st, Taxonomy: mustTax(t), Now: n.clk.Now, Campaigns: n.camps, Tenant: "acme",
		Prio3: aggregator.Prio3Options{Role: n.role, PeerToken: peerToken, JobSize: n.job}, Registry: n.reg, Policy: n.policy})
	if err != nil {
		t.Fatal(err)
	}
	addr := n.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	n.addr = ln.Addr().String()
	h := srv.Handler()
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/prio3/aggregate" {
			h.ServeHTTP(w, r)
			return
		}
		n.jobs.Add(1)
		if n.silent.Load() > 0 {
			n.silent.Add(-1)
			h.ServeHTTP(httptest.NewRecorder(), r) // the helper does the work …
			http.Error(w, "connection lost", http.StatusBadGateway)
			return // … and its answer never arrives
		}
		h.ServeHTTP(w, r)
	})
	n.srv, n.st = srv, st
	n.hs = aggregator.NewHTTPServer(counted, aggregator.HTTPOptions{})
	go n.hs.Serve(ln)
}

func (n *node) stop() {
	if n.hs == nil {
		return
	}
	n.hs.Close()
	n.st.Close()
	n.hs = nil
}

// pair is a leader and a helper with one prio3 threshold campaign.
type pair struct {
	leader, helper *node
	clk            *clock
	camp           campaign.Campaign
	params         prio.Params
	client         *prio.Client
	leaderKey      wire.KeyConfig // what devices seal the leader's share to
}

func newPair(t testing.TB) *pair {
	return newPairFor(t, prio.ForThreshold(), campaign.Question{Type: "threshold", Category: 410, MinScore: 0.6}, 25)
}

// newPairFor is newPair with another question and its instance.
func newPairFor(t testing.TB, params prio.Params, q campaign.Question, job int) *pair {
	return newPairWith(t, newClock(), params, q, job, nil)
}

// newPairWith is newPairFor on clock clk, edit (if not nil) changing the
// campaign before the leader registers it.
func newPairWith(t testing.TB, clk *clock, params prio.Params, q campaign.Question, job int, edit func(*campaign.Campaign)) *pair {
	helper := startNode(t, aggregator.RoleHelper, clk, nil, job)
	keys := getBytes(t, helper.url()+"/v1/hpke-config")
	enc, err := prio.EncodeParams(params)
	if err != nil {
		t.Fatal(err)
	}
	camp := campaign.Campaign{ID: "runners-p3", Name: "Runners (prio3)", Question: q,
		EpochSeconds: 3600, K: 3, Mode: campaign.ModePrio3,
		Prio3: &campaign.Prio3{Params: enc, CentralEpsilon: 1, MinBatch: 5, HelperURL: helper.url(), HelperKeys: keys}}
	if edit != nil {
		edit(&camp)
	}
	leader := startNode(t, aggregator.RoleLeader, clk, []campaign.Campaign{camp}, job)
	c, err := prio.NewClient(params, prio.AppContext(camp.ID))
	if err != nil {
		t.Fatal(err)
	}
	return &pair{leader: leader, helper: helper, clk: clk, camp: camp, params: params, client: c,
		leaderKey: firstKey(t, getBytes(t, leader.url()+"/v1/hpke-config"))}
}

func getBytes(t testing.TB, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s %v", url, resp.StatusCode, b, err)
	}
	return b
}

func firstKey(t testing.TB, list []byte) wire.KeyConfig {
	t.Helper()
	l, err := wire.DecodeKeyConfigList(list)
	if err != nil || len(l.Configs) == 0 {
		t.Fatalf("key configs: %v %v", l, err)
	}
	return l.Configs[0]
}

// device makes one prio3 report as a device does: shard, seal each share to
// its aggregator. tamper, if not nil, changes the report before sealing.
func (p *pair) device(t testing.TB, epoch uint32, m prio.Measurement, tamper func(*prio.Report)) []byte {
	t.Helper()
	rep, err := p.client.Shard(m)
	if err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		tamper(&rep)
	}
	hk, err := p.camp.Prio3.HelperKeyConfig()
	if err != nil {
		t.Fatal(err)
	}
	r, err := wire.SealPrio3(p.camp.ID, epoch, rep, p.leaderKey, hk)
	if err != nil {
		t.Fatal(err)
	}
	b, err := wire.EncodePrio3Report(&r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// upload posts a batch of encoded reports to the leader.
func (p *pair) upload(t testing.TB, raw ...[]byte) api.IngestResponse {
	t.Helper()
	body, err := wire.EncodeRawBatch(raw)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(p.leader.url()+"/v1/reports", "application/cbor", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out api.IngestResponse
	if err := decodeJSONBody(resp, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func decodeJSONBody(resp *http.Response, v any) error {
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status + ": " + string(b))
	}
	return json.Unmarshal(b, v)
}

// population uploads yes true and no false reports for epoch and returns
// their encodings.
func (p *pair) population(t testing.TB, epoch uint32, yes, no int) [][]byte {
	t.Helper()
	var raw [][]byte
	for i := range yes + no {
		raw = append(raw, p.device(t, epoch, prio.Bit(i < yes), nil))
	}
	if res := p.upload(t, raw...); res.Accepted != yes+no {
		t.Fatalf("honest reports: %+v", res)
	}
	return raw
}

func (p *pair) epoch() uint32 { return p.camp.Epoch(p.clk.Now()) }

// closeEpoch moves past the epoch's release time (grace and settle).
func (p *pair) closeEpoch() { p.clk.Add(time.Hour + 2*time.Hour) }

func (p *pair) batches(t testing.TB, n *node) []store.Prio3Batch {
	t.Helper()
	b, err := n.st.Prio3Batches(context.Background(), p.camp.ID)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// collectExact closes the epoch and collects it without central noise.
func (p *pair) collectExact(t testing.TB, epoch uint32) aggregator.Segment {
	t.Helper()
	p.closeEpoch()
	aggregator.SetPrio3Noise(p.leader.srv, noNoise)
	aggregator.SetPrio3Noise(p.helper.srv, noNoise)
	seg, err := p.leader.srv.CollectPrio3(context.Background(), p.camp.ID, epoch)
	if err != nil {
		t.Fatal(err)
	}
	return seg
}

// noNoise: collections in this test add no central noise (exact counts).
func noNoise(*prio.AggShare, float64) error { return nil }

func seededNoise(seed uint64) func(*prio.AggShare, float64) error {
	var mu sync.Mutex
	src := dpnoise.SeededSource(seed)
	return func(a *prio.AggShare, eps float64) error {
		mu.Lock()
		defer mu.Unlock()
		return a.AddNoise(src, eps)
	}
}

// raiseFirst adds 1 to the first measurement element of a Count leader
// share after sharding: a device claiming 2 (or 1 for 0) under a proof of
// its true answer.
func raiseFirst(t testing.TB) func(*prio.Report) {
	return func(r *prio.Report) {
		var e, one fp64.Fp
		if err := e.UnmarshalBinary(r.Leader[:8]); err != nil {
			t.Fatal(err)
		}
		one.SetOne()
		e.AddAssign(&one)
		b, _ := e.MarshalBinary()
		r.Leader = append(append([]byte{}, b...), r.Leader[8:]...)
	}
}

// TestPrio3EndToEnd: devices → leader → jobs with the helper → release.
// Exact counts without noise; poisoned, tampered and replayed reports are
// counted by neither aggregator; collection refuses an open epoch and a
// second collection; a batch below min_batch is suppressed; with (seeded)
// noise the count lies within its exact 95% interval.
func TestPrio3EndToEnd(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	epoch := p.epoch()
	honest := p.population(t, epoch, 23, 37)

	// Replay at the leader.
	if res := p.upload(t, honest[0]); res.Accepted != 0 || res.Results[0].Reason != api.ReasonReplay {
		t.Fatalf("replayed report: %+v", res)
	}
	// A device raising its leader share (claiming 2): the proof fails when
	// the helper decides it. A helper share changed in transit: the helper
	// cannot open it. The leader accepted both.
	poisoned := p.device(t, epoch, prio.Bit(true), raiseFirst(t))
	tampered := p.device(t, epoch, prio.Bit(true), func(r *prio.Report) {})
	var tr wire.Prio3Report
	if err := cbor.Unmarshal(tampered, &tr); err != nil {
		t.Fatal(err)
	}
	tr.Helper.Sealed[0] ^= 1
	tampered, _ = wire.EncodePrio3Report(&tr)
	if res := p.upload(t, poisoned, tampered); res.Accepted != 2 {
		t.Fatalf("leader refused what only preparation can: %+v", res)
	}

	// Collection refuses an epoch still open.
	if _, err := p.leader.srv.CollectPrio3(ctx, p.camp.ID, epoch); err == nil {
		t.Fatal("collected an open epoch")
	}
	if err := p.leader.srv.RunPrio3Jobs(ctx); err != nil {
		t.Fatal(err)
	}
	want := []store.Prio3Batch{{Epoch: epoch, Aggregated: 60, Rejected: 2}}
	for _, n := range []*node{p.leader, p.helper} {
		if got := p.batches(t, n); !equalBatches(got, want) {
			t.Errorf("%s batches = %+v, want %+v", n.role, got, want)
		}
	}

	seg := p.collectExact(t, epoch)
	if seg.Mode != "prio3" || seg.Reports != 60 || seg.SizeEstimate == nil || seg.Estimate != 23 {
		t.Fatalf("released %+v, want exactly 23 of 60 (mode prio3)", seg)
	}
	if _, err := p.leader.srv.CollectPrio3(ctx, p.camp.ID, epoch); !errors.Is(err, aggregator.ErrReleased) {
		t.Errorf("second collection: %v, want ErrReleased", err)
	}
	// The helper gives its share once: the same bytes again, never fresh
	// noise, and nothing for a batch of another size.
	first := postPeer(t, p.helper.url()+"/v1/prio3/collect", peerToken, map[int]any{1: 1, 2: p.camp.ID, 3: epoch, 4: 60})
	again := postPeer(t, p.helper.url()+"/v1/prio3/collect", peerToken, map[int]any{1: 1, 2: p.camp.ID, 3: epoch, 4: 60})
	if first.status != http.StatusOK || !bytes.Equal(first.body, again.body) {
		t.Errorf("repeated helper collection: %d %x / %x", first.status, first.body, again.body)
	}
	if r := postPeer(t, p.helper.url()+"/v1/prio3/collect", peerToken, map[int]any{1: 1, 2: p.camp.ID, 3: epoch, 4: 61}); r.status != http.StatusConflict {
		t.Errorf("collection with another count: %d %s, want 409", r.status, r.body)
	}
	if r := postPeer(t, p.helper.url()+"/v1/prio3/collect", "wrong-token-0123456789abcdef0123456789", map[int]any{1: 1, 2: p.camp.ID, 3: epoch, 4: 60}); r.status != http.StatusUnauthorized {
		t.Errorf("collection with a wrong peer token: %d, want 401", r.status)
	}

	// Below min_batch: suppressed, and the helper refuses to collect it.
	small := p.epoch()
	p.population(t, small, 2, 2)
	if err := p.leader.srv.RunPrio3Jobs(ctx); err != nil {
		t.Fatal(err)
	}
	p.closeEpoch()
	if r := postPeer(t, p.helper.url()+"/v1/prio3/collect", peerToken, map[int]any{1: 1, 2: p.camp.ID, 3: small, 4: 4}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("collection below min_batch: %d %s, want 422", r.status, r.body)
	}
	seg, err := p.leader.srv.CollectPrio3(ctx, p.camp.ID, small)
	if err != nil || !seg.Suppressed || seg.SizeEstimate != nil || seg.Reports != 0 {
		t.Errorf("batch below min_batch released as %+v, %v; want suppressed", seg, err)
	}

	// With noise (seeded here; CryptoSource in production), through the
	// release loop: within the exact interval, variance of both draws.
	aggregator.SetPrio3Noise(p.leader.srv, seededNoise(1))
	aggregator.SetPrio3Noise(p.helper.srv, seededNoise(2))
	noisy := p.epoch()
	p.population(t, noisy, 40, 10)
	p.closeEpoch()
	if err := p.leader.srv.ReleaseDue(ctx); err != nil {
		t.Fatal(err)
	}
	segs, err := p.leader.srv.Segments(ctx, aggregator.Principal{Role: aggregator.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	var got *aggregator.Segment
	for i := range segs {
		if segs[i].Epoch == noisy {
			got = &segs[i]
		}
	}
	scale, _ := dpnoise.LaplaceScale(1, 1)
	lap, _ := dpnoise.NewLaplace(scale)
	h, _ := p.params.NoiseHalfWidth(1, 0.95)
	half := float64(h)
	if got == nil || got.SizeEstimate == nil {
		t.Fatalf("noisy epoch not released: %+v", segs)
	}
	t.Logf("noisy release: %v (true 40), variance %.3f, 95%% interval [%v, %v]", got.Estimate, got.Variance, got.CILow, got.CIHigh)
	if math.Abs(got.Variance-2*lap.Variance()) > 1e-9 || got.CILow != got.Estimate-half || got.CIHigh != got.Estimate+half ||
		got.CILow > 40 || got.CIHigh < 40 || got.Epsilon != 1 || got.Reports != 50 {
		t.Errorf("noisy release %+v: want variance %v, interval ±%v around the estimate covering 40", got.SizeEstimate, 2*lap.Variance(), half)
	}
}

func equalBatches(a, b []store.Prio3Batch) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

type peerResp struct {
	status int
	body   []byte
}

// postPeer posts a CBOR peer message (integer-keyed map) with token.
func postPeer(t *testing.T, url, token string, msg any) peerResp {
	t.Helper()
	b, err := wire.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return postBody(t, url, token, b)
}

// postBody posts an encoded peer message with token.
func postBody(t *testing.T, url, token string, body []byte) peerResp {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return peerResp{resp.StatusCode, b}
}

// TestPrio3HelperDown: the helper answers a job it stored but the answer
// is lost, then it is down, then it restarts. Nothing is released while it
// is down, nothing is lost, nothing is counted twice.
func TestPrio3HelperDown(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	epoch := p.epoch()
	p.population(t, epoch, 30, 20) // two jobs of 25

	p.helper.silent.Store(1) // the first job's answer is lost
	if err := p.leader.srv.RunPrio3Jobs(ctx); err == nil {
		t.Fatal("a lost answer went unnoticed")
	}
	if got := p.batches(t, p.leader); len(got) != 1 || got[0].Pending != 50 {
		t.Fatalf("leader after a lost answer: %+v, want all 50 pending", got)
	}
	if got := p.batches(t, p.helper); len(got) != 1 || got[0].Aggregated != 25 {
		t.Fatalf("helper after a lost answer: %+v, want the first job's 25 stored", got)
	}

	p.helper.stop()
	p.closeEpoch()
	if err := p.leader.srv.ReleaseDue(ctx); err == nil {
		t.Error("release pass with the helper down reported no problem")
	}
	if _, err := p.leader.srv.CollectPrio3(ctx, p.camp.ID, epoch); !errors.Is(err, aggregator.ErrHelper) {
		t.Errorf("collection with the helper down: %v, want ErrHelper", err)
	}
	if segs, _ := p.leader.srv.Segments(ctx, aggregator.Principal{Role: aggregator.RoleOperator}); len(segs) != 0 {
		t.Fatalf("released with the helper down: %+v", segs)
	}
	op, err := p.leader.srv.CreateToken(ctx, aggregator.CreateTokenRequest{Role: aggregator.RoleOperator, Name: "op"})
	if err != nil {
		t.Fatal(err)
	}
	status := func() aggregator.Prio3Batch {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, p.leader.url()+"/v1/campaigns/"+p.camp.ID+"/batches", nil)
		req.Header.Set("Authorization", "Bearer "+op.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Batches []aggregator.Prio3Batch }
		if err := decodeJSONBody(resp, &body); err != nil || len(body.Batches) != 1 {
			t.Fatalf("batches: %+v, %v", body, err)
		}
		return body.Batches[0]
	}
	if st := status(); st.Status != "blocked" || !strings.Contains(st.Error, "prio3 helper") || st.Pending != 50 {
		t.Errorf("status with the helper down: %+v, want blocked by the helper with 50 pending", st)
	}

	p.helper.start() // restart on the same file and address
	aggregator.SetPrio3Noise(p.leader.srv, noNoise)
	aggregator.SetPrio3Noise(p.helper.srv, noNoise)
	jobs := p.helper.jobs.Load()
	if err := p.leader.srv.ReleaseDue(ctx); err != nil {
		t.Fatal(err)
	}
	if p.helper.jobs.Load() == jobs {
		t.Error("the release pass ran no job")
	}
	segs, err := p.leader.srv.Segments(ctx, aggregator.Principal{Role: aggregator.RoleOperator})
	if err != nil || len(segs) != 1 || segs[0].Estimate != 30 || segs[0].Reports != 50 {
		t.Fatalf("after recovery: %+v, %v; want exactly 30 of 50", segs, err)
	}
	if st := status(); st.Status != "released" || st.Error != "" || st.Aggregated != 50 {
		t.Errorf("status after recovery: %+v", st)
	}
	for _, n := range []*node{p.leader, p.helper} {
		if got := p.batches(t, n); len(got) != 1 || got[0].Aggregated != 50 || got[0].Pending != 0 || !got[0].Collected {
			t.Errorf("%s after recovery: %+v", n.role, got)
		}
	}
}

// TestPrio3ReplayAtHelper: a job sent again (a leader retrying, or
// replaying) gets the same answers and changes no count; the same reports
// in another batch are refused as replays.
func TestPrio3ReplayAtHelper(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	epoch := p.epoch()
	p.population(t, epoch, 3, 7)
	var jobBody []byte
	aggregator.SetPrio3Client(p.leader.srv, &http.Client{Transport: recordingTransport(&jobBody)})
	if err := p.leader.srv.RunPrio3Jobs(ctx); err != nil {
		t.Fatal(err)
	}
	before := p.batches(t, p.helper)
	again := postBody(t, p.helper.url()+"/v1/prio3/aggregate", peerToken, jobBody)
	if again.status != http.StatusOK {
		t.Fatalf("repeated job: %d %s", again.status, again.body)
	}
	var res map[int]any
	if err := cbor.Unmarshal(again.body, &res); err != nil {
		t.Fatal(err)
	}
	for _, r := range res[2].([]any) {
		if r.(map[any]any)[uint64(2)] != uint64(1) {
			t.Errorf("repeated job: a report the helper aggregated now answered %v", r)
		}
	}
	if after := p.batches(t, p.helper); !equalBatches(before, after) {
		t.Errorf("repeated job changed the helper's batch: %+v → %+v", before, after)
	}
	// The same reports claimed for another (earlier: a later one has not
	// begun, TestPrio3HelperEpochRules) epoch: replays.
	var job map[int]any
	if err := cbor.Unmarshal(jobBody, &job); err != nil {
		t.Fatal(err)
	}
	job[3] = uint64(epoch - 1)
	moved, _ := wire.Marshal(job)
	r := postBody(t, p.helper.url()+"/v1/prio3/aggregate", peerToken, moved)
	if err := cbor.Unmarshal(r.body, &res); err != nil {
		t.Fatal(err)
	}
	for _, x := range res[2].([]any) {
		m := x.(map[any]any)
		if m[uint64(2)] != uint64(2) || m[uint64(4)] != string(api.ReasonReplay) {
			t.Errorf("a report moved to another batch answered %v, want a replay rejection", m)
		}
	}
	if got := p.batches(t, p.helper); len(got) != 2 || got[0].Epoch != epoch-1 || got[0].Aggregated != 0 {
		t.Errorf("helper batches after replays: %+v", got)
	}

	// The helper keeps the first verify key and config it was given.
	var list api.SignedCampaignList
	if err := json.Unmarshal(getBytes(t, p.leader.url()+"/v1/campaign-configs"), &list); err != nil || len(list.Campaigns) != 1 {
		t.Fatalf("campaign configs: %+v %v", list, err)
	}
	sc := list.Campaigns[0]
	other := bytes.Repeat([]byte{7}, 32)
	if r := postPeer(t, p.helper.url()+"/v1/prio3/campaigns", peerToken, map[int]any{1: 1, 2: "acme", 3: []byte(sc.Config), 4: sc.Signature, 5: other}); r.status != http.StatusConflict || !bytes.Contains(r.body, []byte("another verify key")) {
		t.Errorf("provisioning another verify key: %d %s, want 409", r.status, r.body)
	}
	changed := bytes.Replace(sc.Config, []byte(`"min_batch":5`), []byte(`"min_batch":6`), 1)
	if r := postPeer(t, p.helper.url()+"/v1/prio3/campaigns", peerToken, map[int]any{1: 1, 2: "acme", 3: changed, 4: sc.Signature, 5: other}); r.status != http.StatusConflict || !bytes.Contains(r.body, []byte("another config")) {
		t.Errorf("provisioning another config under the same id: %d %s, want 409", r.status, r.body)
	}
}

// recordingTransport keeps the body of the last aggregation job sent.
func recordingTransport(last *[]byte) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == "/v1/prio3/aggregate" {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return nil, err
			}
			*last = b
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		return http.DefaultTransport.RoundTrip(r)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestPrio3PostgresAndTopK runs a top-k campaign through leader and helper
// on PostgreSQL: exact counts per category without noise, a share raised
// after sharding refused by the leader's own PrepInit (the public share's
// commitment no longer matches) and counted nowhere.
func TestPrio3PostgresAndTopK(t *testing.T) {
	spec := storeSpec
	storeSpec = func(t testing.TB, _ string) string { return "postgres:" + storetest.PostgresDSN(t) }
	defer func() { storeSpec = spec }()
	cats := []uint32{408, 410, 415, 625}
	p := newPairFor(t, prio.ForTopK(len(cats), 2), campaign.Question{Type: campaign.QuestionTopK, Categories: cats, K: 2}, 4)
	ctx := context.Background()
	epoch := p.epoch()
	sets := [][]int{{0, 1}, {1}, {}, {1, 3}, {0, 3}, {1, 2}, {}} // null reports count in n, add nothing
	want := make([]float64, len(cats))
	var raw [][]byte
	for _, set := range sets {
		raw = append(raw, p.device(t, epoch, prio.MultiHot(len(cats), set...), nil))
		for _, i := range set {
			want[i]++
		}
	}
	raw = append(raw, p.device(t, epoch, prio.MultiHot(len(cats), 0, 1), func(r *prio.Report) {
		r.Leader = append([]byte{}, r.Leader...)
		r.Leader[0] ^= 1 // a changed leader share: weight and proof no longer match the commitment
	}))
	if res := p.upload(t, raw...); res.Accepted != len(raw) {
		t.Fatalf("upload: %+v", res)
	}
	if err := p.leader.srv.RunPrio3Jobs(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.batches(t, p.leader); len(got) != 1 || got[0].Aggregated != int64(len(sets)) || got[0].Rejected != 1 {
		t.Errorf("leader batches %+v", got)
	}
	if got := p.batches(t, p.helper); len(got) != 1 || got[0].Aggregated != int64(len(sets)) || got[0].Rejected != 0 {
		t.Errorf("helper batches %+v (a report the leader refused is never sent)", got)
	}
	seg := p.collectExact(t, epoch)
	if seg.TopK == nil || len(seg.TopK.Categories) != len(cats) || seg.Reports != len(sets) {
		t.Fatalf("released %+v", seg)
	}
	for i, c := range seg.TopK.Categories {
		if c.Category != cats[i] || c.Estimate != want[i] || c.Share != want[i]/float64(len(sets)) {
			t.Errorf("category %d: %+v, want %v", i, c, want[i])
		}
	}
}

// TestPrio3CampaignNeedsLeader: only a leader registers a prio3 campaign,
// from its --campaigns or the API; a single aggregator or a helper refuses
// it, and a single aggregator refuses prio3 reports.
func TestPrio3CampaignNeedsLeader(t *testing.T) {
	p := newPair(t)
	for _, role := range []aggregator.Prio3Role{aggregator.RoleSingle, aggregator.RoleHelper} {
		_, err := aggregator.New(aggregator.Config{Store: sqliteStore(t), Taxonomy: mustTax(t), Campaigns: []campaign.Campaign{p.camp},
			Prio3: aggregator.Prio3Options{Role: role, PeerToken: peerToken}})
		if !errors.Is(err, aggregator.ErrConfig) {
			t.Errorf("%s with a prio3 campaign configured: %v, want ErrConfig", role, err)
		}
	}
	single := newFixture(t)
	c := p.camp
	c.ID = "runners-p3-api"
	if _, err := single.agg.CreateCampaign(context.Background(), c, "acme"); err == nil || !strings.Contains(err.Error(), "register it on a prio3 leader") {
		t.Errorf("a single aggregator registering a prio3 campaign through the API: %v", err)
	}
	body, _ := wire.EncodeRawBatch([][]byte{p.device(t, p.epoch(), prio.Bit(true), nil)})
	resp, err := http.Post(single.srv.URL+"/v1/reports", "application/cbor", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var res api.IngestResponse
	if err := decodeJSONBody(resp, &res); err != nil || res.Accepted != 0 || !strings.Contains(res.Results[0].Detail, "not a prio3 leader") {
		t.Errorf("a single aggregator answered a prio3 report with %+v, %v", res, err)
	}
}

// TestPrio3Mean: a mean question (Sum of 8-bit values): the exact mean
// score without noise, and the variance of both draws scaled to it.
func TestPrio3Mean(t *testing.T) {
	p := newPairFor(t, prio.ForMean(8), campaign.Question{Type: campaign.QuestionMean, Category: 410}, 25)
	epoch := p.epoch()
	var raw [][]byte
	for _, v := range []uint64{0, 51, 102, 204, 255} {
		raw = append(raw, p.device(t, epoch, prio.Value(v), nil))
	}
	if res := p.upload(t, raw...); res.Accepted != len(raw) {
		t.Fatalf("upload: %+v", res)
	}
	seg := p.collectExact(t, epoch)
	scale, _ := dpnoise.LaplaceScale(255, 1)
	lap, _ := dpnoise.NewLaplace(scale)
	d := 5.0 * 255
	if seg.Mean == nil || math.Abs(seg.Mean.Mean-612/d) > 1e-12 || math.Abs(seg.Mean.Variance-2*lap.Variance()/(d*d)) > 1e-12 ||
		math.Abs(seg.Mean.CIHigh-seg.Mean.Mean-float64(must(p.params.NoiseHalfWidth(1, 0.95)))/d) > 1e-12 {
		t.Errorf("mean release %+v, want mean %v", seg.Mean, 612/d)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
