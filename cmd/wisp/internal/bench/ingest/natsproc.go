package ingest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/wisp-project/wisp/aggregator/queue/queuetest"
)

// The queue measurements' NATS cluster runs in a child process when
// Options.NATSCommand names one, as the servers run on machines of their
// own in a deployment: the benchmark's process then holds only what a
// front end or worker runs, and the cluster's CPU time is read from the
// child and reported beside it (Result.QueueCPUSeconds). Without it (a
// test binary cannot start itself as wisp) the cluster runs in-process
// and its CPU time is part of CPUSeconds.

// ServeCluster is the child: it starts an n-node cluster under dir, writes
// its client URLs as one line to out, and stops it when in ends (the
// parent closed the pipe or exited).
func ServeCluster(dir string, n int, in io.Reader, out io.Writer) error {
	cl, err := queuetest.Start(dir, n)
	if err != nil {
		return err
	}
	defer cl.Close()
	if _, err := fmt.Fprintln(out, cl.URLs()); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, in)
	return err
}

// natsCluster is the cluster the queue measurements run on.
type natsCluster struct {
	urls  string
	cpu   func() float64 // the child's CPU seconds so far; nil when in-process
	close func()
}

// startCluster starts a 3-node cluster under dir: in the child process
// cmd (ServeCluster) if cmd is set, else in this process.
func startCluster(ctx context.Context, dir string, cmd []string) (*natsCluster, error) {
	if len(cmd) == 0 {
		cl, err := queuetest.Start(dir, 3)
		if err != nil {
			return nil, err
		}
		return &natsCluster{urls: cl.URLs(), close: cl.Close}, nil
	}
	c := exec.CommandContext(ctx, cmd[0], append(cmd[1:], "--dir", dir, "--nodes", "3")...)
	c.Stderr = os.Stderr
	stdin, err := c.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := c.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("ingestbench: start NATS cluster: %w", err)
	}
	stop := func() { stdin.Close(); c.Wait() }
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return nil, fmt.Errorf("ingestbench: NATS cluster process: %w", err)
	}
	pid := c.Process.Pid
	return &natsCluster{urls: strings.TrimSpace(line), cpu: func() float64 { return pidCPU(pid) }, close: stop}, nil
}

// cpuNow is the child's CPU seconds so far (0 when in-process).
func (c *natsCluster) cpuNow() float64 {
	if c.cpu == nil {
		return 0
	}
	return c.cpu()
}
