package aggregator_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/wire"
)

func TestEpochRules(t *testing.T) {
	f := newFixture(t) // clock at an epoch boundary; skew 5 min, grace 1 h
	epoch := f.campaign.Epoch(f.clock.Now())
	tests := []struct {
		name  string
		epoch uint32
		want  api.Reason
	}{
		{"current", epoch, ""},
		{"previous, within grace", epoch - 1, ""},
		{"two back, closed", epoch - 2, api.ReasonEpochTooLate},
		{"next, beyond skew", epoch + 1, api.ReasonEpochTooEarly},
	}
	for _, tt := range tests {
		res := f.upload(t, f.reportAt(t, tt.epoch, true)).Results[0]
		if res.Reason != tt.want || res.Accepted != (tt.want == "") {
			t.Errorf("%s: %+v, want reason %q", tt.name, res, tt.want)
		}
	}
	f.clock.Add(time.Hour - 4*time.Minute) // next epoch now within the skew
	if res := f.upload(t, f.reportAt(t, epoch+1, true)).Results[0]; !res.Accepted {
		t.Errorf("report 4 minutes early: %+v", res)
	}
}

func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old := f.report(t, true) // sealed to key 1
	steps := []struct {
		advance    time.Duration
		force      bool
		wantIDs    []uint8 // advertised, newest first
		wantChange string
	}{
		{0, true, []uint8{1}, "key 2: new, pending"},
		{30 * time.Minute, false, []uint8{1}, ""},                           // still pending
		{31 * time.Minute, false, []uint8{2, 1}, "key 2: pending → active"}, // both advertised
		{25 * time.Hour, false, []uint8{2}, "key 1: active → expired"},
	}
	for i, st := range steps {
		f.clock.Add(st.advance)
		changes, err := f.agg.RotateKeys(ctx, st.force)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(changes, "; "); !strings.Contains(got, st.wantChange) || (st.wantChange == "" && got != "") {
			t.Errorf("step %d: changes %q, want %q", i, got, st.wantChange)
		}
		list, err := f.client.KeyConfigs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []uint8
		for _, c := range list.Configs {
			ids = append(ids, c.ID)
		}
		if string(ids) != string(st.wantIDs) {
			t.Errorf("step %d: advertised %v, want %v", i, ids, st.wantIDs)
		}
	}
	// The clock moved a day: report in the current epoch, sealed to expired key 1.
	old = f.reportAt(t, f.campaign.Epoch(f.clock.Now()), true)
	if old.KeyID != 2 {
		t.Fatalf("new report sealed to key %d, want 2", old.KeyID)
	}
	expired := sealTo(t, f, 1, f.campaign.Epoch(f.clock.Now()))
	resp := f.upload(t, old, expired)
	if !resp.Results[0].Accepted || resp.Results[1].Reason != api.ReasonKeyExpired {
		t.Fatalf("results %+v, want accepted then key_expired", resp.Results)
	}
}

// sealTo seals a report to the stored key id, whatever its state.
func sealTo(t *testing.T, f *fixture, id uint8, epoch uint32) wire.Envelope {
	t.Helper()
	keys, err := f.store.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.ID == id {
			pair, err := wire.UnmarshalKeyPair(k.ID, k.Private)
			if err != nil {
				t.Fatal(err)
			}
			e := wire.Envelope{Version: wire.Version, Mode: wire.ModeLDP, Campaign: f.campaign.ID, Epoch: epoch, ID: wire.ReportID{id, 0xee}}
			if err := wire.Seal(pair.Config, &e, wire.Payload{Mechanism: 1, Answer: []byte{1}}, 64, strings.NewReader(strings.Repeat("r", 64))); err != nil {
				t.Fatal(err)
			}
			return e
		}
	}
	t.Fatalf("no key %d", id)
	return wire.Envelope{}
}

// TestOverloadAnswers429 holds the only ingest slot with a batch whose
// commit the store holds and the only queue place with another, then
// expects 429. (A body that never finishes holds no slot: it is read before
// admission; TestSlowBodiesDoNotStarveIngest.)
func TestOverloadAnswers429(t *testing.T) {
	bs := &blockingStore{Store: sqliteStore(t), entered: make(chan struct{}, 1), release: make(chan struct{})}
	key, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := newNode(t, bs, newClock(), func(c *aggregator.Config) {
		c.Keys = []*wire.KeyPair{key}
		c.Campaigns = []campaign.Campaign{runners}
		c.Ingest = aggregator.Admission{Concurrent: 1, Queue: 1, Wait: time.Minute}
	})
	done := make(chan error, 2)
	for range 2 {
		batch := []wire.Envelope{f.report(t, true)}
		go func() { _, err := f.client.Upload(context.Background(), batch); done <- err }()
	}
	// Wait until one is admitted and one queued, as the metrics tell.
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, b := f.do(t, "GET", "/metrics", f.operator, nil)
		if strings.Contains(string(b), "wisp_ingest_inflight 1") && strings.Contains(string(b), "wisp_ingest_queue_depth 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("requests were never admitted and queued:\n%s", b)
		}
		time.Sleep(5 * time.Millisecond)
	}
	resp, err := http.Post(f.srv.URL+"/v1/reports", "application/cbor", strings.NewReader("\xa1\x01\x80"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// A device's client reads the same answer as "busy, come back later".
	_, err = (&host.Client{BaseURL: f.srv.URL}).Upload(context.Background(), nil)
	var busy *host.BusyError
	if !errors.Is(err, host.ErrBusy) || !errors.As(err, &busy) || busy.RetryAfter <= 0 {
		t.Fatalf("client error = %v, want ErrBusy with a Retry-After", err)
	}
	close(bs.release)
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("a held batch: %v", err)
		}
	}
	if _, b := f.do(t, "GET", "/metrics", f.operator, nil); !strings.Contains(string(b), "wisp_ingest_overloaded_total 2") {
		t.Errorf("overload not counted:\n%s", b)
	}
}

