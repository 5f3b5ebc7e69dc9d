package inspect_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/cmd/wisp/internal/inspect"
)

func TestInspectTV(t *testing.T) {
	in, err := inspect.Inspect(context.Background(), "../../../../plugins/dist/tv.wasm", "../../../../testdata/plugins/tv.manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if in.ABI != "v1" || len(in.Problems) != 0 || in.Categories[706] == "" {
		t.Fatalf("inspect: %+v", in)
	}
	var out bytes.Buffer
	inspect.WriteText(&out, in)
	for _, want := range []string{"abi:      v1", "wisp_score(i32, i32, i32, i32) -> (i32)", "category 706"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, out.String())
		}
	}
}
