// Package queuetest starts real NATS JetStream servers inside the process
// (the nats-server module, listening on 127.0.0.1 only) for the queue's
// tests and the ingest benchmark: a cluster of n nodes whose nodes can be
// killed and restarted on their own stores.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster is n JetStream servers routed to each other.
type Cluster struct {
	opts    []*server.Options
	servers []*server.Server
}

// Start starts an n-node cluster with its stores under dir (n = 1: a
// single server, no routes) and waits until it has a JetStream leader.
func Start(dir string, n int) (*Cluster, error) {
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	var routes []*url.URL
	if n > 1 {
		for i := range n {
			routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", ports[n+i])})
		}
	}
	c := &Cluster{}
	for i := range n {
		o := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       ports[i],
			JetStream:  true,
			StoreDir:   filepath.Join(dir, fmt.Sprintf("n%d", i+1)),
			NoLog:      true,
			NoSigs:     true,
			Routes:     routes,
		}
		if n > 1 {
			o.Cluster = server.ClusterOpts{Name: "wisp-test", Host: "127.0.0.1", Port: ports[n+i]}
		}
		c.opts = append(c.opts, o)
		c.servers = append(c.servers, nil)
	}
	for i := range n {
		if err := c.Restart(i); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := c.waitLeader(30 * time.Second); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// StartT is Start for a test: the cluster is closed when t ends.
func StartT(t testing.TB, n int) *Cluster {
	t.Helper()
	c, err := Start(t.TempDir(), n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// freePorts finds n free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// URLs is every node's client URL, comma-separated (as nats.Connect takes).
func (c *Cluster) URLs() string {
	var us []string
	for _, o := range c.opts {
		us = append(us, fmt.Sprintf("nats://127.0.0.1:%d", o.Port))
	}
	return strings.Join(us, ",")
}

// Kill stops node i at once (its store stays for Restart).
func (c *Cluster) Kill(i int) {
	if s := c.servers[i]; s != nil {
		s.Shutdown()
		s.WaitForShutdown()
		c.servers[i] = nil
	}
}

// Restart starts node i again on its store and ports.
func (c *Cluster) Restart(i int) error {
	o := *c.opts[i]
	s, err := server.NewServer(&o)
	if err != nil {
		return err
	}
	s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		s.Shutdown()
		return fmt.Errorf("queuetest: node %s did not start", o.ServerName)
	}
	c.servers[i] = s
	return nil
}

// Node returns the index of the node named name, or -1.
func (c *Cluster) Node(name string) int {
	for i, o := range c.opts {
		if o.ServerName == name {
			return i
		}
	}
	return -1
}

// StreamLeader is the index of the node leading stream (asked over nc).
func (c *Cluster) StreamLeader(ctx context.Context, nc *nats.Conn, stream string) (int, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return -1, err
	}
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return -1, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return -1, err
	}
	if info.Cluster == nil || c.Node(info.Cluster.Leader) < 0 {
		return -1, errors.New("queuetest: stream has no leader")
	}
	return c.Node(info.Cluster.Leader), nil
}

// Close stops every node.
func (c *Cluster) Close() {
	for i := range c.servers {
		c.Kill(i)
	}
}

// waitLeader waits until some node is the JetStream meta leader.
func (c *Cluster) waitLeader(d time.Duration) error {
	if len(c.servers) == 1 {
		return nil
	}
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, s := range c.servers {
			if s != nil && s.JetStreamIsLeader() {
				return nil
			}
		}
	}
	return errors.New("queuetest: no JetStream leader elected")
}
