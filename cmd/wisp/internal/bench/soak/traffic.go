package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/wire"
)

// retryFor bounds how long a batch is retried before the run fails: far
// longer than a restart takes.
const retryFor = 2 * time.Minute

// traffic is the senders' shared state and counters.
type traffic struct {
	nodes    [2]*node
	reporter host.Reporter
	epoch    uint32
	batch    int
	hc       *http.Client

	mu   sync.Mutex
	sent [][]wire.Envelope // every valid batch, for the final check
	err  error

	acked, committed, double, retried, replayed, replaysRejected atomic.Int64
	malformed, malformedRejected, slowConns, slowCut             atomic.Int64
}

func (t *traffic) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil {
		t.err = err
	}
}

func (t *traffic) failed() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// send uploads until tctx ends: mostly fresh valid batches, one in ten a
// replay of an acknowledged batch, one in ten a malformed body. A batch
// under way when tctx ends is still retried to an answer (under ctx).
func (t *traffic) send(tctx, ctx context.Context, seed uint64) {
	rng := mrand.New(mrand.NewPCG(seed, 0x50a6))
	var mine [][]wire.Envelope
	for tctx.Err() == nil && t.failed() == nil {
		switch p := rng.IntN(10); {
		case p == 0 && len(mine) > 0:
			t.replay(ctx, mine[rng.IntN(len(mine))], rng.IntN(2))
		case p == 1:
			t.malformedUpload(ctx, rng)
		default:
			envs, err := t.seal()
			if err != nil {
				t.fail(err)
				return
			}
			t.mu.Lock()
			t.sent = append(t.sent, envs)
			t.mu.Unlock()
			t.valid(ctx, envs, rng.IntN(2))
			mine = append(mine, envs)
		}
	}
}

func (t *traffic) seal() ([]wire.Envelope, error) {
	envs := make([]wire.Envelope, t.batch)
	for i := range envs {
		var err error
		if envs[i], err = t.reporter.Report(&soakCampaign, t.epoch, map[uint32]float32{410: float32(i%2) * 0.9}); err != nil {
			return nil, err
		}
	}
	return envs, nil
}

