// Package soak runs two aggregator nodes on one PostgreSQL for a bounded
// time under mixed traffic — valid, replayed, malformed and slow uploads
// — while killing one node with SIGKILL at a fixed period and restarting
// it, and then checks that nothing acknowledged was lost and nothing was
// stored twice: acknowledged = stored = counted after release. It backs
// `wisp bench soak`, and lives with the CLI because it seals its reports
// with package host, which the aggregator's tree never links.
//
// Everything runs on 127.0.0.1: the nodes are `wisp aggregator serve`
// child processes (Options.Command), the senders goroutines of this one.
package soak

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/cmd/wisp/internal/bench/ingest"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
)

// Options size and wire the run.
type Options struct {
	// Duration is how long traffic runs; KillEvery the period of the
	// SIGKILLs (node 1, node 2, node 1, …), each followed by a restart.
	Duration, KillEvery time.Duration
	// Command is the argv that runs wisp (e.g. os.Executable()), Env
	// what is added to the environment of its processes.
	Command []string
	Env     []string
	// PostgresURL is the server; a fresh schema is made and dropped.
	PostgresURL string
	// Dir holds the nodes' files (key encryption key, campaigns).
	Dir string
	// Senders upload valid, replayed and malformed batches of Batch
	// reports; Slow clients trickle request bodies at 1 byte/s.
	Senders, Batch, Slow int
	// Progress, if set, gets a line per KillEvery.
	Progress func(line string)
	// NodeLog, if set, gets the nodes' standard error.
	NodeLog io.Writer
}

// Report is the outcome.
type Report struct {
	Seconds float64 `json:"seconds"`
	Kills   int     `json:"kills"`
	// Sent is the distinct valid reports sent; Acknowledged those
	// answered accepted; CommittedUnanswered those whose first answer
	// was lost to a kill and which a retry found stored (replay).
	Sent                int64 `json:"sent"`
	Acknowledged        int64 `json:"acknowledged"`
	CommittedUnanswered int64 `json:"committed_unanswered"`
	// Stored is what the store holds at the end; Counted what the
	// released result counted.
	Stored  int64 `json:"stored"`
	Counted int64 `json:"counted"`
	// Lost is sent reports a final re-upload found not stored; Double
	// replays accepted (a report stored twice).
	Lost   int64 `json:"lost"`
	Double int64 `json:"double"`
	// RetriedBatches are batches sent again after a failed answer (a
	// killed node, a refused connection, 429/503).
	RetriedBatches    int64 `json:"retried_batches"`
	ReplayedBatches   int64 `json:"replayed_batches"`
	ReplaysRejected   int64 `json:"replays_rejected"`
	MalformedSent     int64 `json:"malformed_sent"`
	MalformedRejected int64 `json:"malformed_rejected"`
	// SlowConnections is how many slow-body connections were opened;
	// SlowCut how many the server ended.
	SlowConnections int64 `json:"slow_connections"`
	SlowCut         int64 `json:"slow_cut"`
	// MaxRSSKiB is each node's largest peak resident set (VmHWM) over
	// its incarnations.
	MaxRSSKiB [2]int64 `json:"max_rss_kib"`
}

// OK says whether the run kept its promise.
func (r Report) OK() bool {
	return r.Lost == 0 && r.Double == 0 && r.Sent == r.Acknowledged+r.CommittedUnanswered &&
		r.Stored == r.Sent && r.Counted == r.Stored && r.MalformedRejected == r.MalformedSent
}

var soakCampaign = campaign.Campaign{ID: "soak", Name: "Soak", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.5},
	Epsilon: 2, EpochSeconds: 3600, K: 50}

