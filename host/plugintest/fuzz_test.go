package plugintest_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/wisp-project/wisp/host/plugintest"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/sdk/abi"
)

// FuzzParse: any fixture file parses or fails with ErrFixture.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"plugin":"tv","cases":[{"name":"x","events":[{"kind":1,"value":60}],"want":{"706":0.5},"absent":[1],"only":true}]}`))
	f.Add([]byte(`{"cases":[{"min":{"x":1}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fx, err := plugintest.Parse(b)
		if err != nil {
			if !errors.Is(err, plugintest.ErrFixture) {
				t.Fatalf("error %v does not wrap ErrFixture", err)
			}
			return
		}
		for _, c := range fx.Cases {
			c.Check(map[uint32]float32{706: 0.5})
		}
	})
}

// FuzzRawEvents: any input is renamed or refused without a panic, and a
// renamed module differs from its input only in the opt-in's name.
func FuzzRawEvents(f *testing.F) {
	f.Add(plugins.Fridge)
	f.Add(plugins.Example)
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x07\x05\x01\x0fwisp"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := plugintest.RawEvents(b)
		if err != nil {
			return
		}
		if len(out) != len(b) || bytes.Count(out, []byte(abi.SummaryExport)) != bytes.Count(b, []byte(abi.SummaryExport))-1 {
			t.Fatalf("RawEvents changed more than one %s", abi.SummaryExport)
		}
	})
}
