package aggregator

import (
	"context"
	"time"

	"github.com/wisp-project/wisp/aggregator/store"
)

// timedStore records the latency of the store calls the server makes on
// its hot and release paths, labelled with the transaction name the store
// uses; the rest pass through.
type timedStore struct {
	store.Store
	m *metrics
}

func instrument(st store.Store, m *metrics) store.Store { return timedStore{st, m} }

func (t timedStore) observe(tx string, start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	t.m.storeTx.WithLabelValues(tx, outcome).Observe(time.Since(start).Seconds())
}

func (t timedStore) Insert(ctx context.Context, reports []store.Report) (fresh []bool, err error) {
	start := time.Now()
	defer func() { t.observe("insert_reports", start, err) }()
	return t.Store.Insert(ctx, reports)
}

func (t timedStore) Tally(ctx context.Context, campaign string, epoch uint32, fn func(store.Mechanism, []byte, int64) error) (err error) {
	start := time.Now()
	defer func() { t.observe("tally", start, err) }()
	return t.Store.Tally(ctx, campaign, epoch, fn)
}

func (t timedStore) Release(ctx context.Context, r store.Release) (got store.Release, err error) {
	start := time.Now()
	defer func() { t.observe("release", start, err) }()
	return t.Store.Release(ctx, r)
}

func (t timedStore) DeleteReports(ctx context.Context, campaign string, epoch uint32) (n int64, err error) {
	start := time.Now()
	defer func() { t.observe("delete_reports", start, err) }()
	return t.Store.DeleteReports(ctx, campaign, epoch)
}

func (t timedStore) Token(ctx context.Context, hash []byte) (tok store.Token, err error) {
	start := time.Now()
	defer func() { t.observe("token", start, err) }()
	return t.Store.Token(ctx, hash)
}

func (t timedStore) Keys(ctx context.Context) (keys []store.Key, err error) {
	start := time.Now()
	defer func() { t.observe("keys", start, err) }()
	return t.Store.Keys(ctx)
}
