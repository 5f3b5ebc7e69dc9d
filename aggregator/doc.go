// Package aggregator is the server side of Wisp: it advertises HPKE keys,
// ingests sealed reports, stores them durably, registers and signs
// campaigns, and releases campaign segments — unbiased size estimates with
// 95% confidence intervals — to marketers, with token auth, tenants,
// Prometheus metrics and JSON, CSV and OpenRTB exports. See
// docs/AGGREGATOR.md for the operator's view and docs/openapi.json for the
// API.
//
// Reports are forged until verified: every report in a batch is decoded,
// routed, opened and checked on its own, and rejected with a stable reason
// (internal/api.Reason) without affecting the others. A report is
// acknowledged only after the store has committed it, and a report id is
// accepted once — on every node sharing the store.
//
// Nodes are stateless: keys, campaigns, tokens, releases and the campaign
// signing key live in the store (package store: SQLite or PostgreSQL), so
// any number of nodes can serve one PostgreSQL database, as Janus's roles
// coordinate through theirs. Results are released per (campaign, epoch)
// once the epoch has closed, and never change afterwards.
package aggregator
