package plugintest_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/wisp-project/wisp/host/plugintest"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
)

func TestCheck(t *testing.T) {
	got := map[uint32]float32{706: 0.5, 709: 0.2}
	for _, tc := range []struct {
		name string
		f    plugintest.Fixture
		bad  int
	}{
		{"exact", plugintest.Fixture{Want: map[uint32]float32{706: 0.5}}, 0},
		{"off", plugintest.Fixture{Want: map[uint32]float32{706: 0.6}}, 1},
		{"tolerant", plugintest.Fixture{Want: map[uint32]float32{706: 0.6}, Tolerance: 0.2}, 0},
		{"missing", plugintest.Fixture{Want: map[uint32]float32{1: 0.5}}, 1},
		{"min", plugintest.Fixture{Min: map[uint32]float32{706: 0.4, 709: 0.3}}, 1},
		{"max", plugintest.Fixture{Max: map[uint32]float32{706: 0.4}}, 1},
		{"absent", plugintest.Fixture{Absent: []uint32{709, 1}}, 1},
		{"only", plugintest.Fixture{Want: map[uint32]float32{706: 0.5}, Only: true}, 1},
	} {
		if msgs := tc.f.Check(got); len(msgs) != tc.bad {
			t.Errorf("%s: %d problems %q, want %d", tc.name, len(msgs), msgs, tc.bad)
		}
	}
}

// recorder is a TB that records failures instead of failing.
type recorder struct{ errs []string }

func (r *recorder) Helper()        {}
func (r *recorder) Cleanup(func()) {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestRunReportsWrongScores(t *testing.T) {
	h := plugintest.New(t, plugins.Example, sandbox.Manifest{Name: "example", Categories: []uint32{706}})
	fx, err := plugintest.Parse([]byte(`{"cases":[
		{"name":"right","events":[{"kind":1,"value":60}],"want":{"706":0.5}},
		{"name":"wrong","events":[{"kind":1,"value":60}],"want":{"706":0.9}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var r recorder
	h.Run(&r, fx.Cases)
	if len(r.errs) != 2 { // "wrong", in both rounds
		t.Fatalf("errors %q, want the wrong case twice", r.errs)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
