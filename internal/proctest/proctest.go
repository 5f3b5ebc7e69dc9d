// Package proctest starts child processes for tests only: a re-executed test
// binary (or a built command) that announces itself on a stdout line, is read
// with a timeout, killed with SIGKILL and waited for when the test ends, and
// whose stderr tail is logged if the test failed. It exists so crash and
// restart tests share one start-up path; no production package imports it
// (internal/archtest enforces that).
package proctest

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeout is how long Line waits for an announced line.
const Timeout = 60 * time.Second

// tailBytes is how much of a child's stderr a failing test logs.
const tailBytes = 4096

// Child is a running child process.
type Child struct {
	Cmd    *exec.Cmd
	lines  chan string
	mu     sync.Mutex
	stderr bytes.Buffer
}

// Write keeps the child's stderr for the failure log.
func (c *Child) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.Write(p)
}

// Tail is the last part of what the child wrote to stderr.
func (c *Child) Tail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.stderr.Bytes()
	if len(b) > tailBytes {
		b = b[len(b)-tailBytes:]
	}
	return string(b)
}

// Stderr is all the child has written to stderr so far, for a test that
// waits for a log line.
func (c *Child) Stderr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

// Start re-executes the test binary with env added to the environment and
// args (none runs no test: "-test.run=^$"). The child is killed and waited
// for at cleanup, where a failed test logs the tail of its stderr.
func Start(t testing.TB, env []string, args ...string) *Child {
	t.Helper()
	if len(args) == 0 {
		args = []string{"-test.run=^$"}
	}
	return StartCommand(t, os.Args[0], env, args...)
}

// StartCommand is Start for another program.
func StartCommand(t testing.TB, path string, env []string, args ...string) *Child {
	t.Helper()
	c := &Child{Cmd: exec.Command(path, args...), lines: make(chan string)}
	c.Cmd.Env = append(os.Environ(), env...)
	c.Cmd.Stderr = c
	out, err := c.Cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() {
		c.Kill()
		if t.Failed() {
			t.Logf("%s stderr tail:\n%s", path, c.Tail())
		}
	})
	return c
}

// Line returns the next stdout line that starts with prefix, with the prefix
// cut, skipping others; it fails the test if the child exits or Timeout
// passes first.
func (c *Child) Line(t testing.TB, prefix string) string {
	t.Helper()
	return c.LineWithin(t, prefix, Timeout)
}

// LineWithin is Line with another timeout, for a child that works a while
// before it announces.
func (c *Child) LineWithin(t testing.TB, prefix string, d time.Duration) string {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("child exited before printing %q; stderr:\n%s", prefix, c.Tail())
			}
			if rest, found := strings.CutPrefix(strings.TrimSpace(l), prefix); found {
				return rest
			}
		case <-deadline:
			t.Fatalf("child printed no %q line within %v", prefix, d)
		}
	}
}

// Drain discards the rest of the child's stdout so it never blocks writing.
func (c *Child) Drain() {
	go func() {
		for range c.lines {
		}
	}()
}

// Kill sends SIGKILL and waits for the child to exit; calling it again is
// harmless.
func (c *Child) Kill() {
	if c.Cmd.ProcessState != nil {
		return
	}
	c.Cmd.Process.Kill()
	c.Cmd.Wait()
}

// RunUntilKilled re-executes the test binary to run only the test named
// child, with env added, and fails unless the child ended by SIGKILL — the
// crash a kill test arranges the child to suffer at a chosen step. what
// names the step in the failure, with the child's output.
func RunUntilKilled(t testing.TB, child, what string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed at %s: %v\n%s", what, err, out)
	}
}
