// Package testdata embeds Wisp's test fixtures so the tests run on a fresh
// machine with no network, no toolchain and no files outside this module.
// It is for tests only: no production package imports it (the built
// example plugins themselves are package plugins, in ../plugins/dist).
//
//   - plugins/: the example plugins' signed manifests, the trust store and
//     the test-only author key that signed them, and the hostile modules
//     (plugins/hostile), all written by `go generate ./plugins`;
//   - campaigns/: campaigns for tests that need an aggregator with some
//     (fitness.json began as a copy of the demo's, which is the demo's own
//     file now: cmd/wisp/internal/demo/campaigns.json).
package testdata

import "embed"

// PluginManifests holds the example plugins' signed manifests,
// plugins/<name>.manifest.json for fitness, fridge, tv and car, signed by
// the test-only example author key.
//
//go:embed plugins/*.manifest.json
var PluginManifests embed.FS

// PluginTrustStore trusts the example author key, and only it. For tests;
// never on a real device.
//
//go:embed plugins/trust.txt
var PluginTrustStore []byte

// FitnessCampaigns is a JSON list of six campaigns on fitness interests:
// thresholds (runners: Running and Jogging 410 ≥ 0.6, fitness-fans,
// cyclists, swimmers), a top-3 histogram and a mean.
//
//go:embed campaigns/fitness.json
var FitnessCampaigns []byte
