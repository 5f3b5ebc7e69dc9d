package main_test

import (
	"testing"

	"github.com/wisp-project/wisp/host/plugintest"
	"github.com/wisp-project/wisp/plugins"
)

// TestFixtures runs the built Go plugin in the real host against its
// fixtures (the logic itself is unit-tested natively in ./scorer).
func TestFixtures(t *testing.T) {
	plugintest.New(t, plugins.Fitness, plugintest.ReadManifest(t, "manifest.json")).RunFile(t, "testdata/fixtures.json")
}
