package ledger

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/wisp-project/wisp/internal/migrate"
	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// Sentinel errors callers can test with errors.Is.
var (
	// ErrOverBudget: the charge would exceed the campaign's epoch budget or
	// the device's daily cap; nothing was recorded, send nothing.
	ErrOverBudget = errors.New("ledger: over privacy budget")
	// ErrCharge: the charge itself is malformed.
	ErrCharge = errors.New("ledger: invalid charge")
	// ErrConfig: the ledger configuration is invalid.
	ErrConfig = errors.New("ledger: invalid configuration")
)

// Window is the span the daily cap applies to: any 24 hours, not a
// calendar day, so a device cannot spend its cap twice around midnight.
const Window = 24 * time.Hour

// Config is the device maker's policy plus test hooks. Build it with
// NewConfig and the With* methods; each returns a copy.
type Config struct {
	dailyCap float64
	now      func() time.Time
	fault    func(Step) error
}

// NewConfig returns a configuration with the given device-wide cap on ε
// spent in any 24-hour window.
func NewConfig(dailyCap float64) Config {
	return Config{dailyCap: dailyCap, now: time.Now}
}

// WithClock returns a copy that reads time from now.
func (c Config) WithClock(now func() time.Time) Config { c.now = now; return c }

// WithFault returns a copy that calls hook at every Step of Spend and fails
// the step with its error: the fault-injection seam the crash tests use.
func (c Config) WithFault(hook func(Step) error) Config { c.fault = hook; return c }

// DailyCap is the configured cap.
func (c Config) DailyCap() float64 { return c.dailyCap }

// Step names a point inside Spend where a fault can be injected.
type Step string

// The steps of Spend, in order.
const (
	StepBegin       Step = "begin"        // before the transaction starts
	StepRead        Step = "read"         // before reading what was spent
	StepInsert      Step = "insert"       // before inserting the entry
	StepCommit      Step = "commit"       // before committing
	StepAfterCommit Step = "after-commit" // committed, before returning
)

// Steps lists every Step in order.
var Steps = [...]Step{StepBegin, StepRead, StepInsert, StepCommit, StepAfterCommit}

// Ledger is an open ledger database. It is safe for concurrent use.
type Ledger struct {
	db  *sql.DB
	cfg Config
	mu  sync.Mutex // serializes spends within the process; SQLite's write lock does across processes
}

// The schema is the numbered files in migrations/ (package migrate);
// PRAGMA user_version records how many ran.
//
//go:embed migrations
var migrationFS embed.FS

var migrations = migrate.MustLoad(migrationFS, "migrations")

// Open opens (creating if needed) the ledger at path.
func Open(ctx context.Context, path string, cfg Config) (*Ledger, error) {
	if !(cfg.dailyCap >= 0) || math.IsInf(cfg.dailyCap, 0) {
		return nil, fmt.Errorf("%w: daily cap %v", ErrConfig, cfg.dailyCap)
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	db, err := sqlitedb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	l := &Ledger{db: db, cfg: cfg}
	if err := sqlitedb.Migrate(ctx, db, migrations, nil); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger: %s: %w", path, err)
	}
	return l, nil
}

// Close closes the database.
func (l *Ledger) Close() error { return l.db.Close() }

// nano converts ε to stored units, rounding up (charges) or down (budgets).
func nano(eps float64, up bool) int64 {
	if up {
		return int64(math.Ceil(eps*1e9 - 1e-6))
	}
	return int64(math.Floor(eps*1e9 + 1e-6))
}

func fromNano(n int64) float64 { return float64(n) / 1e9 }

// tx runs fn in the transaction called name, retrying while another
// process holds the write lock past busy_timeout.
func (l *Ledger) tx(ctx context.Context, name string, fn func(*sql.Tx) error) error {
	err := sqlitedb.Tx(ctx, l.db, fn)
	var refused *BudgetError
	if errors.As(err, &refused) {
		return refused // a decision, not a failure: keep it readable
	}
	if err != nil {
		return fmt.Errorf("ledger: %s: %w", name, err)
	}
	return nil
}
