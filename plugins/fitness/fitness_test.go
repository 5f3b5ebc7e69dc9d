package main_test

import (
	"os"
	"testing"

	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/sdk/plugintest"
	"github.com/wisp-project/wisp/testdata"
)

// TestFixtures runs the built Go plugin in the real host against its
// fixtures (the logic itself is unit-tested natively in ./scorer).
func TestFixtures(t *testing.T) {
	b, err := os.ReadFile("manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := host.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	plugintest.New(t, testdata.FitnessPlugin, m).RunFile(t, "testdata/fixtures.json")
}
