package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/sdk/abi"
)

// A device trusts one plugin author and loads a plugin that author signed.
func ExampleRuntime_LoadSigned() {
	ctx := context.Background()
	author, _ := sandbox.GenerateKey(sandbox.Ed25519, nil) // the author keeps this
	signed, _ := sandbox.SignManifest(sandbox.Manifest{Name: "example", Version: "1.0.0", Categories: []uint32{706}},
		plugins.Example, author)

	rt, _ := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().
		WithTrustStore(sandbox.NewTrustStore(author.Public())))
	p, err := rt.LoadSigned(ctx, signed, plugins.Example)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(ctx)
	scores, err := p.Score(ctx, []abi.Event{{Kind: 1, Value: 60}})
	fmt.Println(scores, err)

	// A module that is not the one the manifest names is refused.
	_, err = rt.LoadSigned(ctx, signed, plugins.TV)
	fmt.Println(errors.Is(err, sandbox.ErrRefused), errors.Is(err, sandbox.ErrDigestMismatch))
	// Output:
	// [{706 0.5}] <nil>
	// true true
}

// A device maker caps plugins with a policy, keeps compiled plugins on disk
// so restarts are fast, and scores a batch of local events.
func ExamplePlugin_Score() {
	ctx := context.Background()
	rt, err := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().
		WithPolicy(sandbox.Limits{MemoryPages: 64, Deadline: 20 * time.Millisecond}).
		WithCompilationCacheDir(os.TempDir() + "/wisp-example-cache"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close(ctx)
	tv, err := rt.Load(ctx, sandbox.Manifest{Name: "tv", Categories: []uint32{706, 715}}, plugins.TV)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tv.Close(ctx)
	// Kind 1 = watched on the TV; code 5 = science fiction; value = minutes.
	scores, err := tv.Score(ctx, []abi.Event{{Kind: 1, Code: 5, Value: 120}, {Kind: 1, Code: 5, Value: 60}})
	fmt.Println(scores, err, tv.Limits().MemoryPages)
	// Output: [{715 0.6} {706 0.375}] <nil> 64
}
