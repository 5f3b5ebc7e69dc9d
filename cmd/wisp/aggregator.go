package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
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
	kek                                kekOptions
	requireOHTTP                       bool
	prio3                              aggregator.Prio3Options
	queue                              aggregator.Queue     // serve --queue: a front end
	registry                           *prometheus.Registry // nil: the server's own
	// existing refuses a store that does not exist yet (the admin
	// commands: a typo in --store must not create an empty store).
	existing bool
}

// kekOptions say where the key encryption key comes from.
type kekOptions struct {
	file      string
	plaintext bool // --insecure-plaintext-keys
}

// aggKEKFlag adds --key-encryption-key-file and --insecure-plaintext-keys to cmd.
func aggKEKFlag(cmd *cobra.Command, k *kekOptions) {
	cmd.Flags().StringVar(&k.file, "key-encryption-key-file", os.Getenv("WISP_KEK_FILE"),
		"file with the 32-byte key (raw or 64 hex digits) sealing private keys in the store; every node needs the same (env WISP_KEK_FILE; default for sqlite:PATH: PATH.kek, made on first use)")
	cmd.Flags().BoolVar(&k.plaintext, "insecure-plaintext-keys", false, "store private keys in the clear (whoever reads the store can open reports and sign campaigns)")
}

// resolve returns the key encryption key for the store spec: the file
// given, or for a SQLite store the file PATH.kek beside it, which is made
// (0600, 32 random bytes in hex) if it does not exist; created is that
// new file, for the caller to remove if the start fails. A PostgreSQL
// store's nodes share one key, so it must be given.
func (k kekOptions) resolve(spec string, log *slog.Logger) (kek []byte, created string, err error) {
	switch {
	case k.plaintext && k.file != "":
		return nil, "", fmt.Errorf("--insecure-plaintext-keys and --key-encryption-key-file: give one")
	case k.plaintext:
		return nil, "", nil
	case k.file != "":
		kek, err = readKEK(k.file, log)
		return kek, "", err
	}
	p := sqliteFile(spec)
	if p == "" {
		return nil, "", fmt.Errorf("a %s store needs --key-encryption-key-file (or WISP_KEK_FILE): the same 32-byte key on every node, made e.g. with `umask 077; openssl rand -hex 32 > wisp.kek`; or --insecure-plaintext-keys to store private keys in the clear", storeKind(spec))
	}
	path := p + ".kek"
	kek, err = readKEK(path, log)
	if !errors.Is(err, fs.ErrNotExist) {
		return kek, "", err
	}
	kek = make([]byte, 32)
	rand.Read(kek)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("key encryption key: %w", err)
	}
	_, err = fmt.Fprintln(f, hex.EncodeToString(kek))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, "", fmt.Errorf("key encryption key: %w", err)
	}
	log.Info("made a key encryption key for the store's private keys; back it up apart from the store", "file", path)
	return kek, path, nil
}

// readKEK reads a key encryption key file: 32 raw bytes or 64 hex digits.
func readKEK(path string, log *slog.Logger) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key encryption key: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the key encryption key file is readable by other users; chmod 600 it", "file", path, "mode", fi.Mode().Perm().String())
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
	if o.existing {
		if err := mustExist(o.store); err != nil {
			return nil, nil, err
		}
	}
	kek, created, err := o.kek.resolve(o.store, log)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*aggregator.Server, store.Store, error) {
		if created != "" {
			os.Remove(created)
		}
		return nil, nil, err
	}
	st, err := store.Open(ctx, o.store)
	if err != nil {
		return fail(err)
	}
	srv, err := aggregator.New(aggregator.Config{Store: st, Taxonomy: tax, Campaigns: camps, Tenant: o.tenant, Logger: log,
		Policy: o.policy, Rotation: o.rotation, Ingest: o.ingest, MaxBodyBytes: o.maxBody, KeyEncryptionKey: kek,
		RequireOHTTP: o.requireOHTTP, Prio3: o.prio3, Queue: o.queue, Registry: o.registry})
	if err != nil {
		st.Close()
		return fail(o.kek.explain(err, created))
	}
	return srv, st, nil
}

