// Package testdata embeds Wisp's reference data and built artifacts so the
// demo and the tests run on a fresh machine with no network, no toolchain
// and no files outside this module:
//
//   - taxonomy/: the IAB Tech Lab Audience Taxonomy 1.1 (CC BY 3.0, see
//     taxonomy/README.md);
//   - plugins/: the example plugins, built from ../plugins by go generate;
//   - campaigns/: the demo's campaigns.
package testdata

import _ "embed"

// Rebuild the committed plugin artifacts (needs only the Go toolchain):
//go:generate sh -c "cd .. && GOOS=wasip1 GOARCH=wasm go build -trimpath -ldflags=-s -buildmode=c-shared -o testdata/plugins/fitness.wasm ./plugins/fitness"

// Taxonomy is the IAB Audience Taxonomy 1.1 TSV.
//
//go:embed taxonomy/iab-audience-taxonomy-1.1.tsv
var Taxonomy []byte

// FitnessPlugin is the wearable fitness plugin (../plugins/fitness) built
// for GOOS=wasip1 as a reactor.
//
//go:embed plugins/fitness.wasm
var FitnessPlugin []byte

// DemoCampaigns is the JSON list of campaigns the demo answers.
//
//go:embed campaigns/demo.json
var DemoCampaigns []byte
