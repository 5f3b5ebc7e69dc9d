package store

import (
	"cmp"
	"errors"
	"slices"
	"time"
)

// The two-aggregator mode (prio3, issue 16). Both the leader and the
// helper keep one row per report id — the replay authority — with its
// preparation outcome, and per (campaign, epoch) batch their aggregate
// share and, once collected, that share with their own central noise.

// Prio3State is where a prio3 report is at one aggregator.
type Prio3State string

const (
	// Prio3Pending: accepted by the leader, not prepared yet.
	Prio3Pending Prio3State = "pending"
	// Prio3Aggregated: prepared and added to the batch's aggregate share.
	Prio3Aggregated Prio3State = "aggregated"
	// Prio3Rejected: refused by preparation at either aggregator; counted
	// by neither.
	Prio3Rejected Prio3State = "rejected"
)

// Prio3Report is a report the leader accepted and has not prepared yet:
// what the aggregation job needs, and no more.
type Prio3Report struct {
	ID       ReportID
	Campaign string
	Epoch    uint32
	Public   []byte // the Prio3 public share, as the device sent it
	Leader   []byte // the leader's input share, opened (secret)
	Helper   []byte // the helper's input share, still sealed to the helper
	Token    []byte // the report token it came with (nil: none), forwarded to the helper
}

// Prio3Outcome is a report's preparation outcome at one aggregator.
type Prio3Outcome struct {
	ID    ReportID
	State Prio3State // Prio3Aggregated or Prio3Rejected
	// Message is the prep message of an aggregated report: the helper
	// answers a repeated job with it instead of preparing (and counting)
	// the report again.
	Message []byte
}

// Prio3Batch is one aggregator's view of a (campaign, epoch) batch.
type Prio3Batch struct {
	Epoch      uint32
	Pending    int64 // accepted, not prepared (leader only)
	Aggregated int64 // in the aggregate share
	Rejected   int64
	Collected  bool // the noised share is stored: the batch is closed for good
}

// Prio3Aggregate is one aggregator's share of a batch.
type Prio3Aggregate struct {
	Campaign    string
	Epoch       uint32
	Reports     int64
	Share       []byte    // prio.AggShare encoding without noise (empty: no report yet)
	Noised      []byte    // with this aggregator's noise; nil until collected
	CollectedAt time.Time // zero until collected
}

// ErrCollected: the batch was collected; it takes no more reports.
var ErrCollected = errors.New("store: batch already collected")

// sortedBatches lists batches by epoch.
func sortedBatches(byEpoch map[uint32]*Prio3Batch) []Prio3Batch {
	list := make([]Prio3Batch, 0, len(byEpoch))
	for _, b := range byEpoch {
		list = append(list, *b)
	}
	slices.SortFunc(list, func(a, b Prio3Batch) int { return cmp.Compare(a.Epoch, b.Epoch) })
	return list
}
