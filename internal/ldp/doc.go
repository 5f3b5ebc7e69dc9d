// Package ldp holds Wisp's local differential privacy mechanisms: the device
// side randomizes a true answer, the aggregator side turns many randomized
// answers into an unbiased estimate with its variance and confidence
// interval.
//
// Each mechanism states its ε and the exact variance of its estimator, and
// the tests check both on simulated populations with fixed seeds. References:
// Warner, "Randomized Response" (JASA 1965); Wang, Blocki, Li, Jha, "Locally
// Differentially Private Protocols for Frequency Estimation" (USENIX Security
// 2017), section 4 for the variance formulas used here.
//
// Devices must draw randomness from NewCryptoRand; seeded generators are for
// tests and simulations only.
package ldp
