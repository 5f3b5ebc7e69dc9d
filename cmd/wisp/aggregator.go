package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/dashboard"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
)

// newAggregatorCmd groups the operator's commands: serve, release, keys, tokens.
func newAggregatorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "aggregator",
		Short: "Run and administer the Wisp aggregator",
		Long: `aggregator serves the device API (HPKE configs, report ingest, signed campaign
configs) and the marketer API (campaigns, released segments, exports) on one
store. Several nodes may serve on one PostgreSQL store.

Store specs: sqlite:PATH (embedded, one node) or postgres:DSN (scale-out),
e.g. postgres:postgres://user@host:5432/db?sslmode=disable. WISP_STORE sets the
default.`,
	}
	cmd.AddCommand(newAggregatorServeCmd(), newAggregatorWorkCmd(), newAggregatorReleaseCmd(), newAggregatorKeysCmd(), newAggregatorTokensCmd())
	return cmd
}

// aggStoreFlag adds --store to cmd.
func aggStoreFlag(cmd *cobra.Command, spec *string) {
	def := os.Getenv("WISP_STORE")
	if def == "" {
		def = "sqlite:wisp-aggregator.db"
	}
	cmd.Flags().StringVar(spec, "store", def, "store: sqlite:PATH or postgres:DSN")
}

// aggOptions are what serve and the admin commands need to build a server.
type aggOptions struct {
	store, taxonomy, campaigns, tenant string
	logLevel                           string
	policy                             aggregator.Policy
	rotation                           aggregator.Rotation
	ingest                             aggregator.Admission
	maxBody                            int64
	kekFile                            string
	requireOHTTP                       bool
	queue                              aggregator.Queue     // serve --queue: a front end
	registry                           *prometheus.Registry // nil: the server's own
	// existing refuses a store that does not exist yet (the admin
	// commands: a typo in --store must not create an empty store).
	existing bool
}

// aggKEKFlag adds --key-encryption-key-file to cmd.
func aggKEKFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "key-encryption-key-file", os.Getenv("WISP_KEK_FILE"),
		"file with a 32-byte key (raw or 64 hex digits) sealing private keys in the store; every node needs the same (env WISP_KEK_FILE)")
}

// readKEK reads a key encryption key file: 32 raw bytes or 64 hex digits.
func readKEK(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if t := strings.TrimSpace(string(b)); len(t) == 64 {
		if k, err := hex.DecodeString(t); err == nil {
			return k, nil
		}
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("key encryption key file %s: want 32 bytes or 64 hex digits", path)
	}
	return b, nil
}

func (o *aggOptions) open(ctx context.Context, log *slog.Logger) (*aggregator.Server, store.Store, error) {
	tax, err := aggTaxonomy(o.taxonomy)
	if err != nil {
		return nil, nil, err
	}
	var camps []campaign.Campaign
	if o.campaigns != "" {
		b, err := os.ReadFile(o.campaigns)
		if err != nil {
			return nil, nil, err
		}
		if camps, err = campaign.ParseList(b, tax); err != nil {
			return nil, nil, err
		}
	}
	kek, err := readKEK(o.kekFile)
	if err != nil {
		return nil, nil, err
	}
	if o.existing {
		if err := mustExist(o.store); err != nil {
			return nil, nil, err
		}
	}
	st, err := store.Open(ctx, o.store)
	if err != nil {
		return nil, nil, err
	}
	srv, err := aggregator.New(aggregator.Config{Store: st, Taxonomy: tax, Campaigns: camps, Tenant: o.tenant, Logger: log,
		Policy: o.policy, Rotation: o.rotation, Ingest: o.ingest, MaxBodyBytes: o.maxBody, KeyEncryptionKey: kek,
		RequireOHTTP: o.requireOHTTP, Queue: o.queue, Registry: o.registry})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return srv, st, nil
}

