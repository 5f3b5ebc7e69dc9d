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
	// ErrOverBudget: the charge would exceed the campaign's epoch budget,
	// the device's daily cap, a category's long-term cap or the device's
	// long-term cap; nothing was recorded, send nothing. The error is a
	// *BudgetError saying which.
	ErrOverBudget = errors.New("ledger: over privacy budget")
	// ErrCharge: the charge itself is malformed.
	ErrCharge = errors.New("ledger: invalid charge")
	// ErrConfig: the ledger configuration is invalid.
	ErrConfig = errors.New("ledger: invalid configuration")
)

// Window is the span the daily cap applies to: any 24 hours, not a
// calendar day, so a device cannot spend its cap twice around midnight.
const Window = 24 * time.Hour

// The long-term budgets' defaults; docs/PRIVACY.md ("Long-term budgets")
// justifies them.
const (
	// DefaultCategoryCap is the ε the device spends, over LongWindow, on
	// answers that depend on any one taxonomy category: one answer at the
	// largest ε a campaign may ask (campaign.MaxEpsilon), or eight at ε = 1.
	DefaultCategoryCap = 8.0
	// DefaultDeviceCap is the ε the device spends on all answers together
	// over LongWindow: eight categories at their cap, or 16 days at the
	// default daily cap of 4.
	DefaultDeviceCap = 64.0
	// DefaultLongWindow is the long-term caps' sliding window.
	DefaultLongWindow = 365 * 24 * time.Hour
)

// Config is the device maker's policy plus test hooks. Build it with
// NewConfig and the With* methods; each returns a copy.
type Config struct {
	dailyCap    float64
	categoryCap float64
	deviceCap   float64
	longWindow  time.Duration
	now         func() time.Time
	fault       func(Step) error
}

// NewConfig returns a configuration with the given device-wide cap on ε
// spent in any 24-hour window, and the default long-term caps
// (DefaultCategoryCap, DefaultDeviceCap over DefaultLongWindow).
func NewConfig(dailyCap float64) Config {
	return Config{dailyCap: dailyCap, categoryCap: DefaultCategoryCap, deviceCap: DefaultDeviceCap,
		longWindow: DefaultLongWindow, now: time.Now}
}

// WithLongTerm returns a copy with the long-term caps: at most perCategory
// ε on answers that depend on any one category and at most perDevice ε in
// total, over any window (a sliding window, restarted by Erase).
func (c Config) WithLongTerm(perCategory, perDevice float64, window time.Duration) Config {
	c.categoryCap, c.deviceCap, c.longWindow = perCategory, perDevice, window
	return c
}

// WithClock returns a copy that reads time from now.
func (c Config) WithClock(now func() time.Time) Config { c.now = now; return c }

// WithFault returns a copy that calls hook at every Step of Spend and fails
// the step with its error: the fault-injection seam the crash tests use.
func (c Config) WithFault(hook func(Step) error) Config { c.fault = hook; return c }

// DailyCap is the configured cap.
func (c Config) DailyCap() float64 { return c.dailyCap }

// LongTerm returns the configured long-term caps and their window.
func (c Config) LongTerm() (perCategory, perDevice float64, window time.Duration) {
	return c.categoryCap, c.deviceCap, c.longWindow
}

// Step names a point inside Spend or Erase where a fault can be injected.
type Step string

// The steps of Spend, in order.
const (
	StepBegin       Step = "begin"        // before the transaction starts
	StepRead        Step = "read"         // before reading what was spent
	StepInsertSet   Step = "insert-set"   // checked; before finding or inserting the category set
	StepInsert      Step = "insert"       // before inserting the entry
	StepCommit      Step = "commit"       // before committing
	StepAfterCommit Step = "after-commit" // committed, before returning
)

// Steps lists every Step of Spend in order.
var Steps = [...]Step{StepBegin, StepRead, StepInsertSet, StepInsert, StepCommit, StepAfterCommit}

// The steps of Erase, in order.
const (
	StepEraseBegin       Step = "erase-begin"        // before the transaction starts
	StepEraseMemos       Step = "erase-memos"        // before deleting the memos
	StepEraseMark        Step = "erase-mark"         // memos deleted; before recording the erasure
	StepEraseCommit      Step = "erase-commit"       // before committing
	StepEraseAfterCommit Step = "erase-after-commit" // committed, before returning
)

// EraseSteps lists every Step of Erase in order.
var EraseSteps = [...]Step{StepEraseBegin, StepEraseMemos, StepEraseMark, StepEraseCommit, StepEraseAfterCommit}

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
	if !(cfg.categoryCap >= 0) || math.IsInf(cfg.categoryCap, 0) || !(cfg.deviceCap >= 0) || math.IsInf(cfg.deviceCap, 0) {
		return nil, fmt.Errorf("%w: long-term caps %v per category, %v per device", ErrConfig, cfg.categoryCap, cfg.deviceCap)
	}
	if cfg.longWindow <= 0 {
		return nil, fmt.Errorf("%w: long-term window %v", ErrConfig, cfg.longWindow)
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	// A new ledger starts as a copy of the migrated schema (best effort:
	// if it cannot be made, migrate below builds it).
	_ = template.Create(ctx, path)
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

// template is the migrated empty ledger new ones are copied from.
var template = sqlitedb.NewTemplate(migrations)

// Close closes the database.
func (l *Ledger) Close() error { return l.db.Close() }

// Stats is what the ledger's database ran since Open (sqlitedb.StatsOf):
// tests bound an operation's transactions with it.
func (l *Ledger) Stats() sqlitedb.Stats { return sqlitedb.StatsOf(l.db) }

// nano converts ε to stored units, rounding up (charges) or down (budgets).
func nano(eps float64, up bool) int64 {
	if up {
		return int64(math.Ceil(eps*1e9 - 1e-6))
	}
	return int64(math.Floor(eps*1e9 + 1e-6))
}

func fromNano(n int64) float64 { return float64(n) / 1e9 }

// tx runs fn in the write transaction called name, retrying while another
// process holds the write lock past busy_timeout.
func (l *Ledger) tx(ctx context.Context, name string, fn func(*sql.Tx) error) error {
	return wrap(name, sqlitedb.Tx(ctx, l.db, fn))
}

// snapshot runs fn, which only reads, in one read transaction called name
// (sqlitedb.Read): its statements see one state of the ledger, and it
// takes no write lock.
func (l *Ledger) snapshot(ctx context.Context, name string, fn func(*sql.Tx) error) error {
	return wrap(name, sqlitedb.Read(ctx, l.db, fn))
}

// read runs fn, which only reads, one statement at a time, each its own
// read transaction: no BEGIN, no COMMIT, no write lock.
func (l *Ledger) read(name string, fn func(sqlitedb.Querier) error) error {
	return wrap(name, fn(l.db))
}

// wrap names the operation in err, except a refusal.
func wrap(name string, err error) error {
	var refused *BudgetError
	if errors.As(err, &refused) {
		return refused // a decision, not a failure: keep it readable
	}
	if err != nil {
		return fmt.Errorf("ledger: %s: %w", name, err)
	}
	return nil
}