// Run runs the soak.
func Run(ctx context.Context, opts Options) (Report, error) {
	var rep Report
	dsn, drop, err := ingest.FreshSchema(ctx, opts.PostgresURL)
	if err != nil {
		return rep, err
	}
	defer drop()
	kek := make([]byte, 32)
	rand.Read(kek)
	kekFile := filepath.Join(opts.Dir, "soak.kek")
	if err := os.WriteFile(kekFile, []byte(hex.EncodeToString(kek)+"\n"), 0o600); err != nil {
		return rep, err
	}
	campsFile := filepath.Join(opts.Dir, "campaigns.json")
	camps, _ := json.Marshal([]campaign.Campaign{soakCampaign})
	if err := os.WriteFile(campsFile, camps, 0o600); err != nil {
		return rep, err
	}
	spec := "postgres:" + dsn
	args := []string{"aggregator", "serve", "--store", spec, "--addr", "127.0.0.1:0", "--key-encryption-key-file", kekFile,
		"--campaigns", campsFile, "--tenant", "soak", "--log-level", "error"}
	nodes := [2]*node{{name: "node1", opts: &opts, args: args}, {name: "node2", opts: &opts, args: args}}
	// Both start at once, on an empty store: bootstrap must agree.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, n := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = n.start() }()
	}
	wg.Wait()
	defer func() {
		for _, n := range nodes {
			n.stop()
		}
	}()
	if err := errors.Join(errs...); err != nil {
		return rep, err
	}
	list, err := (&host.Client{BaseURL: nodes[0].url()}).KeyConfigs(ctx)
	if err != nil {
		return rep, err
	}
	epoch := soakCampaign.Epoch(time.Now())
	t := &traffic{nodes: nodes, reporter: host.Reporter{Key: list.Configs[0]}, epoch: epoch, batch: opts.Batch,
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: opts.Senders}}}

	began := time.Now()
	tctx, stopTraffic := context.WithTimeout(ctx, opts.Duration)
	defer stopTraffic()
	var senders sync.WaitGroup
	for i := range opts.Senders {
		senders.Add(1)
		go func() { defer senders.Done(); t.send(tctx, ctx, uint64(i)) }()
	}
	for i := range opts.Slow {
		senders.Add(1)
		go func() { defer senders.Done(); t.slow(tctx, i) }()
	}
	tick := time.NewTicker(opts.KillEvery)
	for done := false; !done; {
		select {
		case <-tctx.Done():
			done = true
		case <-tick.C:
			n := nodes[rep.Kills%2]
			if err := n.kill(); err != nil {
				stopTraffic()
				senders.Wait()
				return rep, err
			}
			rep.Kills++
			if err := n.start(); err != nil {
				stopTraffic()
				senders.Wait()
				return rep, fmt.Errorf("restart after kill %d: %w", rep.Kills, err)
			}
			if opts.Progress != nil {
				opts.Progress(fmt.Sprintf("%4.0fs  kill %d (%s)  acknowledged %d  retried batches %d  replays rejected %d  malformed rejected %d  slow connections %d  RSS %d / %d MiB",
					time.Since(began).Seconds(), rep.Kills, n.name, t.acked.Load()+t.committed.Load(), t.retried.Load(),
					t.replaysRejected.Load(), t.malformedRejected.Load(), t.slowConns.Load(), nodes[0].maxRSS()>>10, nodes[1].maxRSS()>>10))
			}
		}
	}
	tick.Stop()
	senders.Wait()
	rep.Seconds = time.Since(began).Seconds()
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if err := t.failed(); err != nil {
		return rep, err
	}

	// Every report sent must now be a replay: stored once, none lost.
	lost, err := t.verify(ctx, opts.Senders)
	if err != nil {
		return rep, err
	}
	for i, n := range nodes {
		n.stop()
		rep.MaxRSSKiB[i] = n.maxRSS()
	}
	for _, envs := range t.sent {
		rep.Sent += int64(len(envs))
	}
	rep.Acknowledged, rep.CommittedUnanswered = t.acked.Load(), t.committed.Load()
	rep.Lost, rep.Double = lost, t.double.Load()
	rep.RetriedBatches, rep.ReplayedBatches, rep.ReplaysRejected = t.retried.Load(), t.replayed.Load(), t.replaysRejected.Load()
	rep.MalformedSent, rep.MalformedRejected = t.malformed.Load(), t.malformedRejected.Load()
	rep.SlowConnections, rep.SlowCut = t.slowConns.Load(), t.slowCut.Load()
	rep.Stored, rep.Counted, err = storedAndCounted(ctx, spec, kek, epoch)
	return rep, err
}

