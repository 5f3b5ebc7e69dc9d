package main

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/privpass"
)

// deviceCredentialFile holds a device's report-token credential in its
// directory: the credential (PEM "WISP DEVICE CREDENTIAL", its CBOR) and
// the device's Ed25519 key (PEM "PRIVATE KEY", PKCS #8).
const deviceCredentialFile = "credential.pem"

const credentialBlock = "WISP DEVICE CREDENTIAL"

// newDeviceCredentialCmd is the device maker's provisioning step.
func newDeviceCredentialCmd(df *deviceFlags) *cobra.Command {
	var makerFile, id string
	cmd := &cobra.Command{
		Use:   "credential",
		Short: "Provision the device with its maker's credential for report tokens",
		Long: `credential is the device maker's step: it makes the device an Ed25519 key and
signs {device id, device key} with the maker's Ed25519 private key (--maker-key,
PEM PKCS #8 as openssl genpkey -algorithm ed25519 writes it), and writes both to
credential.pem in the device's directory (mode 600). With it, the device asks a
campaign's report-token issuer (serve --role issuer, configured with the
maker's public key) for its one token per campaign epoch; without it, the
device does not answer campaigns that require report tokens.`,
		Example: "  wisp device credential --maker-key maker.pem --id device-0001",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := readDeviceSettings(df.dir); err != nil {
				return err
			}
			if id == "" || makerFile == "" {
				return errors.New("credential needs --maker-key FILE and --id DEVICE-ID; e.g. --maker-key maker.pem --id device-0001")
			}
			maker, err := readMakerPrivateKey(makerFile)
			if err != nil {
				return err
			}
			cred, key, err := privpass.Provision(maker, id)
			if err != nil {
				return err
			}
			path := filepath.Join(df.dir, deviceCredentialFile)
			if err := writeCredential(path, cred, key); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "device %q provisioned: %s\n", id, path)
			return nil
		},
	}
	cmd.Flags().StringVar(&makerFile, "maker-key", "", "the device maker's Ed25519 private key, PEM PKCS #8")
	cmd.Flags().StringVar(&id, "id", "", "the device's id, as the issuer counts it (one token per id and campaign epoch)")
	return cmd
}

func readMakerPrivateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("--maker-key %s: want a PEM PRIVATE KEY block (openssl genpkey -algorithm ed25519)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("--maker-key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("--maker-key %s: a %T, want an Ed25519 key", path, k)
	}
	return priv, nil
}

func writeCredential(path string, cred privpass.Credential, key ed25519.PrivateKey) error {
	c, err := cred.Marshal()
	if err != nil {
		return err
	}
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	out := append(pem.EncodeToMemory(&pem.Block{Type: credentialBlock, Bytes: c}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})...)
	return os.WriteFile(path, out, 0o600)
}

// withCredential adds dir's credential.pem, if there is one, to cfg.
func withCredential(cfg host.DeviceConfig, dir string) (host.DeviceConfig, error) {
	path := filepath.Join(dir, deviceCredentialFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	} else if err != nil {
		return cfg, err
	}
	var cred *privpass.Credential
	var key ed25519.PrivateKey
	for blk, rest := pem.Decode(b); blk != nil; blk, rest = pem.Decode(rest) {
		switch blk.Type {
		case credentialBlock:
			c, err := privpass.ParseCredential(blk.Bytes)
			if err != nil {
				return cfg, fmt.Errorf("%s: %w", path, err)
			}
			cred = &c
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return cfg, fmt.Errorf("%s: %w", path, err)
			}
			if key, _ = k.(ed25519.PrivateKey); key == nil {
				return cfg, fmt.Errorf("%s: the device key is a %T, want Ed25519", path, k)
			}
		}
	}
	if cred == nil || key == nil || !key.Public().(ed25519.PublicKey).Equal(cred.DeviceKey) {
		return cfg, fmt.Errorf("%s: want a credential and the device key it names", path)
	}
	return cfg.WithDeviceCredential(*cred, key), nil
}
