// Package aggregator is the server side of Wisp: it advertises HPKE keys,
// ingests sealed reports, stores them durably and turns them into campaign
// segments — unbiased size estimates with 95% confidence intervals — for
// marketers.
//
// Reports are forged until verified: every report in a batch is decoded,
// routed, opened and checked on its own, and rejected with a stable reason
// (see Reason) without affecting the others. A report is acknowledged only
// after the store has committed it, and a report id is accepted once.
package aggregator
