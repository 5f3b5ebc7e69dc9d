package dashboard

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"

	"github.com/wisp-project/wisp/internal/taxonomy"
)

// Prefix is the path the dashboard is served under.
const Prefix = "/dashboard/"

//go:embed static
var static embed.FS

// Category is one taxonomy entry the campaign form offers.
type Category struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"`
	// Parent is the parent category's id; a top-tier category's parent
	// is the Interest root, which the list leaves out but a top_k over
	// every Interest category counts, so the page can still name it.
	Parent uint32 `json:"parent,omitempty"`
}

// Handler serves the dashboard. Mount it on the aggregator's mux at Prefix:
//
//	mux.Handle(dashboard.Prefix, dashboard.Handler())
//
// It serves the embedded static files and GET /dashboard/taxonomy.json, the
// Interest subtree of the embedded IAB Audience Taxonomy 1.1. The page
// itself holds no data: everything else comes from the REST API with the
// signed-in token.
func Handler() http.Handler {
	return HandlerFor(nil)
}

// HandlerFor is Handler with the taxonomy a deployment loaded; nil means the
// embedded IAB Audience Taxonomy 1.1.
func HandlerFor(tax *taxonomy.Taxonomy) http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(sub)
	// Render the taxonomy once, up front: the handler has no lazily
	// mutated state, and a bad taxonomy fails every request the same way.
	t := tax
	if t == nil {
		t = taxonomy.Default()
	}
	taxJSON, err2 := InterestJSON(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dashboard/taxonomy.json", func(w http.ResponseWriter, r *http.Request) {
		if err2 != nil {
			http.Error(w, "taxonomy unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(taxJSON)
	})
	mux.Handle("GET /dashboard/", http.StripPrefix("/dashboard", headers(files)))
	mux.Handle("GET /dashboard", http.RedirectHandler(Prefix, http.StatusMovedPermanently))
	return mux
}

// headers adds the security headers a page that handles a bearer token
// should carry: no framing, no inline script, nothing from other origins.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy",
			"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		if r.URL.Path == "/" || strings.HasSuffix(r.URL.Path, ".html") {
			w.Header().Set("Cache-Control", "no-cache")
		}
		h.ServeHTTP(w, r)
	})
}

// InterestJSON renders the Interest subtree of tax as the JSON array the
// campaign form searches: [{"id": 410, "name": "Interest | Sports | Running and Jogging", "parent": 386}, …].
func InterestJSON(tax *taxonomy.Taxonomy) ([]byte, error) {
	cats := tax.Under("Interest")
	out := make([]Category, 0, len(cats))
	for _, c := range cats {
		if c.Parent == 0 {
			continue // the root itself is not a useful segment
		}
		out = append(out, Category{ID: c.ID, Name: c.Name(), Parent: c.Parent})
	}
	return json.Marshal(out)
}