// explain adds to a key encryption error what to do about it.
func (k kekOptions) explain(err error, created string) error {
	switch {
	case !errors.Is(err, aggregator.ErrKeyEncryption):
		return err
	case k.plaintext:
		return fmt.Errorf("%w (the store's keys are sealed: give its --key-encryption-key-file instead of --insecure-plaintext-keys)", err)
	case created != "":
		return fmt.Errorf("%w (there was no key encryption key file %s, so a new key was made, and removed again; give the one the store was sealed with, --key-encryption-key-file)", err, created)
	}
	return fmt.Errorf("%w (is --key-encryption-key-file the file the store was sealed with? every node needs the same)", err)
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
	var issuer issuerOptions
	var addr, metricsAddr, tlsCert, tlsKey string
	var minEpoch, maxEpoch time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the aggregator's HTTP API until interrupted",
		Long: `serve listens on --addr and answers until SIGINT or SIGTERM, then stops taking
new connections, lets requests in flight finish (up to 30 s) and closes the
store: a report acknowledged before shutdown is stored; one in flight is
either acknowledged and stored or not acknowledged (devices retry).

With --tls-cert and --tls-key it serves HTTPS (TLS 1.2 or 1.3, AEAD suites
only, HSTS) and reads both files again on SIGHUP: renew the certificate by
replacing the files, then kill -HUP the process. A pair that fails to load
is logged and the one in use stays.

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
			if (tlsCert == "") != (tlsKey == "") {
				return errors.New("--tls-cert and --tls-key go together: a PEM certificate chain and its PEM private key")
			}
			var certs *aggregator.CertFiles
			httpOpts, scheme := aggregator.HTTPOptions{}, "http"
			if tlsCert != "" {
				var err error
				if certs, err = aggregator.LoadCertFiles(tlsCert, tlsKey); err != nil {
					return err
				}
				httpOpts.TLS, scheme = certs.TLSConfig(), "https"
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("--addr %s: %w; e.g. --addr 127.0.0.1:8081", addr, err)
			}
			defer ln.Close()
			if string(o.prio3.Role) == roleIssuer {
				return serveIssuer(ctx, cmd.OutOrStdout(), ln, httpOpts, scheme, &o, issuer, log)
			}
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
			var mln net.Listener
			if metricsAddr != "" {
				if mln, err = net.Listen("tcp", metricsAddr); err != nil {
					return fmt.Errorf("--metrics-addr %s: %w; e.g. --metrics-addr 127.0.0.1:9090", metricsAddr, err)
				}
				defer mln.Close()
			}
			undo := undoNewStore(o.store)
			srv, st, err := o.open(ctx, log)
			if err != nil {
				undo()
				return err
			}
			defer st.Close()
			if p := sqliteFile(o.store); p != "" {
				if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
					log.Warn("the store file is readable by other users (it holds reports and tokens); chmod 600 it", "file", p, "mode", fi.Mode().Perm().String())
				}
			}
			hs := aggregator.NewHTTPServer(srv.Handler(), httpOpts)
			if certs != nil {
				// Registered before the address is printed: a SIGHUP
				// from then on reloads, never kills.
				hup := make(chan os.Signal, 1)
				signal.Notify(hup, syscall.SIGHUP)
				defer signal.Stop(hup)
				go reloadOn(ctx, hup, certs, log)
			}
			log.Info("serving", "addr", ln.Addr().String(), "store", storeKind(o.store), "tls", certs != nil)
			fmt.Fprintf(cmd.OutOrStdout(), "listening on %s://%s\n", scheme, ln.Addr())
			fmt.Fprintf(cmd.OutOrStdout(), "  dashboard: %s://%s%s  (sign in with a token)\n  next:      wisp aggregator tokens create --role marketer --tenant TENANT --store %s\n",
				scheme, ln.Addr(), dashboard.Prefix, storeKindOrPath(o.store))
			errc := make(chan error, 2)
			go func() { errc <- hs.Serve(ln) }()
			if mln != nil {
				ms := aggregator.NewHTTPServer(srv.MetricsHandler(), aggregator.HTTPOptions{})
				defer ms.Close()
				go func() {
					if err := ms.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
						errc <- err
					}
				}()
				fmt.Fprintf(cmd.OutOrStdout(), "  metrics:   http://%s/metrics  (no credentials: keep it private)\n", mln.Addr())
			}
			if qo.url == "" { // with a queue, workers release (they know its backlog)
				go releaseEvery(ctx, srv, time.Minute, log, nil)
			}
			if o.prio3.Role == aggregator.RoleLeader {
				go prio3JobsEvery(ctx, srv, 5*time.Second, log)
			}
			go srv.WatchKeys(ctx) // a key expired on any node is refused here within a second
			err = serveUntilDone(ctx, hs, errc)
			log.Info("shut down")
			return err
		},
	}
	aggStoreFlag(cmd, &o.store)
	aggKEKFlag(cmd, &o.kek)
	aggQueueFlags(cmd, &qo, "be an ingest front end publishing to this NATS JetStream, e.g. nats://127.0.0.1:4222 (comma-separated for a cluster)")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", "", "also serve Prometheus /metrics without credentials here, e.g. 127.0.0.1:9090 (on --addr it needs an operator token)")
	cmd.Flags().StringVar(&tlsCert, "tls-cert", "", "PEM certificate chain: serve HTTPS (with --tls-key; reloaded on SIGHUP)")
	cmd.Flags().StringVar(&tlsKey, "tls-key", "", "PEM private key of --tls-cert")
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
	f.BoolVar(&o.policy.RequireReportTokens, "require-report-tokens", false, "policy: take only campaigns with report_tokens (at a prio3 helper: also from the leader)")
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
	f.StringVar((*string)(&o.prio3.Role), "role", string(aggregator.RoleSingle),
		"single (LDP only), leader (also takes prio3 reports and runs jobs with the helper), helper (prepares the leader's jobs) or issuer (signs report tokens for devices; run by the device maker)")
	f.StringVar(&issuer.name, "issuer-name", "", "--role issuer: the issuer_name campaigns' report_tokens give")
	f.StringArrayVar(&issuer.makers, "device-maker-key", nil, "--role issuer: a device maker's Ed25519 public key, PEM (repeatable)")
	f.IntVar(&issuer.newKeys, "new-keys-per-device", aggregator.DefaultNewKeysPerDevice, "--role issuer: token keys one device may have made in a day (the first device to ask for a campaign epoch's token makes its key)")
	f.StringVar(&o.prio3.PeerToken, "peer-token", os.Getenv("WISP_PEER_TOKEN"),
		"leader ↔ helper bearer secret, ≥ 32 bytes, the same on both (env WISP_PEER_TOKEN; prefer the env: flags show in ps)")
	return cmd
}

// prio3JobsEvery runs the leader's aggregation jobs every period until ctx
// ends. While the helper is down the reports stay pending; errors are
// logged and the next pass retries.
func prio3JobsEvery(ctx context.Context, srv *aggregator.Server, period time.Duration, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if err := srv.RunPrio3Jobs(ctx); err != nil && ctx.Err() == nil {
			log.Warn("prio3 aggregation jobs", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reloadOn reads the TLS certificate files again on every signal on hup
// until ctx ends.
func reloadOn(ctx context.Context, hup <-chan os.Signal, certs *aggregator.CertFiles, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := certs.Reload(); err != nil {
				log.Error("TLS certificate reload failed; still serving the previous one", "err", err)
			} else {
				log.Info("TLS certificate reloaded")
			}
		}
	}
}

// releaseEvery releases closed epochs (and deletes their reports) every
// period until ctx ends, so results and data minimization do not wait for
// a marketer to read them. Errors are logged: the next pass retries. A
// pass runs only when settled (nil: always) says nothing still waits to be
// stored (queue mode, aggregator_queue.go).
func releaseEvery(ctx context.Context, srv *aggregator.Server, period time.Duration, log *slog.Logger, settled func(context.Context) bool) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if settled == nil || settled(ctx) {
			if err := srv.ReleaseDue(ctx); err != nil && ctx.Err() == nil {
				log.Error("releasing closed epochs", "err", err)
			}
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

// serveUntilDone waits until hs fails (errc has Serve's error) or ctx
// ends, then gives in-flight requests 30 s to finish.
func serveUntilDone(ctx context.Context, hs interface{ Shutdown(context.Context) error }, errc <-chan error) error {
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
