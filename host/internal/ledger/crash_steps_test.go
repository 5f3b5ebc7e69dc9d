//go:build unix

package ledger_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/internal/ledger"
	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/proctest"
)

const (
	killStepDB   = "WISP_LEDGER_KILL_DB"
	killStepName = "WISP_LEDGER_KILL_STEP"
)

// The kill-at-a-step child spends under these caps: 0.5 of category 1's
// 1.0 before it is armed, then one more 0.5 on {1, 2} (a new category
// set, so insert-set inserts) or one Erase.
var (
	killMemo   = ldp.MemoKey{Campaign: "m", Value: "1"}
	killConfig = func() ledger.Config { return ledger.NewConfig(100).WithLongTerm(1, 1.5, 365*24*time.Hour) }
)

func killCharge(campaign string, eps float64, cats ...uint32) ledger.Charge {
	return ledger.Charge{Campaign: campaign, Epsilon: eps, EpochBudget: eps, Categories: cats}
}

// TestKillAtStepChild is the child of TestKilledAtEveryStep: it SIGKILLs
// itself at the named step of Spend or Erase — no deferred function, no
// rollback, no Close — as a power cut there would.
func TestKillAtStepChild(t *testing.T) {
	path, step := os.Getenv(killStepDB), ledger.Step(os.Getenv(killStepName))
	if path == "" {
		t.Skip("child process only")
	}
	ctx := context.Background()
	armed := false
	l, err := ledger.Open(ctx, path, killConfig().WithFault(func(s ledger.Step) error {
		if armed && s == step {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
		return nil
	}))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	if err := l.StoreMemo(ctx, killMemo, []byte{1}); err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	if _, err := l.Spend(ctx, killCharge("setup", 0.5, 1)); err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	armed = true
	if strings.HasPrefix(string(step), "erase-") {
		_, err = l.Erase(ctx)
	} else {
		_, err = l.Spend(ctx, killCharge("armed", 0.5, 1, 2))
	}
	fmt.Println("not killed at", step, err)
	os.Exit(4)
}

// TestKilledAtEveryStep kills a process with SIGKILL at each step of Spend
// and of Erase in turn, reopens the ledger and checks: a spend killed
// before its commit left nothing (not even its category set) and one
// killed after it is whole; an erasure killed before its commit deleted no
// memo and restarted nothing, one killed after it did both; and in every
// case the long-term caps still refuse exactly what they must.
func TestKilledAtEveryStep(t *testing.T) {
	if os.Getenv(killStepDB) != "" {
		t.Skip("in child")
	}
	for _, step := range append(ledger.Steps[:], ledger.EraseSteps[:]...) {
		t.Run(string(step), func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "ledger.db")
			proctest.RunUntilKilled(t, "TestKillAtStepChild", string(step), killStepDB+"="+path, killStepName+"="+string(step))

			l := mustOpen(t, path, killConfig())
			es, err := l.Entries(ctx, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			erasures, err := l.Erasures(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, memo, err := l.LoadMemo(ctx, killMemo)
			if err != nil {
				t.Fatal(err)
			}
			committed := step == ledger.StepAfterCommit || step == ledger.StepEraseAfterCommit
			erasing := strings.HasPrefix(string(step), "erase-")
			wantEntries := 1
			if committed && !erasing {
				wantEntries = 2
			}
			if len(es) != wantEntries {
				t.Fatalf("%d entries after a kill at %s, want %d: %+v", len(es), step, wantEntries, es)
			}
			if erased := len(erasures) == 1; erased != (committed && erasing) || erased == memo {
				t.Fatalf("after a kill at %s: %d erasures, memo kept %v; want the erasure and the memo's deletion together or neither", step, len(erasures), memo)
			}
			checkLongTerm(t, es, erasures, 1, 1.5)
			if n := categorySets(t, path); n != wantEntries {
				t.Errorf("%d category sets stored, want %d (one per committed spend here)", n, wantEntries)
			}

			// What is left of category 1's cap: 0.5 if one 0.5 counts, 0
			// if two do, 1 after a committed erasure.
			left := 1 - 0.5*float64(wantEntries)
			if len(erasures) == 1 {
				left = 1
			}
			var be *ledger.BudgetError
			if _, err := l.Spend(ctx, killCharge("probe-over", left+0.001, 1)); !errors.As(err, &be) || be.Scope != ledger.ScopeCategory || !near(be.Left(), left) {
				t.Errorf("spending %.3f on category 1: %v, want a category refusal with %.3f left", left+0.001, err, left)
			}
			if left > 0 {
				if _, err := l.Spend(ctx, killCharge("probe", left, 1)); err != nil {
					t.Errorf("spending the %.3f left on category 1: %v", left, err)
				}
			}
		})
	}
}

// categorySets counts the stored category sets, read beside the ledger.
func categorySets(t *testing.T, path string) int {
	t.Helper()
	db := openRaw(t, path)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM category_set`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
