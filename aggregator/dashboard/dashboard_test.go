package dashboard_test

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/aggregator/dashboard"
)

func get(t *testing.T, h http.Handler, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Result()
}

func TestHandlerServesPage(t *testing.T) {
	h := dashboard.Handler()
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/dashboard/", "text/html", `<script src="app.js"`},
		{"/dashboard/app.js", "javascript", "window.Wisp"},
		{"/dashboard/style.css", "text/css", "svg.chart"},
	} {
		resp := get(t, h, tc.path)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", tc.path, resp.Status)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, tc.ctype) {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, ct, tc.ctype)
		}
		if !strings.Contains(string(body), tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", tc.path, csp)
		}
	}
	if resp := get(t, h, "/dashboard"); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/dashboard/" {
		t.Errorf("GET /dashboard: %s to %q, want a redirect to /dashboard/", resp.Status, resp.Header.Get("Location"))
	}
	if resp := get(t, h, "/dashboard/nope.js"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /dashboard/nope.js: %s", resp.Status)
	}
}

func TestTaxonomyJSON(t *testing.T) {
	resp := get(t, dashboard.Handler(), "/dashboard/taxonomy.json")
	var cats []dashboard.Category
	if err := json.NewDecoder(resp.Body).Decode(&cats); err != nil {
		t.Fatal(err)
	}
	// IAB Audience Taxonomy 1.1: 497 Interest nodes, less the root.
	if len(cats) != 496 {
		t.Errorf("%d Interest categories, want 496", len(cats))
	}
	found := false
	for _, c := range cats {
		if !strings.HasPrefix(c.Name, "Interest | ") {
			t.Errorf("category %d %q is not under Interest", c.ID, c.Name)
		}
		found = found || (c.ID == 410 && strings.Contains(c.Name, "Running and Jogging"))
	}
	if !found {
		t.Error("410 Running and Jogging missing")
	}
}

// TestWorksOffline: nothing the page loads may come from another origin.
func TestWorksOffline(t *testing.T) {
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|@import|url\(\s*["']?https?:|fetch\(\s*["']https?:`)
	err := fs.WalkDir(os.DirFS("static"), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(filepath.Join("static", path))
		if err != nil {
			return err
		}
		if m := external.Find(b); m != nil {
			t.Errorf("static/%s loads from another origin: %q", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
