package main

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
)

// roleIssuer is serve --role issuer: the report-token issuer
// (aggregator.Issuer), run by the device maker, not an aggregator.
const roleIssuer = "issuer"

// issuerOptions are serve's flags for --role issuer.
type issuerOptions struct {
	name    string
	makers  []string // --device-maker-key files
	newKeys int      // --new-keys-per-device
}

// readMakerKey reads a device maker's Ed25519 public key: PEM "PUBLIC
// KEY" (PKIX), as `openssl pkey -pubout` writes it.
func readMakerKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("--device-maker-key %s: want a PEM PUBLIC KEY block (openssl pkey -in maker.pem -pubout)", path)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("--device-maker-key %s: %w", path, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("--device-maker-key %s: a %T, want an Ed25519 key", path, k)
	}
	return pub, nil
}

// serveIssuer runs the issuer on ln until ctx ends.
func serveIssuer(ctx context.Context, out io.Writer, ln net.Listener, httpOpts aggregator.HTTPOptions, scheme string, o *aggOptions, opts issuerOptions, log *slog.Logger) error {
	if opts.name == "" || len(opts.makers) == 0 {
		return errors.New("--role issuer needs --issuer-name NAME (as campaigns' report_tokens name it) and --device-maker-key FILE (one or more)")
	}
	var makers []ed25519.PublicKey
	for _, f := range opts.makers {
		k, err := readMakerKey(f)
		if err != nil {
			return err
		}
		makers = append(makers, k)
	}
	kek, created, err := o.kek.resolve(o.store, log)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, o.store)
	if err != nil {
		if created != "" {
			os.Remove(created)
		}
		return err
	}
	defer st.Close()
	iss, err := aggregator.NewIssuer(aggregator.IssuerConfig{Store: st, Name: opts.name, Makers: makers, KeyEncryptionKey: kek, Logger: log,
		NewKeysPerDevice: opts.newKeys})
	if err != nil {
		return err
	}
	hs := aggregator.NewHTTPServer(iss.Handler(), httpOpts)
	log.Info("serving report-token issuer", "addr", ln.Addr().String(), "store", storeKind(o.store), "issuer_name", opts.name, "makers", len(makers))
	fmt.Fprintf(out, "issuer %q listening on %s://%s\n", opts.name, scheme, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	return serveUntilDone(ctx, hs, errc)
}
