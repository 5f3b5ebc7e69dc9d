// Package ledger is the device's privacy budget ledger: how much ε each
// campaign has spent per epoch, how much the device has spent in any
// 24-hour window against a cap its maker sets, and two long-term caps over
// a long sliding window (365 days by default): one on the ε spent on
// answers that depend on any one taxonomy category (Charge.Categories),
// one on the device's total. It lives in SQLite (modernc.org/sqlite, WAL,
// synchronous=FULL) next to the device's other state.
//
// The one rule it exists for: the ledger entry is durable before the report
// exists anywhere else. A device calls Spend (or SpendThen) and only queues
// the report once Spend has returned nil. A crash between the two loses a
// report but never over-spends; a crash before the commit leaves neither.
// Spend checks every budget and inserts the entry in one immediate
// transaction, so concurrent spenders — goroutines or processes — cannot
// jointly pass a budget either.
//
// What is charged: one entry per answer, at the campaign's ε, on the
// categories the answer depends on. For an LDP campaign that is ε∞, what
// the memoized answer reveals. For a prio3 campaign (a secret-shared true
// answer, no local noise) it is the central ε each aggregator's noise
// gives every release that includes the report (Prio3.CentralEpsilon,
// equal to the campaign's Epsilon), charged before the answer is sharded
// and for null reports too — each epoch's report may be in a release, and
// the device's caps bound the sum. That bound holds as long as the two
// aggregators do not both collude with the collector; if they did, a
// prio3 report would reveal the answer, which no ledger can charge for.
//
// ε is stored as integer nano-ε, charges rounded up and budgets down, so
// float rounding can never let the total creep over a cap.
//
// The ledger also stores the device's memoized randomized answers
// (ldp.MemoStore): privacy state like the spends, with the same
// durability — an answer is on disk before it is sent. Erase, at the
// owner's request once everything derived from them is gone, deletes the
// memos and restarts the long-term period in one transaction; nothing
// erases the spends, and the daily cap and epoch budgets keep counting
// them.
package ledger
