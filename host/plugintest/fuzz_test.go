package plugintest_test

import (
	"errors"
	"testing"

	"github.com/wisp-project/wisp/host/plugintest"
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