// storedAndCounted tallies the soak epoch's reports, then releases it as
// a node would once it has closed (a clock past its end and grace) and
// returns what the result counted.
func storedAndCounted(ctx context.Context, spec string, kek []byte, epoch uint32) (stored, counted int64, _ error) {
	st, err := store.Open(ctx, spec)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	if err := st.Tally(ctx, soakCampaign.ID, epoch, func(_ store.Mechanism, _ []byte, k int64) error { stored += k; return nil }); err != nil {
		return 0, 0, err
	}
	later := time.Unix(int64(epoch+1)*soakCampaign.EpochSeconds, 0).Add(2 * time.Hour)
	srv, err := aggregator.New(aggregator.Config{Store: st, Taxonomy: taxonomy.Default(), KeyEncryptionKey: kek,
		Now: func() time.Time { return later }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return 0, 0, err
	}
	if err := srv.ReleaseDue(ctx); err != nil {
		return 0, 0, err
	}
	segs, err := srv.Segments(ctx, aggregator.Principal{Role: api.RoleOperator})
	if err != nil {
		return 0, 0, err
	}
	for _, s := range segs {
		if s.Campaign == soakCampaign.ID && s.Epoch == epoch {
			counted += int64(s.Reports)
		}
	}
	return stored, counted, nil
}

// node is one `wisp aggregator serve` child process, restarted after kills.
type node struct {
	name string
	opts *Options
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	base string
	rss  int64 // KiB, the largest VmHWM seen over incarnations
}

// start runs the node and waits for its address.
func (n *node) start() error {
	cmd := exec.Command(n.opts.Command[0], append(n.opts.Command[1:], n.args...)...)
	cmd.Env = append(os.Environ(), n.opts.Env...)
	cmd.Stderr = n.opts.NodeLog
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	rd := bufio.NewReader(out)
	line, err := rd.ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("soak: %s printed %q, not its address: %v", n.name, line, err)
	}
	go rd.WriteTo(io.Discard)
	n.mu.Lock()
	n.cmd, n.base = cmd, addr
	n.mu.Unlock()
	go n.watchRSS(cmd)
	return nil
}

func (n *node) url() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.base
}

// watchRSS records the process's peak RSS every second while it runs.
func (n *node) watchRSS(cmd *exec.Cmd) {
	for {
		kib, ok := vmHWM(cmd.Process.Pid)
		n.mu.Lock()
		n.rss = max(n.rss, kib)
		alive := n.cmd == cmd
		n.mu.Unlock()
		if !ok || !alive {
			return
		}
		time.Sleep(time.Second)
	}
}

func (n *node) maxRSS() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rss
}

// kill sends SIGKILL, after recording the peak RSS of the incarnation.
func (n *node) kill() error {
	n.mu.Lock()
	cmd := n.cmd
	n.cmd = nil
	if kib, ok := vmHWM(cmd.Process.Pid); ok {
		n.rss = max(n.rss, kib)
	}
	n.mu.Unlock()
	if err := cmd.Process.Kill(); err != nil {
		return err
	}
	cmd.Wait()
	return nil
}

// stop ends the node with SIGTERM (a graceful shutdown), idempotently.
func (n *node) stop() {
	n.mu.Lock()
	cmd := n.cmd
	n.cmd = nil
	if cmd != nil {
		if kib, ok := vmHWM(cmd.Process.Pid); ok {
			n.rss = max(n.rss, kib)
		}
	}
	n.mu.Unlock()
	if cmd != nil {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
}

// vmHWM reads a process's peak resident set size in KiB.
func vmHWM(pid int) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kib, err == nil
		}
	}
	return 0, false
}
