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
