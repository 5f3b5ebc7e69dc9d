// Package testdata embeds Wisp's test fixtures so the tests run on a fresh
// machine with no network, no toolchain and no files outside this module.
// It is for tests only: no production package imports it (the built
// example plugins themselves are package plugins, in ../plugins/dist).
//
//   - plugins/: the example plugins' signed manifests, the trust store and
//     the test-only author key that signed them, and the hostile modules
//     (plugins/hostile), all written by `go generate ./plugins`;
//   - campaigns/: campaigns for tests that need an aggregator with some.
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

// DemoCampaigns is the JSON list of campaigns the demo answers.
//
//go:embed campaigns/demo.json
var DemoCampaigns []byte
