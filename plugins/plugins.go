// Package plugins embeds the example plugins, built from the sources beside
// it into dist/, so the demo, the CLI's built-in plugin and the benchmarks
// run on a fresh machine with no toolchain: each variable is a module's
// bytes, ready for sandbox.Runtime.Load. The plugins' signed manifests and
// the hostile test modules are test fixtures and live in package testdata.
package plugins

// Rebuild the committed artifacts, here and in ../testdata/plugins (Go
// plugins need only the Go toolchain; C needs clang and wasm-ld; WAT needs
// wabt):
//go:generate sh build.sh

import _ "embed"

// Fitness is the wearable fitness plugin (fitness/) built for GOOS=wasip1
// as a reactor.
//
//go:embed dist/fitness.wasm
var Fitness []byte

// Fridge is the smart-fridge plugin (fridge/c/fridge.c), built with clang
// for wasm32 with no libc, taking summary batches.
//
//go:embed dist/fridge.wasm
var Fridge []byte

// FridgeEvents is the same C source built to take raw events.
//
//go:embed dist/fridge-events.wasm
var FridgeEvents []byte

// FridgeGo is the same fridge logic from its Go twin (fridge/scorer) built
// for GOOS=wasip1, taking summary batches like the C build, for
// benchmarks.
//
//go:embed dist/fridge-go.wasm
var FridgeGo []byte

// TV is the smart TV / speaker media plugin, hand-written WAT (tv/tv.wat).
//
//go:embed dist/tv.wasm
var TV []byte

// Home is the smart-speaker and home-assistant plugin, in AssemblyScript
// (home/assembly/index.ts).
//
//go:embed dist/home.wasm
var Home []byte

// Car is the connected-car plugin (car/c/car.c).
//
//go:embed dist/car.wasm
var Car []byte

// Example is ../sdk/wat/example.wat, the ABI's worked example: it scores
// Interest | Television (706) from watch minutes.
//
//go:embed dist/example.wasm
var Example []byte
