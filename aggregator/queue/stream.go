package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config names and bounds the stream and its consumer. Zero fields take
// the defaults; every front end and worker of a deployment needs the same.
type Config struct {
	Stream   string // stream name; "": WISP_REPORTS
	Subject  string // subject prefix; "": wisp.reports
	Consumer string // the workers' durable consumer; "": wisp-workers
	Replicas int    // 0: 1; 3 on a cluster (a quorum of two acknowledges)
	Shards   int    // subjects per campaign; 0: 16
	// MaxBytes bounds the stream (sealed reports waiting for workers);
	// 0 means 1 GiB. Beyond it front ends answer 429.
	MaxBytes int64
	// MaxAge is how long a report may wait for a worker; 0 means 24 h.
	// JetStream removes older messages even with discard-new, so this
	// must exceed the longest store outage to be survived — and stay
	// within the HPKE key overlap (aggregator.Rotation.Overlap, 24 h by
	// default): a worker refuses a report whose key expired meanwhile.
	MaxAge time.Duration
	// MaxPerShard bounds the reports waiting on one subject; 0: no limit.
	MaxPerShard int64
	// Duplicates is the dedup window of Nats-Msg-Id; 0 means 2 minutes.
	Duplicates time.Duration
	// AckWait is how long a worker has for a batch before it is
	// redelivered to another; 0 means 30 s.
	AckWait time.Duration
}

// WithDefaults returns c with its zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	if c.Stream == "" {
		c.Stream = "WISP_REPORTS"
	}
	if c.Subject == "" {
		c.Subject = "wisp.reports"
	}
	if c.Consumer == "" {
		c.Consumer = "wisp-workers"
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.Shards <= 0 {
		c.Shards = 16
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 1 << 30
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 24 * time.Hour
	}
	if c.Duplicates <= 0 {
		c.Duplicates = 2 * time.Minute
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	return c
}

// Queue is the stream and its durable consumer on one connection: front
// ends call Enqueue, workers run a Worker on it.
type Queue struct {
	cfg  Config
	js   jetstream.JetStream
	cons jetstream.Consumer
}

// Connect dials NATS (urls comma-separated, as nats.Connect takes them)
// and keeps reconnecting for as long as the process runs.
func Connect(urls, name string) (*nats.Conn, error) {
	nc, err := nats.Connect(urls, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(false))
	if err != nil {
		return nil, fmt.Errorf("queue: connect %s: %w", urls, err)
	}
	return nc, nil
}

// publishTimeout bounds the wait for one publish's ack before it is sent
// again (a stream leader lost mid-publish never answers).
const publishTimeout = 2 * time.Second

// Open creates or updates the stream and the consumer of cfg on nc.
func Open(ctx context.Context, nc *nats.Conn, cfg Config) (*Queue, error) {
	cfg = cfg.WithDefaults()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096), jetstream.WithPublishAsyncTimeout(publishTimeout))
	if err != nil {
		return nil, err
	}
	sc := jetstream.StreamConfig{
		Name:        cfg.Stream,
		Description: "Wisp sealed reports waiting for ingest workers",
		Subjects:    []string{cfg.Subject + ".>"},
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		Retention:   jetstream.WorkQueuePolicy, // an acked report leaves the stream: its limits bound the backlog
		Discard:     jetstream.DiscardNew,
		MaxBytes:    cfg.MaxBytes,
		MaxAge:      cfg.MaxAge,
		Duplicates:  cfg.Duplicates,
	}
	if cfg.MaxPerShard > 0 {
		sc.MaxMsgsPerSubject, sc.DiscardNewPerSubject = cfg.MaxPerShard, true
	}
	st, err := retryElection(ctx, func() (jetstream.Stream, error) { return js.CreateOrUpdateStream(ctx, sc) })
	if err != nil {
		return nil, fmt.Errorf("queue: stream %s: %w", cfg.Stream, err)
	}
	cc := jetstream.ConsumerConfig{
		Durable:       cfg.Consumer,
		Description:   "Wisp ingest workers",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    -1, // a report is dropped only by a worker's verdict, never by retries running out
		MaxAckPending: 1 << 20,
		Replicas:      cfg.Replicas,
	}
	cons, err := retryElection(ctx, func() (jetstream.Consumer, error) { return st.CreateOrUpdateConsumer(ctx, cc) })
	if err != nil {
		return nil, fmt.Errorf("queue: consumer %s: %w", cfg.Consumer, err)
	}
	return &Queue{cfg: cfg, js: js, cons: cons}, nil
}

// retryElection retries fn while the cluster has no JetStream leader yet
// (a cluster just started, or electing), until ctx ends.
func retryElection[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	for {
		v, err := fn()
		if err == nil || !transient(err) || ctx.Err() != nil {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// transient reports whether err may go away by itself: no responders or
// a timeout while a leader is elected, a reconnect.
func transient(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.ErrorCode == jetstream.JSErrCodeJetStreamNotEnabled || api.Code == 503 && !full(err)
	}
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, jetstream.ErrAsyncPublishTimeout) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrDisconnected) || errors.Is(err, jetstream.ErrJetStreamNotEnabled)
}

// storeFailed is JetStream's error code for a message the stream refused
// to store; with discard-new its description names the limit reached.
const storeFailed = 10077

// insufficientResources: the server's JetStream storage is spent.
const insufficientResources = 10023

// full reports whether err is a stream at its limits.
func full(err error) bool {
	var api *jetstream.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.Description {
	case "maximum bytes exceeded", "maximum messages exceeded", "maximum messages per subject exceeded":
		return api.ErrorCode == storeFailed
	}
	return api.ErrorCode == insufficientResources
}

// subject is where a report goes: its campaign's hash and its shard.
func (q *Queue) subject(campaign string, id [16]byte) string {
	c := sha256.Sum256([]byte(campaign))
	h := fnv.New32a()
	h.Write(id[:])
	return q.cfg.Subject + "." + hex.EncodeToString(c[:8]) + "." + strconv.Itoa(int(h.Sum32()%uint32(q.cfg.Shards)))
}

// Backlog is how many reports wait in the stream for a worker's commit
// and when the oldest of them was accepted (zero if none): with
// work-queue retention a report leaves the stream when it is acked.
func (q *Queue) Backlog(ctx context.Context) (n uint64, oldest time.Time, err error) {
	st, err := q.js.Stream(ctx, q.cfg.Stream)
	if err != nil {
		return 0, time.Time{}, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, time.Time{}, err
	}
	if info.State.Msgs == 0 {
		return 0, time.Time{}, nil
	}
	return info.State.Msgs, info.State.FirstTime, nil
}

// Dial connects to urls and opens cfg's stream and consumer (Connect,
// then Open within a minute); closing drains the connection.
func Dial(ctx context.Context, urls, name string, cfg Config) (q *Queue, closeFn func(), err error) {
	nc, err := Connect(urls, name)
	if err != nil {
		return nil, nil, err
	}
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if q, err = Open(octx, nc, cfg); err != nil {
		nc.Close()
		return nil, nil, err
	}
	return q, func() { nc.Drain() }, nil
}
