package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/host/ownerpage"
)

// newDeviceServeCmd is wisp device serve.
func newDeviceServeCmd(f *deviceFlags) *cobra.Command {
	var listen string
	var hosts []string
	var every time.Duration
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve the owner's privacy page on 127.0.0.1 (what was inferred and shared, switches, pause, forget)",
		Long: `serve runs the owner's privacy page (package host/ownerpage) for the device in
--dir until interrupted, on 127.0.0.1 by default. It prints a link holding a
secret for this session: opening it signs the browser in (a cookie), and
nothing else — another user of the machine, or a web page in the browser —
can read the page or use its switches. Other Host names than loopback ones are
refused unless listed with --host. With --every, it also runs a scheduler pass
that often, as wisp device run --loop does.`,
		Example: "  wisp device serve\n  wisp device serve --listen 127.0.0.1:8787 --every 1m",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return f.withDevice(cmd, func(_ context.Context, d *host.Device) error {
				name, _, err := net.SplitHostPort(listen)
				if err != nil {
					return fmt.Errorf("--listen %q: %w; e.g. --listen 127.0.0.1:8787", listen, err)
				}
				if ip := net.ParseIP(name); name != "localhost" && (ip == nil || !ip.IsLoopback()) {
					fmt.Fprintf(cmd.ErrOrStderr(), "wisp: note: serving on %s, beyond this machine: the session link is all that protects the page, and it travels unencrypted\n", listen)
					hosts = append(hosts, name)
				}
				page, err := ownerpage.New(d, ownerpage.Options{Hosts: hosts})
				if err != nil {
					return err
				}
				ln, err := net.Listen("tcp", listen)
				if err != nil {
					return err
				}
				srv := &http.Server{Handler: page, ReadHeaderTimeout: 10 * time.Second}
				base := "http://" + ln.Addr().String() + "/"
				fmt.Fprintf(cmd.OutOrStdout(), "The privacy page of the device in %s is at %s\nOpen this link to sign in (it holds this session's secret: do not share it):\n\n  %s%s\n\nCtrl-C stops.\n",
					f.dir, base, base, page.LoginPath())
				done := make(chan error, 1)
				go func() { done <- srv.Serve(ln) }()
				if every > 0 {
					go d.Run(ctx, every, func(err error) {
						if !unreachable(err) {
							fmt.Fprintln(cmd.ErrOrStderr(), "wisp: device serve: scheduler pass:", err)
						}
					})
				}
				select {
				case <-ctx.Done():
				case err := <-done:
					return err
				}
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				return nil
			})
		},
	}
	serve.Flags().StringVar(&listen, "listen", "127.0.0.1:8787", "address to serve on (keep it on 127.0.0.1)")
	serve.Flags().StringSliceVar(&hosts, "host", nil, "another Host name the page answers to (besides 127.0.0.1, localhost, ::1)")
	durationVar(serve.Flags(), &every, "every", 0, "also run a scheduler pass this often (0: never)")
	return serve
}