func aggTaxonomy(path string) (*taxonomy.Taxonomy, error) {
	if path == "" {
		return taxonomy.Default(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return taxonomy.ParseBytes(b)
}

// newAggregatorServeCmd is wisp aggregator serve.
func newAggregatorServeCmd() *cobra.Command {
	var o aggOptions
	var qo queueOptions
	var addr string
	var minEpoch, maxEpoch time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the aggregator's HTTP API until interrupted",
		Long: `serve listens on --addr and answers until SIGINT or SIGTERM, then stops taking
new connections, lets requests in flight finish (up to 30 s) and closes the
store: a report acknowledged before shutdown is stored; one in flight is
either acknowledged and stored or not acknowledged (devices retry).

With --queue nats://… the node is an ingest front end: it checks each report's
clear envelope (version, key, campaign, epoch), publishes it to a NATS
JetStream stream and acknowledges it once the stream has; ` + "`wisp aggregator work`" + `
processes open and store them, and release closed epochs. See docs/SCALE.md.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
				return fmt.Errorf("--log-level wants debug, info, warn or error, not %q; e.g. --log-level warn", o.logLevel)
			}
			for _, e := range []struct {
				d    time.Duration
				secs *int64
				name string
			}{{minEpoch, &o.policy.MinEpochSeconds, "min-epoch"}, {maxEpoch, &o.policy.MaxEpochSeconds, "max-epoch"}} {
				if e.d < 0 || (e.d > 0 && e.d%time.Second != 0) {
					return fmt.Errorf("--%s wants a positive whole number of seconds, not %s; e.g. --%s 6h", e.name, e.d, e.name)
				}
				if e.d > 0 {
					*e.secs = int64(e.d / time.Second)
				}
			}
			log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// Listen before touching the store, and remove a store this
			// start created if it fails: a failed start leaves nothing.
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("--addr %s: %w; e.g. --addr 127.0.0.1:8081", addr, err)
			}
			defer ln.Close()
			if qo.url != "" {
				if err := needShared(o.store); err != nil {
					return err
				}
				q, closeQ, err := qo.connect(ctx, "wisp-front-end")
				if err != nil {
					return err
				}
				defer closeQ()
				o.queue = q
			}
			undo := undoNewStore(o.store)
			srv, st, err := o.open(ctx, log)
			if err != nil {
				undo()
				return err
			}
			defer st.Close()
			hs := aggregator.NewHTTPServer(srv.Handler(), aggregator.HTTPOptions{})
			log.Info("serving", "addr", ln.Addr().String(), "store", storeKind(o.store))
			fmt.Fprintf(cmd.OutOrStdout(), "listening on http://%s\n", ln.Addr())
			fmt.Fprintf(cmd.OutOrStdout(), "  dashboard: http://%s%s  (sign in with a token)\n  next:      wisp aggregator tokens create --role marketer --tenant TENANT --store %s\n",
				ln.Addr(), dashboard.Prefix, storeKindOrPath(o.store))
			errc := make(chan error, 1)
			go func() { errc <- hs.Serve(ln) }()
			if qo.url == "" { // with a queue, workers release (they know its backlog)
				go releaseEvery(ctx, srv, time.Minute, log)
			}
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			log.Info("shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := hs.Shutdown(sctx); err != nil {
				return err
			}
			if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	aggStoreFlag(cmd, &o.store)
	aggKEKFlag(cmd, &o.kekFile)
	aggQueueFlags(cmd, &qo, "be an ingest front end publishing to this NATS JetStream, e.g. nats://127.0.0.1:4222 (comma-separated for a cluster)")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&o.taxonomy, "taxonomy", "", "taxonomy TSV (default: the embedded IAB Audience Taxonomy 1.1)")
	cmd.Flags().StringVar(&o.campaigns, "campaigns", "", "JSON file of operator-configured campaigns to register at start")
	cmd.Flags().StringVar(&o.tenant, "tenant", "default", "tenant that owns the --campaigns")
	cmd.Flags().StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	f := cmd.Flags()
	f.Float64Var(&o.policy.MaxEpsilon, "max-epsilon", 0, "policy: largest ε a marketer may set (0: 8)")
	durationVar(f, &minEpoch, "min-epoch", 0, "policy: shortest epoch a marketer may set, e.g. 1h (0: 1h)")
	durationVar(f, &maxEpoch, "max-epoch", 0, "policy: longest epoch a marketer may set, e.g. 90d (0: 90d)")
	// The old integer-seconds spellings, kept working for scripts.
	f.Int64Var(&o.policy.MinEpochSeconds, "min-epoch-seconds", 0, "policy: shortest epoch in seconds")
	f.Int64Var(&o.policy.MaxEpochSeconds, "max-epoch-seconds", 0, "policy: longest epoch in seconds")
	f.MarkDeprecated("min-epoch-seconds", "use --min-epoch, a duration (1h)")
	f.MarkDeprecated("max-epoch-seconds", "use --max-epoch, a duration (90d)")
	f.IntVar(&o.policy.MinK, "min-k", 0, "policy: smallest k a marketer may set (0: 50)")
	durationVar(f, &o.policy.ClockSkew, "clock-skew", 0, "reports accepted this long before their epoch starts (0: 5m)")
	durationVar(f, &o.policy.Grace, "grace", 0, "reports accepted this long after their epoch ends (0: 1h)")
	durationVar(f, &o.rotation.Every, "rotate-every", 0, "key rotation: make a successor after the active key is this old (0: 720h)")
	durationVar(f, &o.rotation.Pending, "rotate-pending", 0, "key rotation: time pending before active (0: 1h)")
	durationVar(f, &o.rotation.Overlap, "rotate-overlap", 0, "key rotation: old key still accepted this long (0: 24h)")
	f.IntVar(&o.ingest.Concurrent, "ingest-concurrent", 0, "batches processed at once (0: 2 × cores)")
	f.IntVar(&o.ingest.Queue, "ingest-queue", 0, "batches waiting before 429 (0: 4 × concurrent)")
	durationVar(f, &o.ingest.Wait, "ingest-wait", 0, "longest wait in the queue before 429 (0: 2s)")
	f.Int64Var(&o.maxBody, "max-body-bytes", 0, "largest report batch (0: 16 MiB)")
	f.BoolVar(&o.requireOHTTP, "require-ohttp", false, "refuse report uploads that do not come through the Oblivious HTTP gateway (devices must use a relay)")
	f.BoolVar(&o.policy.KeepReports, "keep-reports", false, "keep an epoch's reports after its result is released (default: delete them)")
	return cmd
}

// releaseEvery releases closed epochs (and deletes their reports) every
// period until ctx ends, so results and data minimization do not wait for
// a marketer to read them. Errors are logged: the next pass retries.
func releaseEvery(ctx context.Context, srv *aggregator.Server, period time.Duration, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if err := srv.ReleaseDue(ctx); err != nil && ctx.Err() == nil {
			log.Error("releasing closed epochs", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// storeKind names the store without its DSN, which may hold a password.
func storeKind(spec string) string {
	for i, c := range spec {
		if c == ':' {
			return spec[:i]
		}
	}
	return spec
}

// storeKindOrPath is the spec to repeat to the operator: a SQLite path in
// full, a PostgreSQL DSN (which may hold a password) as "postgres:…".
func storeKindOrPath(spec string) string {
	if sqlitePath(spec) != "" {
		return spec
	}
	return storeKind(spec) + ":…"
}
