// Package testdata embeds Wisp's reference data and built artifacts so the
// demo and the tests run on a fresh machine with no network, no toolchain
// and no files outside this module:
//
//   - plugins/: the example plugins, built from ../plugins by go generate;
//   - campaigns/: the demo's campaigns.
package testdata

import "embed"

// Rebuild the committed plugin artifacts (Go plugins need only the Go
// toolchain; C needs clang and wasm-ld; WAT needs wabt):
//go:generate sh ../plugins/build.sh

// FitnessPlugin is the wearable fitness plugin (../plugins/fitness) built
// for GOOS=wasip1 as a reactor.
//
//go:embed plugins/fitness.wasm
var FitnessPlugin []byte

// FridgePlugin is the smart-fridge plugin (../plugins/fridge/c/fridge.c),
// built with clang for wasm32 with no libc, taking summary batches.
//
//go:embed plugins/fridge.wasm
var FridgePlugin []byte

// FridgeEventsPlugin is the same C source built to take raw events.
//
//go:embed plugins/fridge-events.wasm
var FridgeEventsPlugin []byte

// FridgeGoPlugin is the same fridge logic from its Go twin
// (../plugins/fridge/scorer) built for GOOS=wasip1, taking summary
// batches like the C build, for benchmarks.
//
//go:embed plugins/fridge-go.wasm
var FridgeGoPlugin []byte

// TVPlugin is the smart TV / speaker media plugin, hand-written WAT
// (../plugins/tv/tv.wat).
//
//go:embed plugins/tv.wasm
var TVPlugin []byte

// CarPlugin is the connected-car plugin (../plugins/car/car.c).
//
//go:embed plugins/car.wasm
var CarPlugin []byte

// ExamplePlugin is sdk/wat/example.wat, the ABI's worked example: it
// scores Interest | Television (706) from watch minutes.
//
//go:embed plugins/example.wasm
var ExamplePlugin []byte

// PluginManifests holds the example plugins' signed manifests,
// plugins/<name>.manifest.json for fitness, fridge, tv and car, signed by
// the test-only example author key.
//
//go:embed plugins/*.manifest.json
var PluginManifests embed.FS

// PluginTrustStore trusts the example author key, and only it. For tests
// and the demo; never on a real device.
//
//go:embed plugins/trust.txt
var PluginTrustStore []byte

// DemoCampaigns is the JSON list of campaigns the demo answers.
//
//go:embed campaigns/demo.json
var DemoCampaigns []byte
