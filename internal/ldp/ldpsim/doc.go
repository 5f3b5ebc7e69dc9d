// Package ldpsim measures Wisp's LDP mechanisms on simulated populations:
// the accuracy benchmark behind `wisp bench privacy`. For each mechanism
// and ε it randomizes a seeded, Zipf-distributed population of up to 10⁶
// devices over d items, decodes the answers as the aggregator would (timed),
// and compares the measured mean squared error with the exact variance
// formula. It also runs a RAPPOR-style Bloom-filter baseline (Erlingsson et
// al., CCS 2014), padding-and-sampling for set-valued answers, and the two
// mean mechanisms, and checks ldp.Choose against the measured best.
//
// Everything is deterministic given Config.Seed except the timings.
package ldpsim
