package plugintest_test

import (
	"context"
	"fmt"

	"github.com/wisp-project/wisp/host/plugintest"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/sdk/abi"
)

// Load the ABI's WAT example (sdk/wat/example.wat) in the real host and
// score an hour of television.
func Example() {
	h, err := plugintest.Load(context.Background(), sandbox.NewRuntime(sandbox.DefaultPolicy()),
		plugins.Example, sandbox.Manifest{Name: "example", Categories: []uint32{706}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	got, err := h.Score([]abi.Event{{Kind: 1, Value: 30}, {Kind: 1, Value: 30}})
	fmt.Printf("Interest | Television: %.2f %v\n", got[706], err)
	// Output: Interest | Television: 0.50 <nil>
}
