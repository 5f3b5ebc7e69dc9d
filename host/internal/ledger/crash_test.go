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
)

const (
	crashEnv      = "WISP_LEDGER_CRASH_DB"
	crashCap      = 4.0
	crashBudget   = 0.6
	crashCharge   = 0.002
	crashCampaign = 20
)

// TestCrashChild is the child process of TestKilledMidWriteNeverOverspends:
// it spends in a loop on a real database file and prints the id of every
// entry Spend acknowledged, until the parent kills it.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("child process only")
	}
	l, err := ledger.Open(context.Background(), path, ledger.NewConfig(crashCap))
	if err != nil {
		fmt.Println("open-error", err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		// Half the spends go to c0, whose epoch budget fills first; the
		// rest spread over campaigns whose budgets sum past the daily cap.
		campaign := "c0"
		if i%2 == 1 {
			campaign = "c" + strconv.Itoa(1+i%crashCampaign)
		}
		c := ledger.Charge{Campaign: campaign, Epsilon: crashCharge, EpochBudget: crashBudget}
		e, err := l.Spend(context.Background(), c)
		switch {
		case err == nil:
			fmt.Fprintf(os.Stdout, "ack %d\n", e.ID) // unbuffered: written before the next spend
		case !errors.Is(err, ledger.ErrOverBudget):
			fmt.Println("error", err)
			os.Exit(3)
		}
	}
}

// TestKilledMidWriteNeverOverspends kills a spending child process with
// SIGKILL at random moments — mid-transaction, mid-fsync, mid-checkpoint —
// over many rounds on one database file, then checks that every spend the
// child saw acknowledged is on disk (durable before the report is queued)
// and that neither the daily cap nor any campaign's epoch budget was ever
// exceeded.
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
}

func checkLedger(t *testing.T, path string, acked map[int64]bool) float64 {
	t.Helper()
	l, err := ledger.Open(context.Background(), path, ledger.NewConfig(crashCap))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	es, err := l.Entries(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
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
