// Package store keeps the aggregator's reports durably. One interface, with
// an embedded SQLite implementation (modernc.org/sqlite, WAL); the
// aggregator acknowledges a report only after Insert has committed it.
//
// What is stored is the minimum estimation needs: the random report id (for
// replay protection), campaign, epoch, mechanism and the randomized answer.
// No transport metadata — no address, no user agent, no arrival time.
package store

import (
	"context"
	"errors"

	"github.com/wisp-project/wisp/internal/wire"
)

// Report is an opened, validated report.
type Report struct {
	ID        wire.ReportID
	Campaign  string
	Epoch     uint32
	Mechanism uint8
	Answer    []byte
}

// Store is durable report storage. Implementations are safe for concurrent
// use.
type Store interface {
	// Insert commits reports in one transaction. fresh[i] is false when a
	// report with reports[i].ID was already stored (a replay, including one
	// earlier in the same batch); such reports are not stored again.
	Insert(ctx context.Context, reports []Report) (fresh []bool, err error)
	// Epochs lists the epochs that have reports for campaign, ascending.
	Epochs(ctx context.Context, campaign string) ([]uint32, error)
	// Scan calls fn for every report of campaign in epoch.
	Scan(ctx context.Context, campaign string, epoch uint32, fn func(mechanism uint8, answer []byte) error) error
	// Close releases the store.
	Close() error
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("store: closed")
