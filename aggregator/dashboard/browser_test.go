package dashboard_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/wisp-project/wisp/internal/browsertest"
)

// newBrowser is a fresh headless Chromium for one test (internal/browsertest).
func newBrowser(t *testing.T) context.Context { return browsertest.New(t, 50*time.Second) }

// shot saves a screenshot of the page as name.png in the directory named
// by WISP_DASHBOARD_SHOTS, if set: for looking at what the tests saw.
func shot(t *testing.T, ctx context.Context, name string) {
	browsertest.Shot(t, ctx, os.Getenv("WISP_DASHBOARD_SHOTS"), name)
}
