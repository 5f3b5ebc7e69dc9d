// Package queue puts a NATS JetStream stream between the aggregator's
// ingest front ends and the workers that open and store reports, so that
// each scales and fails on its own (docs/SCALE.md).
//
// The contract, all of it here:
//
//   - One stream (R1 or R3) holds sealed reports on subjects
//     <prefix>.<campaign-hash>.<shard>: the campaign's hash keeps the
//     subject a valid token whatever its id, the shard (a hash of the
//     report id) spreads one campaign's reports over subjects so
//     per-subject limits and future per-shard consumers have something
//     to split. Work-queue retention (an acked report leaves the stream)
//     and limits on bytes and age with discard-new: a full stream
//     refuses new reports (aggregator.ErrQueueFull, 429 to the device),
//     it never drops acknowledged ones to make room.
//   - A front end publishes each report with Nats-Msg-Id = its report id
//     and acknowledges the device only after every publish of the batch
//     is acknowledged by the stream (a quorum of an R3 stream). A resend
//     within the dedup window is a duplicate, answered as a replay. A
//     Wisp-Accepted-At header carries when the front end accepted the
//     report: the worker judges its epoch as of then, so a report
//     acknowledged within its epoch's grace is counted however long it
//     waits.
//   - Workers pull batches from one durable consumer, hand them to the
//     aggregator's own ingest step (Server.IngestQueued: open, validate,
//     replay check, one commit) and ack the messages only after the
//     commit. A crash anywhere before the ack redelivers the batch; the
//     store's unique report id then rejects what was already committed,
//     so counts stay exact. JetStream's dedup window is a first filter,
//     the store the authority.
//
// NATS JetStream: https://docs.nats.io/nats-concepts/jetstream (server
// v2.15, client github.com/nats-io/nats.go/jetstream v1.55).
package queue