// upload sends envs to node first, and on any failure (a killed node, a
// refused connection, 429/503) to the other, until one answers; tries
// is how many attempts failed before the answer.
func (t *traffic) upload(ctx context.Context, envs []wire.Envelope, first int) (resp api.IngestResponse, tries int, err error) {
	began := time.Now()
	for ; ; tries++ {
		c := &host.Client{BaseURL: t.nodes[(first+tries)%2].url(), HTTP: t.hc}
		if resp, err = c.Upload(ctx, envs); err == nil {
			if tries > 0 {
				t.retried.Add(1)
			}
			return resp, tries, nil
		}
		if ctx.Err() != nil || time.Since(began) > retryFor {
			return resp, tries, fmt.Errorf("soak: a batch got no answer in %v: %w", retryFor, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// valid uploads a fresh batch: each report must be accepted, or, after a
// failed try, found stored by it (replay).
func (t *traffic) valid(ctx context.Context, envs []wire.Envelope, first int) {
	resp, tries, err := t.upload(ctx, envs, first)
	if err != nil {
		t.fail(err)
		return
	}
	for i, r := range resp.Results {
		switch {
		case r.Accepted:
			t.acked.Add(1)
		case r.Reason == api.ReasonReplay && tries > 0:
			t.committed.Add(1)
		default:
			t.fail(fmt.Errorf("soak: fresh report %d of a batch (try %d) rejected: %s %s", i, tries+1, r.Reason, r.Detail))
		}
	}
}

// replay sends an acknowledged batch again: every report must be refused.
func (t *traffic) replay(ctx context.Context, envs []wire.Envelope, first int) {
	resp, _, err := t.upload(ctx, envs, first)
	if err != nil {
		t.fail(err)
		return
	}
	t.replayed.Add(1)
	for _, r := range resp.Results {
		switch {
		case r.Accepted:
			t.double.Add(1)
		case r.Reason == api.ReasonReplay:
			t.replaysRejected.Add(1)
		default:
			t.fail(fmt.Errorf("soak: replayed report rejected as %s, not replay", r.Reason))
		}
	}
}

// malformedUpload posts a body that is not a report batch — random bytes
// or a valid batch cut short — which must be refused whole (4xx).
func (t *traffic) malformedUpload(ctx context.Context, rng *mrand.Rand) {
	var body []byte
	if rng.IntN(2) == 0 {
		body = make([]byte, 64+rng.IntN(4096))
		for i := range body {
			body[i] = byte(rng.Uint32())
		}
	} else {
		envs, err := t.seal()
		if err != nil {
			t.fail(err)
			return
		}
		full, err := wire.EncodeBatch(envs[:1])
		if err != nil {
			t.fail(err)
			return
		}
		body = full[:1+rng.IntN(len(full)-1)]
	}
	began := time.Now()
	for try := 0; ; try++ {
		status, accepted, err := t.post(ctx, t.nodes[try%2].url(), body)
		switch {
		case err == nil && status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable:
			t.malformed.Add(1)
			if status >= 400 && status < 500 && accepted == 0 {
				t.malformedRejected.Add(1)
			}
			return
		case ctx.Err() != nil || time.Since(began) > retryFor:
			t.fail(fmt.Errorf("soak: a malformed body got no answer in %v: %v", retryFor, err))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (t *traffic) post(ctx context.Context, base string, body []byte) (status, accepted int, _ error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/reports", bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/cbor")
	resp, err := t.hc.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var out api.IngestResponse
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode == http.StatusOK {
		json.Unmarshal(b, &out)
	}
	return resp.StatusCode, out.Accepted, nil
}

// slowBodyBytes is the Content-Length a slow client announces.
const slowBodyBytes = 1 << 20

// slow holds connections to node i%2 that announce a 1 MiB body and send
// it at 1 byte/s, reconnecting whenever the server (or a kill) cuts one.
func (t *traffic) slow(ctx context.Context, i int) {
	for ctx.Err() == nil {
		addr := strings.TrimPrefix(t.nodes[i%2].url(), "http://")
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		t.slowConns.Add(1)
		cut := make(chan struct{})
		go func() { io.Copy(io.Discard, conn); close(cut) }()
		fmt.Fprintf(conn, "POST /v1/reports HTTP/1.1\r\nHost: soak\r\nContent-Type: application/cbor\r\nContent-Length: %d\r\n\r\n", slowBodyBytes)
		tick := time.NewTicker(time.Second)
	trickle:
		for {
			select {
			case <-ctx.Done():
				break trickle
			case <-cut:
				t.slowCut.Add(1)
				break trickle
			case <-tick.C:
				if _, err := conn.Write([]byte{0x80}); err != nil {
					t.slowCut.Add(1)
					break trickle
				}
			}
		}
		tick.Stop()
		conn.Close()
		<-cut
	}
}

// verify uploads every valid batch once more, from workers senders:
// each report must be refused as a replay, i.e. be stored. It returns
// how many were accepted instead: reports that had been lost.
func (t *traffic) verify(ctx context.Context, workers int) (int64, error) {
	var next, lost atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t.failed() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(t.sent) {
					return
				}
				resp, _, err := t.upload(ctx, t.sent[i], i%2)
				if err != nil {
					t.fail(err)
					return
				}
				for _, r := range resp.Results {
					switch {
					case r.Accepted:
						lost.Add(1)
					case r.Reason != api.ReasonReplay:
						t.fail(fmt.Errorf("soak: final check: a sent report rejected as %s, not replay", r.Reason))
					}
				}
			}
		}()
	}
	wg.Wait()
	return lost.Load(), t.failed()
}
