// Package wire is Wisp's report format: a CBOR (RFC 8949) envelope whose
// payload is sealed with HPKE (RFC 9180, base mode) to one of the
// aggregator's advertised keys.
//
// The envelope carries in clear only what the aggregator needs to route and
// de-duplicate a report: format version, mode, campaign, epoch, key id and a
// random report id. These are bound to the ciphertext as AEAD associated
// data, so moving a sealed payload to another campaign, epoch or report id
// fails to open. The payload is padded to a fixed size per campaign so its
// length says nothing about the answer.
//
// A prio3 campaign's report is a Prio3Report instead: the Prio3 public
// share and report id (the Prio3 nonce) in clear, and two input shares,
// each sealed to its own aggregator under associated data that binds the
// campaign, epoch, report id, role and public share (ShareAAD). PeekMode
// tells the two formats apart; a batch may mix them.
//
// Cipher suite (as IETF DAP): DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// AES-128-GCM. Every decoder here is bounded and fuzzed: reports are hostile
// until they open.
package wire
