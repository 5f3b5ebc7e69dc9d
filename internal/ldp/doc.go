// Package ldp holds Wisp's local differential privacy mechanisms: the device
// side randomizes a true answer, the aggregator side turns many randomized
// answers into an unbiased estimate with its variance and confidence
// interval.
//
// One interface covers the frequency mechanisms: a FrequencyOracle
// randomizes a true item into a fixed-size answer (AppendRandomized) and an
// Accumulator sums answers so EstimateCounts can return unbiased counts with
// their exact variance. Implementations: RR (one bit), GRR, OUE, OLH,
// Hadamard, each with a wire Mechanism id; Choose picks the least-variance
// one for (ε, d) and says why. SetSampler answers top-k questions by
// padding-and-sampling; Duchi and Piecewise estimate bounded means; Memo is
// RAPPOR's permanent randomized response over a durable MemoStore; NormSub,
// ClipNonNegative and CheckK are the release-side post-processing.
//
// Each mechanism states its ε and the exact variance of its estimator, and
// the tests check both on simulated populations with fixed seeds, plus a
// statistical privacy audit that a mis-scaled ε fails. References:
// Warner, "Randomized Response" (JASA 1965); Wang, Blocki, Li, Jha, "Locally
// Differentially Private Protocols for Frequency Estimation" (USENIX Security
// 2017), section 4 for the variance formulas used here; Wang, Li, Jha (IEEE
// S&P 2018) for padding-and-sampling; Duchi, Jordan, Wainwright (FOCS 2013)
// and Wang et al. (ICDE 2019) for the mean mechanisms; Erlingsson, Pihur,
// Korolova, RAPPOR (CCS 2014) for memoization; Wang et al. (NDSS 2020) for
// Norm-Sub. docs/PRIVACY.md states the guarantees.
//
// Devices must draw randomness from NewCryptoRand; seeded generators are for
// tests and simulations only.
package ldp
