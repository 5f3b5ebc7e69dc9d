package plugindir

import (
	"os"
	"strings"
	"testing"
)

// TestASCMatchesBuildScript: the scaffold's pinned compiler and flags are
// the ones plugins/build.sh builds the committed example with, so a new
// plugin is built the way check-artifacts checks the example.
func TestASCMatchesBuildScript(t *testing.T) {
	b, err := os.ReadFile("../../../../plugins/build.sh")
	if err != nil {
		t.Fatal(err)
	}
	script := string(b)
	if !strings.Contains(script, "ASC_VERSION="+ASCVersion+"\n") {
		t.Errorf("plugins/build.sh does not pin assemblyscript %s", ASCVersion)
	}
	if flags := strings.Join(ascFlags, " "); !strings.Contains(script, `"$2" `+flags+` -o`) {
		t.Errorf("plugins/build.sh does not build with %q", flags)
	}
}
