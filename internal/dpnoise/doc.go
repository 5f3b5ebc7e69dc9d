// Package dpnoise samples the discrete Laplace and discrete Gaussian
// distributions exactly, with integer arithmetic only, for central
// differential privacy: an aggregator adds an integer noise draw to each
// coordinate of an integer aggregate before it is released.
//
// No differential-privacy noise module for Go is reachable from this project
// (google/differential-privacy is refused), and floating-point samplers are
// unsafe for DP: the gaps and rounding of a float Laplace leak the true value
// (Mironov, "On Significance of the Least Significant Bits for Differential
// Privacy", CCS 2012). So the samplers here follow Canonne, Kamath and
// Steinke, "The Discrete Gaussian for Differential Privacy" (NeurIPS 2020,
// arXiv:2004.00010):
//
//   - Algorithm 1: Bernoulli(exp(−γ)) for a rational γ ≥ 0, from Bernoulli
//     draws of rational probability (BernoulliExp);
//   - Algorithm 2: the discrete Laplace Lap_ℤ(t/s), P[x] ∝ exp(−|x|·s/t),
//     from a uniform on {0,…,t−1}, Algorithm 1 and a geometric (Laplace);
//   - Algorithm 3: the discrete Gaussian N_ℤ(0, σ²), P[x] ∝ exp(−x²/2σ²),
//     by rejection from Lap_ℤ(⌊σ⌋+1) (Gaussian).
//
// Every draw comes from a Source of uniform 64-bit words; uniform integers
// on {0,…,n−1} are made by rejection (Lemire's method), so each sample has
// exactly the stated distribution given a uniform Source. The Laplace
// sampler works in uint64 (with a 128-bit product for U + t·V); the
// Gaussian's acceptance test uses math/big because its rational exponent
// (|Y|·t·d − n)²/(2·n·d·t²) outgrows 64 bits.
//
// Privacy (for an integer query of L1 sensitivity Δ): Lap_ℤ(Δ/ε) noise gives
// pure (ε, 0)-DP; N_ℤ(0, σ²) noise gives ρ-zCDP with ρ = Δ₂²/(2σ²) (CKS 2020,
// Theorem 4), Δ₂ the L2 sensitivity. LaplaceScale turns (Δ, ε) into a
// rational scale, rounding up so the noise is never smaller than promised.
//
// Sources: CryptoSource (the operating system's CSPRNG) for anything
// released; SeededSource for tests and simulations only, since predictable
// noise can be subtracted.
package dpnoise
