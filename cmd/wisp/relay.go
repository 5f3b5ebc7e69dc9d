package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/internal/ohttp/relay"
)

// newRelayCmd groups the Oblivious HTTP relay's commands.
func newRelayCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Run an Oblivious HTTP relay in front of an aggregator",
		Long: `relay forwards devices' encapsulated requests (RFC 9458, message/ohttp-req) to
one aggregator's gateway, so the aggregator never sees a device's address. It
should be run by someone other than the aggregator's operator: whoever runs
both can join address and report.`,
	}
	cmd.AddCommand(newRelayServeCmd())
	return cmd
}

// newRelayServeCmd is wisp relay serve.
func newRelayServeCmd() *cobra.Command {
	var addr, gateway, gatewayCA string
	var h relay.Handler
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Forward message/ohttp-req POSTs to one gateway until interrupted",
		Long: `serve listens on --addr and forwards every POST with Content-Type
message/ohttp-req (any path) to --gateway, e.g.
https://aggregator.example/v1/ohttp, with a fresh header (Content-Type and
Content-Length only: no client header survives, none is added) and passes the
gateway's status, Content-Type, Cache-Control and Retry-After back. Anything
else is refused. Bodies and client addresses are never logged. It stops on
SIGINT or SIGTERM after the requests in flight (30 s at most).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := url.Parse(gateway)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return fmt.Errorf("--gateway: want an http(s) URL, got %q", gateway)
			}
			h.Gateway = u.String()
			if gatewayCA != "" {
				pool, err := readCAFile(gatewayCA)
				if err != nil {
					return fmt.Errorf("--gateway-ca-file: %w", err)
				}
				h.Client = relay.NewClient()
				h.Client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
			}
			log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			hs := &http.Server{Handler: &h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
				WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10,
				ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)} // its messages carry client addresses
			log.Info("relaying", "addr", ln.Addr().String(), "gateway", u.Redacted())
			fmt.Fprintf(cmd.OutOrStdout(), "relaying on http://%s to %s\n", ln.Addr(), u.Redacted())
			errc := make(chan error, 1)
			go func() { errc <- hs.Serve(ln) }()
			return serveUntilDone(ctx, hs, errc)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8081", "address to listen on")
	cmd.Flags().StringVar(&gateway, "gateway", "", "the aggregator's gateway URL, e.g. https://aggregator.example/v1/ohttp (required)")
	cmd.Flags().StringVar(&gatewayCA, "gateway-ca-file", "", "PEM file of the CAs to trust for the gateway's HTTPS certificate instead of the system's (a private CA)")
	cmd.Flags().Int64Var(&h.MaxRequestBytes, "max-body-bytes", 0, "largest encapsulated request (0: 17 MiB)")
	cmd.MarkFlagRequired("gateway")
	return cmd
}