func TestMetricsAndHealth(t *testing.T) {
	f := newFixture(t)
	f.upload(t, f.report(t, true))
	bad := f.report(t, true)
	bad.Sealed[0] ^= 1
	f.upload(t, bad)
	if status, b := f.do(t, "GET", "/healthz", "", nil); status != 200 || string(b) != "ok\n" {
		t.Errorf("healthz: %d %q", status, b)
	}
	_, b := f.do(t, "GET", "/metrics", f.operator, nil)
	for _, want := range []string{
		"wisp_ingest_reports_accepted_total 1",
		`wisp_ingest_reports_rejected_total{reason="decrypt_failure"} 1`,
		`wisp_ingest_reports_rejected_total{reason="replay"} 0`,
		`wisp_store_tx_seconds_count{outcome="ok",tx="insert_reports"} 1`,
		"wisp_ingest_queue_depth 0",
		`wisp_ingest_batches_total{status="200"} 2`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	f.store.Close()
	if status, _ := f.do(t, "GET", "/healthz", "", nil); status != http.StatusServiceUnavailable {
		t.Errorf("healthz with the store closed: %d, want 503", status)
	}
}

func TestOpenAPIServedAndInDocs(t *testing.T) {
	f := newFixture(t)
	status, b := f.do(t, "GET", "/v1/openapi.json", "", nil)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); status != 200 || err != nil || doc.OpenAPI == "" {
		t.Fatalf("openapi: %d %v", status, err)
	}
	for _, r := range aggregator.Routes() {
		method, path, _ := strings.Cut(r, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("openapi.json does not describe %s", r)
		}
	}
	// Every $ref points at something the document defines.
	var whole any
	json.Unmarshal(b, &whole)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				var at any = whole
				for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, _ := at.(map[string]any)
					at = m[part]
				}
				if at == nil {
					t.Errorf("dangling $ref %s", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(whole)
}

func TestOpenAPIDocsCopyIsCurrent(t *testing.T) {
	docs, err := os.ReadFile("../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(docs) != string(aggregator.OpenAPI) {
		t.Error("docs/openapi.json differs from aggregator/openapi.json: copy it over")
	}
}

func TestConfiguredKeyMustMatchStored(t *testing.T) {
	f := newFixture(t)
	other, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, err = aggregator.New(aggregator.Config{Store: f.store, Taxonomy: mustTax(t), Keys: []*wire.KeyPair{other}})
	if !errors.Is(err, aggregator.ErrConfig) {
		t.Fatalf("a second node configured with another key 1: %v, want ErrConfig", err)
	}
}

// TestKeysSealedAtRest stores keys under a key encryption key: the store
// holds no usable private key, a node with the key works, a node without
// it (or with another) refuses to start.
func TestKeysSealedAtRest(t *testing.T) {
	kek := bytes.Repeat([]byte{7}, 32)
	f := newFixture(t, func(c *aggregator.Config) { c.KeyEncryptionKey = kek })
	if res := f.upload(t, f.report(t, true)).Results[0]; !res.Accepted {
		t.Fatalf("report under a sealed key: %+v", res)
	}
	keys, err := f.store.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wire.UnmarshalKeyPair(keys[0].ID, keys[0].Private); err == nil && !bytes.HasPrefix(keys[0].Private, []byte("wisp-kek1:")) {
		t.Fatal("the store holds a private key in the clear")
	}
	for name, k := range map[string][]byte{"no key": nil, "another key": bytes.Repeat([]byte{8}, 32)} {
		_, err := aggregator.New(aggregator.Config{Store: f.store, Taxonomy: mustTax(t), KeyEncryptionKey: k})
		if !errors.Is(err, aggregator.ErrKeyEncryption) {
			t.Errorf("%s: %v, want ErrKeyEncryption", name, err)
		}
	}
	if _, err := aggregator.New(aggregator.Config{Store: f.store, Taxonomy: mustTax(t), KeyEncryptionKey: kek}); err != nil {
		t.Errorf("a second node with the key: %v", err)
	}
}
