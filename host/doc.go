// Package host is the device side of Wisp: the runtime a device maker
// embeds. It runs third-party scoring plugins (through host/sandbox) and
// turns the owner's local interest scores into sealed, differentially
// private reports.
//
// A Device (Open on a data directory) installs signed plugins, records the
// owner's events (with per-plugin retention), keeps the interest profile,
// holds opt-in consent per plugin and per campaign (default off), answers
// consented campaigns once per epoch through the privacy ledger, and sends
// reports from a durable outbox. Status is the owner's transparency view;
// Forget erases and proves it; Relevant and Pick do targeting on the
// device, so membership never leaves it. See docs/DEVICE.md and the Example
// functions.
//
// The layers underneath are usable alone: host/sandbox (load and run an
// untrusted plugin), Reporter (score → randomize → encode → seal) and
// Client (the aggregator's HTTP API).
package host
