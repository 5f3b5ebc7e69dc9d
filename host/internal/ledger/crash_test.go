package ledger_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/internal/ledger"
	"github.com/wisp-project/wisp/internal/ldp"
)

const (
	crashEnv      = "WISP_LEDGER_CRASH_DB"
	crashCap      = 4.0
	crashBudget   = 0.6
	crashCharge   = 0.002
	crashCampaign = 20
	// The long-term caps bind before the daily cap: 0.05 on any of
	// crashCategories categories, 0.1 on the device, between erasures.
	crashCategoryCap = 0.05
	crashDeviceCap   = 0.1
	crashCategories  = 4
)

func crashConfig() ledger.Config {
	return ledger.NewConfig(crashCap).WithLongTerm(crashCategoryCap, crashDeviceCap, 365*24*time.Hour)
}

// crashCharges is the child's i-th charge: half to c0, whose epoch budget
// fills first, the rest spread over campaigns whose budgets sum past the
// daily cap; each depends on one of crashCategories categories (category
// 0 most often, so it fills first), every fifth is a top_k over all of
// them, and every fourth (i ≡ 2) re-sends one memo on category 1, which
// the long-term caps count once per period.
func crashCharges(i int) ledger.Charge {
	campaign := "c0"
	if i%2 == 1 {
		campaign = "c" + strconv.Itoa(1+i%crashCampaign)
	}
	cats := []uint32{uint32(i % crashCategories)}
	if i%3 == 0 {
		cats = []uint32{0}
	}
	if i%5 == 0 {
		cats = []uint32{0, 1, 2, 3}
	}
	var memo ldp.MemoKey
	if i%4 == 2 {
		cats, memo = []uint32{1}, ldp.MemoKey{Campaign: "q:resent", Value: "1"}
	}
	return ledger.Charge{Campaign: campaign, Epsilon: crashCharge, EpochBudget: crashBudget, Categories: cats, Memo: memo}
}

// TestCrashChild is the child process of TestKilledMidWriteNeverOverspends:
// it spends in a loop on a real database file and prints the id of every
// entry Spend acknowledged, now and then storing a memo and erasing, until
// the parent kills it.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("child process only")
	}
	ctx := context.Background()
	l, err := ledger.Open(ctx, path, crashConfig())
	if err != nil {
		fmt.Println("open-error", err)
		os.Exit(2)
	}
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), 1))
	for i := 0; ; i++ {
		if rng.IntN(150) == 0 {
			key := ldp.MemoKey{Campaign: "m", Value: strconv.Itoa(i) + "-" + strconv.Itoa(os.Getpid())}
			if err := l.StoreMemo(ctx, key, []byte{1}); err != nil {
				fmt.Println("error", err)
				os.Exit(3)
			}
			if _, err := l.Erase(ctx); err != nil {
				fmt.Println("error", err)
				os.Exit(3)
			}
		}
		e, err := l.Spend(ctx, crashCharges(i))
		var refused *ledger.BudgetError
		switch {
		case err == nil:
			fmt.Fprintf(os.Stdout, "ack %d\n", e.ID) // unbuffered: written before the next spend
		case errors.As(err, &refused):
			fmt.Println("refused", refused.Scope)
		case !errors.Is(err, ledger.ErrOverBudget):
			fmt.Println("error", err)
			os.Exit(3)
		}
	}
}

