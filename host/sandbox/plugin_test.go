package sandbox_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/plugins/fitness/scorer"
	"github.com/wisp-project/wisp/sdk/abi"
)

func loadFitness(t testing.TB, rt *sandbox.Runtime) *sandbox.Plugin {
	t.Helper()
	p, err := rt.Load(context.Background(), sandbox.Manifest{Name: "fitness", Categories: scorer.Categories}, plugins.Fitness)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func week() []abi.Event {
	return []abi.Event{
		{Kind: scorer.KindWorkout, Code: scorer.WorkoutRun, Value: 50},
		{Kind: scorer.KindWorkout, Code: scorer.WorkoutRun, Value: 45},
		{Kind: scorer.KindWorkout, Code: scorer.WorkoutRide, Value: 30},
		{Kind: scorer.KindSteps, Value: 11000},
		{Kind: scorer.KindHeartRate, Value: 140},
	}
}

// TestFitnessPluginMatchesNative runs the real Go plugin in the sandbox and
// checks it answers exactly what the same scorer computes natively.
func TestFitnessPluginMatchesNative(t *testing.T) {
	p := loadFitness(t, sandbox.NewRuntime(sandbox.DefaultPolicy()))
	got, err := p.Score(context.Background(), week())
	if err != nil {
		t.Fatal(err)
	}
	want := nativeScores(week())
	if len(got) != len(want) {
		t.Fatalf("got %d scores %v, want %d %v", len(got), got, len(want), want)
	}
	for _, s := range got {
		if want[s.Category] != s.Value {
			t.Errorf("category %d: wasm %v, native %v", s.Category, s.Value, want[s.Category])
		}
	}
}

func TestEmptyBatch(t *testing.T) {
	p := loadFitness(t, sandbox.NewRuntime(sandbox.DefaultPolicy()))
	got, err := p.Score(context.Background(), nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("Score(nil) = %v, %v; want no scores", got, err)
	}
}

func TestTooManyEvents(t *testing.T) {
	policy := sandbox.DefaultPolicy()
	policy.MaxEvents = 3
	p := loadFitness(t, sandbox.NewRuntime(policy))
	if _, err := p.Score(context.Background(), week()); !errors.Is(err, sandbox.ErrTooManyEvents) {
		t.Fatalf("error = %v, want ErrTooManyEvents", err)
	}
}

func TestConcurrentScoring(t *testing.T) {
	p := loadFitness(t, sandbox.NewRuntime(sandbox.DefaultPolicy()))
	want := nativeScores(week())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				got, err := p.Score(context.Background(), week())
				if err != nil {
					errs <- err
					return
				}
				for _, s := range got {
					if want[s.Category] != s.Value {
						errs <- errors.New("wrong score under concurrency")
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := p.Started(); n > 8 {
		t.Fatalf("%d instances started for 8 concurrent callers", n)
	}
}

func TestLimitsWithinPolicy(t *testing.T) {
	policy := sandbox.Limits{MemoryPages: 100, Deadline: time.Second, MaxEvents: 10, MaxScores: 5}
	got := sandbox.Limits{MemoryPages: 500, Deadline: time.Millisecond}.Within(policy)
	want := sandbox.Limits{MemoryPages: 100, Deadline: time.Millisecond, MaxEvents: 10, MaxScores: 5}
	if got != want {
		t.Fatalf("Within = %+v, want %+v", got, want)
	}
}

func nativeScores(events []abi.Event) map[uint32]float32 {
	var out guestScores
	scorer.Score(events, &out.Scores)
	m := map[uint32]float32{}
	for _, s := range out.List() {
		m[s.Category] = s.Value
	}
	return m
}

func hostile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "plugins", "hostile", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
