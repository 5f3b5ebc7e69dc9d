// Package ledger is the device's privacy budget ledger: how much ε each
// campaign has spent per epoch, and how much the device has spent in any
// 24-hour window against a cap its maker sets. It lives in SQLite
// (modernc.org/sqlite, WAL, synchronous=FULL) next to the device's other
// state.
//
// The one rule it exists for: the ledger entry is durable before the report
// exists anywhere else. A device calls Spend (or SpendThen) and only queues
// the report once Spend has returned nil. A crash between the two loses a
// report but never over-spends; a crash before the commit leaves neither.
// Spend checks both budgets and inserts the entry in one immediate
// transaction, so concurrent spenders — goroutines or processes — cannot
// jointly pass a budget either.
//
// ε is stored as integer nano-ε, charges rounded up and budgets down, so
// float rounding can never let the total creep over a cap.
//
// The ledger also stores the device's memoized randomized answers
// (ldp.MemoStore): privacy state like the spends, with the same
// durability — an answer is on disk before it is sent. ForgetMemos erases
// them at the owner's request; nothing erases the spends.
package ledger
