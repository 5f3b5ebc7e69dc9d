// Command sandboxonly is the smallest program a device maker can build
// that runs plugins: host/sandbox alone, the plugin read from a file. Its
// binary size and dependency count are in docs/BENCHMARKS.md.
//
//	sandboxonly plugin.wasm category...
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/sdk/abi"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sandboxonly:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: sandboxonly plugin.wasm category...")
	}
	wasm, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var cats []uint32
	for _, a := range args[1:] {
		c, err := strconv.ParseUint(a, 10, 32)
		if err != nil {
			return err
		}
		cats = append(cats, uint32(c))
	}
	ctx := context.Background()
	rt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	defer rt.Close(ctx)
	p, err := rt.Load(ctx, sandbox.Manifest{Name: "plugin", Categories: cats}, wasm)
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC).UnixMilli()
	scores, err := p.Score(ctx, []abi.Event{{Kind: 3, Code: 1, Time: now, Value: 40}, {Kind: 3, Code: 1, Time: now, Value: 30}})
	if err != nil {
		return err
	}
	for _, s := range scores {
		fmt.Printf("score %d %.2f\n", s.Category, s.Value)
	}
	return nil
}