// TestKilledMidWriteNeverOverspends kills a spending (and now and then
// erasing) child process with SIGKILL at random moments — mid-transaction,
// mid-fsync, mid-checkpoint — over many rounds on one database file, then
// checks that every spend the child saw acknowledged is on disk (durable
// before the report is queued) and that neither the daily cap, nor any
// campaign's epoch budget, nor between two erasures any category's or the
// device's long-term cap was ever exceeded.
func TestKilledMidWriteNeverOverspends(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in child")
	}
	rounds := 25
	if testing.Short() {
		rounds = 8
	}
	path := filepath.Join(t.TempDir(), "ledger.db")
	acked := map[int64]bool{}
	refusals := map[string]int{}
	rng := rand.New(rand.NewPCG(7, 7))
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var lines []string
		done := make(chan struct{})
		go func() {
			s := bufio.NewScanner(out)
			for s.Scan() {
				mu.Lock()
				lines = append(lines, s.Text())
				mu.Unlock()
			}
			close(done)
		}()
		time.Sleep(time.Duration(20+rng.IntN(120)) * time.Millisecond)
		cmd.Process.Kill()
		<-done
		cmd.Wait()
		n := 0
		for _, line := range lines {
			if id, ok := strings.CutPrefix(line, "ack "); ok {
				v, _ := strconv.ParseInt(id, 10, 64)
				acked[v] = true
				n++
			} else if scope, ok := strings.CutPrefix(line, "refused "); ok {
				refusals[scope]++
			} else if strings.HasPrefix(line, "error") || strings.HasPrefix(line, "open-error") {
				t.Fatalf("round %d: child: %s", round, line)
			}
		}
		total := checkLedger(t, path, acked)
		t.Logf("round %d: %d acknowledged spends, %.3f of %.1f spent", round, n, total, crashCap)
	}
	if len(acked) == 0 {
		t.Fatal("the child never spent; the test tested nothing")
	}
	t.Logf("refusals by scope: %v", refusals)
	if refusals[ledger.ScopeCategory] == 0 || refusals[ledger.ScopeDevice] == 0 {
		t.Errorf("the long-term caps never refused (%v): the test did not reach them", refusals)
	}
}

func checkLedger(t *testing.T, path string, acked map[int64]bool) float64 {
	t.Helper()
	l, err := ledger.Open(context.Background(), path, crashConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	es, err := l.Entries(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	erasures, err := l.Erasures(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkLongTerm(t, es, erasures, crashCategoryCap, crashDeviceCap)
	onDisk := map[int64]bool{}
	perCampaign := map[string]float64{}
	var total float64
	for _, e := range es {
		onDisk[e.ID] = true
		perCampaign[e.Campaign] += e.Epsilon
		total += e.Epsilon
	}
	for id := range acked {
		if !onDisk[id] {
			t.Fatalf("acknowledged spend %d lost after the crash", id)
		}
	}
	if total > crashCap+1e-9 {
		t.Fatalf("total %.3f exceeds the daily cap %.1f", total, crashCap)
	}
	for c, s := range perCampaign {
		if s > crashBudget+1e-9 {
			t.Fatalf("campaign %s spent %.3f > epoch budget %.1f", c, s, crashBudget)
		}
	}
	return total
}

// checkLongTerm recomputes the long-term caps from the entries alone:
// between two erasures (all entries are inside the window), no category's
// spend exceeds perCategory and the total does not exceed perDevice, each
// memo counted once per period (at its largest ε) for its categories.
func checkLongTerm(t *testing.T, es []ledger.Entry, erasures []ledger.Erasure, perCategory, perDevice float64) {
	t.Helper()
	period := func(id int64) int { // how many erasures came before the spend
		n := 0
		for _, e := range erasures {
			if id > e.AfterSpend {
				n++
			}
		}
		return n
	}
	type key struct {
		period   int
		category uint32
	}
	type memoKey struct {
		period int
		memo   ldp.MemoKey
		cats   string
	}
	perCat := map[key]float64{}
	total := map[int]float64{}
	memos := map[memoKey]float64{}
	for _, e := range es {
		p := period(e.ID)
		eps := e.Epsilon
		if e.Memo.Campaign != "" {
			k := memoKey{p, e.Memo, fmt.Sprint(e.Categories)}
			eps = max(e.Epsilon-memos[k], 0)
			memos[k] = max(memos[k], e.Epsilon)
		}
		total[p] += eps
		for _, c := range e.Categories {
			perCat[key{p, c}] += eps
		}
	}
	for k, s := range perCat {
		if s > perCategory+1e-9 {
			t.Fatalf("category %d spent %.3f > its long-term cap %.3f after %d erasures", k.category, s, perCategory, k.period)
		}
	}
	for p, s := range total {
		if s > perDevice+1e-9 {
			t.Fatalf("device spent %.3f > its long-term cap %.3f after %d erasures", s, perDevice, p)
		}
	}
}
