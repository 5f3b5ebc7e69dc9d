// Package prio is Wisp's typed layer over Prio3 (draft-irtf-cfrg-vdaf, as
// implemented by github.com/cloudflare/circl/vdaf/prio3) for the
// two-aggregator mode: a device splits its answer into two secret shares
// with a proof of validity; the leader and the helper each see one share,
// check the proof together without learning the answer, sum their shares,
// add central noise, and only the sum of the two noised aggregate shares
// reveals anything — the noisy total.
//
// # Questions and instances
//
// Params is the canonical instance description a signed campaign config
// carries (EncodeParams: deterministic CBOR). One per question type:
//
//	threshold (score ≥ t?)        ForThreshold()   Prio3Count              Δ = 1
//	one of d categories           ForOneOf(d)      Prio3Histogram          Δ = 1
//	top-k set of d categories     ForTopK(d, k)    Prio3MultihotCountVec   Δ = k
//	mean of a b-bit value         ForMean(b)       Prio3Sum                Δ = 2^b − 1
//	means of n b-bit values       ForMeans(n, b)   Prio3SumVec             Δ = n·(2^b − 1)
//
// A Measurement is the vector the device adds to the aggregate (a bit, a
// one-hot or multi-hot vector, values); Shard refuses one the proof would
// refuse.
//
// # The flow
//
//	device:  Client.Shard(m) → Report{Nonce, Public, Leader, Helper}
//	         (Leader and Helper each HPKE-sealed to their aggregator)
//	each aggregator: PrepInit(nonce, public, its input) → state, prep share
//	one of them:     PrepSharesToPrep(leader's, helper's) → prep message
//	                 (ErrRejected: the proof failed; both drop the report)
//	each aggregator: PrepNext(state, message) → OutShare; AggShare.Add
//	at release:      AggShare.AddNoise(dpnoise.CryptoSource(), ε), send
//	                 MarshalBinary and Reports
//	collector:       Unshard(p, leader's, helper's) → []int64 totals
//
// Clients and aggregators wrap a circl instance, which is not safe for
// concurrent use: one per goroutine; AggShare.Merge joins their sums.
//
// # Privacy accounting
//
// Per release, each aggregator adds to every coordinate of its aggregate
// share an independent discrete Laplace of scale Δ/ε (package dpnoise,
// exact), Δ the L1 sensitivity above, which the validity proof enforces: no
// report, honest or not, moves the aggregate by more than Δ in L1. Neighbouring
// batches differ by adding or removing one device's report. The released
// total carries both draws; either draw alone makes it (ε, 0)-DP, so the
// guarantee holds even if one aggregator colludes with the collector (or is
// the collector, as the leader is when it unshards) and subtracts its own
// noise. The price is variance: two draws, sd √2·√Var(Lap_ℤ(Δ/ε)) ≈ 2Δ/ε
// (1.92 for a count at ε = 1, against ≈ 960 for randomized response over
// 10⁶ devices). Each release of an overlapping batch spends ε again
// (sequential composition). Before aggregation nothing is released: one
// aggregator's shares are uniformly random, given the other is honest.
//
// Reports must carry unique nonces (the aggregators refuse replays) and
// both aggregators must aggregate the same set of reports; Unshard checks
// the two report counts agree.
package prio
