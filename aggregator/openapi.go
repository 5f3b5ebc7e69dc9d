package aggregator

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the OpenAPI 3.1 description of the marketer, operator and
// device API (docs/openapi.json is a copy; a test keeps them equal).
//
//go:embed openapi.json
var OpenAPI []byte

func handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(OpenAPI)
}
