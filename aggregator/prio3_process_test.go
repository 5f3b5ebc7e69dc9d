package aggregator_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/prio"
	"github.com/wisp-project/wisp/internal/proctest"
)

// startProcess runs `wisp aggregator serve` args as a child process.
func startProcess(t *testing.T, exe string, args ...string) *proctest.Child {
	t.Helper()
	c := proctest.StartCommand(t, exe, []string{"WISP_PEER_TOKEN=" + peerToken}, append([]string{"aggregator", "serve"}, args...)...)
	c.Drain()
	return c
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitFor polls cond every 100 ms until it holds or a minute passes (a
// bound for a loaded machine, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

func healthy(url string) func() bool {
	return func() bool {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
}

// TestPrio3TwoProcesses runs leader and helper as separate `wisp`
// processes on 127.0.0.1 with their own SQLite files: devices upload to
// the leader, its job loop works with the helper, and the two stored
// aggregate shares unshard to the exact count. Then the helper is killed
// (SIGKILL) while more reports arrive — they stay pending, nothing is
// lost — and restarted on its file: the job loop completes them, and the
// total is exact again, nothing counted twice. (Release with noise is
// TestPrio3EndToEnd's: it waits for the epoch to close.)
func TestPrio3TwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wisp binary and runs two processes; skipped with -short")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "wisp")
	if out, err := exec.Command("go", "build", "-o", exe, "../cmd/wisp").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	helperAddr, leaderAddr := freeAddr(t), freeAddr(t)
	helperURL, leaderURL := "http://"+helperAddr, "http://"+leaderAddr
	helperDB, leaderDB := filepath.Join(dir, "helper.db"), filepath.Join(dir, "leader.db")
	// The helper's own policy allows this test's small k.
	helperArgs := []string{"--role", "helper", "--addr", helperAddr, "--store", "sqlite:" + helperDB, "--min-k", "3"}
	helper := startProcess(t, exe, helperArgs...)
	waitFor(t, "the helper", healthy(helperURL))

	params := prio.ForThreshold()
	enc, _ := prio.EncodeParams(params)
	camp := campaign.Campaign{ID: "runners-2p", Name: "Runners", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.6},
		EpochSeconds: 86400, K: 3, Mode: campaign.ModePrio3,
		Prio3: &campaign.Prio3{Params: enc, CentralEpsilon: 1, MinBatch: 5, HelperURL: helperURL, HelperKeys: getBytes(t, helperURL+"/v1/hpke-config")}}
	b, _ := json.Marshal([]campaign.Campaign{camp})
	campsFile := filepath.Join(dir, "campaigns.json")
	if err := os.WriteFile(campsFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	leader := startProcess(t, exe, "--role", "leader", "--addr", leaderAddr, "--store", "sqlite:"+leaderDB, "--campaigns", campsFile)
	waitFor(t, "the leader", healthy(leaderURL))

	c, err := prio.NewClient(params, prio.AppContext(camp.ID))
	if err != nil {
		t.Fatal(err)
	}
	p := &pair{leader: &node{addr: leaderAddr}, camp: camp, params: params, client: c,
		leaderKey: firstKey(t, getBytes(t, leaderURL+"/v1/hpke-config"))}
	epoch := camp.Epoch(time.Now())
	send := func(yes, no int) {
		var raw [][]byte
		for i := range yes + no {
			raw = append(raw, p.device(t, epoch, prio.Bit(i < yes), nil))
		}
		if res := p.upload(t, raw...); res.Accepted != yes+no {
			t.Fatalf("upload: %+v", res)
		}
	}
	leaderStore, err := store.OpenSQLite(context.Background(), leaderDB)
	if err != nil {
		t.Fatal(err)
	}
	defer leaderStore.Close()
	batch := func() store.Prio3Batch {
		bs, err := leaderStore.Prio3Batches(context.Background(), camp.ID)
		if err != nil || len(bs) != 1 {
			return store.Prio3Batch{}
		}
		return bs[0]
	}
	total := func(want int64, reports uint64) {
		t.Helper()
		l := aggregatortest.StoredPrio3Shares(t, leaderDB, params, camp.ID)[epoch]
		h := aggregatortest.StoredPrio3Shares(t, helperDB, params, camp.ID)[epoch]
		if l == nil || h == nil {
			t.Fatalf("epoch %d: leader's share %v, helper's %v: want both stored", epoch, l, h)
		}
		got, err := prio.Unshard(params, l, h)
		if err != nil || got[0] != want || l.Reports() != reports {
			t.Fatalf("unsharded %v of %d reports, %v; want exactly %d of %d", got, l.Reports(), err, want, reports)
		}
	}

	send(73, 127)
	waitFor(t, "the leader's job loop", func() bool { b := batch(); return b.Aggregated == 200 && b.Pending == 0 })
	total(73, 200)

	helper.Kill() // SIGKILL, no shutdown: the process is gone
	send(20, 30)
	waitFor(t, "a failed job pass", func() bool { return strings.Contains(leader.Stderr(), "prio3 aggregation jobs") })
	if b := batch(); b.Pending != 50 || b.Aggregated != 200 {
		t.Fatalf("with the helper down: %+v, want 50 pending, 200 aggregated", b)
	}

	startProcess(t, exe, helperArgs...)
	waitFor(t, "the restarted helper", healthy(helperURL))
	waitFor(t, "the leader's job loop after the restart", func() bool { b := batch(); return b.Aggregated == 250 && b.Pending == 0 })
	total(93, 250)
}
