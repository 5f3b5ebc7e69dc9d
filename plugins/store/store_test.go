package store_test

import (
	"testing"

	"github.com/wisp-project/wisp/host/plugintest"
	"github.com/wisp-project/wisp/plugins"
)

// TestFixtures runs the plugin in the real host against its fixtures.
func TestFixtures(t *testing.T) {
	plugintest.New(t, plugins.Store, plugintest.ReadManifest(t, "manifest.json")).RunFile(t, "testdata/fixtures.json")
}
