package dashboard_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/wisp-project/wisp/aggregator/dashboard"
)

// The dashboard is mounted beside the aggregator's API on one mux; the page
// then talks to the API on the same origin.
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.Handle(dashboard.Prefix, dashboard.Handler())
	// mux.Handle("/", aggregatorServer.Handler())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/dashboard/taxonomy.json", nil))
	var cats []dashboard.Category
	json.Unmarshal(rec.Body.Bytes(), &cats)
	fmt.Println(len(cats), "Interest categories, e.g.", cats[0].ID, cats[0].Name)
	// Output: 496 Interest categories, e.g. 207 Interest | Academic Interests
}
