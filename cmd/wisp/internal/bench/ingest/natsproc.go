package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wisp-project/wisp/aggregator/queue/queuetest"
)

// natsCluster is the 3-node JetStream cluster the queue measurements run
// on. Where the nats-server binary is installed its nodes are processes of
// their own, as in a deployment, and their CPU time is counted apart from
// the worker's (cpu); otherwise they run inside this process (queuetest)
// and cpu is 0, their time being part of this process's.
type natsCluster struct {
	urls  string
	where string // "3 nats-server processes" or "3 in-process NATS servers"
	cpu   func() float64
	close func()
}

// startNATS starts the benchmark's cluster with its stores under dir.
func startNATS(ctx context.Context, dir string) (*natsCluster, error) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		cl, err := queuetest.Start(dir, 3)
		if err != nil {
			return nil, err
		}
		return &natsCluster{urls: cl.URLs(), where: "3 in-process NATS servers (no nats-server binary on PATH)",
			cpu: func() float64 { return 0 }, close: cl.Close}, nil
	}
	return startNATSProcesses(ctx, bin, dir)
}

// startNATSProcesses runs three nats-server processes routed to each
// other on 127.0.0.1 and waits until JetStream answers.
func startNATSProcesses(ctx context.Context, bin, dir string) (*natsCluster, error) {
	ports, err := queuetest.FreePorts(6)
	if err != nil {
		return nil, err
	}
	var routes []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[3+i]))
	}
	var cmds []*exec.Cmd
	stop := func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
	}
	var urls []string
	for i := range 3 {
		name := fmt.Sprintf("n%d", i+1)
		cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", fmt.Sprint(ports[i]), "-js", "-sd", filepath.Join(dir, name),
			"-n", name, "--cluster_name", "wisp-bench", "--cluster", routes[i], "--routes", strings.Join(routes, ","))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			stop()
			return nil, fmt.Errorf("ingestbench: start nats-server: %w", err)
		}
		cmds = append(cmds, cmd)
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	c := &natsCluster{urls: strings.Join(urls, ","), where: "3 nats-server processes",
		cpu: func() float64 {
			var t float64
			for _, cmd := range cmds {
				t += pidCPU(cmd.Process.Pid)
			}
			return t
		}, close: stop}
	if err := waitJetStream(ctx, c.urls, 30*time.Second); err != nil {
		stop()
		return nil, err
	}
	return c, nil
}

// waitJetStream waits until the cluster at urls has a JetStream meta
// leader (account info answers).
func waitJetStream(ctx context.Context, urls string, d time.Duration) error {
	deadline := time.Now().Add(d)
	var last error
	for time.Now().Before(deadline) {
		if nc, err := nats.Connect(urls, nats.Timeout(time.Second)); err == nil {
			js, _ := jetstream.New(nc)
			actx, cancel := context.WithTimeout(ctx, time.Second)
			_, last = js.AccountInfo(actx)
			cancel()
			nc.Close()
			if last == nil {
				return nil
			}
		} else {
			last = err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.Join(errors.New("ingestbench: the nats-server cluster has no JetStream leader"), last)
}
