package host_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/sdk/abi"
	"github.com/wisp-project/wisp/testdata"
)

// A device trusts one plugin author and loads a plugin that author signed.
func ExampleRuntime_LoadSigned() {
	ctx := context.Background()
	author, _ := host.GenerateKey(host.Ed25519, nil) // the author keeps this
	signed, _ := host.SignManifest(host.Manifest{Name: "example", Version: "1.0.0", Categories: []uint32{706}},
		testdata.ExamplePlugin, author)

	rt, _ := host.NewRuntimeWithConfig(host.NewRuntimeConfig().
		WithTrustStore(host.NewTrustStore(author.Public())))
	p, err := rt.LoadSigned(ctx, signed, testdata.ExamplePlugin)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(ctx)
	scores, err := p.Score(ctx, []abi.Event{{Kind: 1, Value: 60}})
	fmt.Println(scores, err)

	// A module that is not the one the manifest names is refused.
	_, err = rt.LoadSigned(ctx, signed, testdata.TVPlugin)
	fmt.Println(errors.Is(err, host.ErrRefused), errors.Is(err, host.ErrDigestMismatch))
	// Output:
	// [{706 0.5}] <nil>
	// true true
}
