// Package devicestore is a device's local database: installed plugins,
// events, the interest profile, consent and its history, campaigns and
// HPKE configs fetched from the aggregator, the outbox of sealed reports,
// the log of what left the device, and targeting impressions.
//
// It is one SQLite file (modernc.org/sqlite, WAL, synchronous=FULL), so
// every method that returns nil has committed durably: a crash or power cut
// after the return loses nothing. Every exported method owns one named
// transaction; the names appear in errors so a failure says which step of
// the device's pipeline it hit.
//
// Nothing in this package leaves the device. Package host is its only
// user and decides what may.
package devicestore
