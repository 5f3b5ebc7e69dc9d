package aggregator

import (
	"sync"
	"sync/atomic"
)

// inParallel runs fn(w, i) for every i in [0, n) on all cores, in chunks
// of openChunk, each worker with its own w from newWorker (circl's Prio3
// instances are not safe for concurrent use): HPKE opens and Prio3
// preparation bound ingest and aggregation jobs.
func inParallel[W any](n int, newWorker func() (W, error), fn func(w W, i int)) error {
	ws := make([]W, min(defaultWorkers(), (n+openChunk-1)/openChunk))
	for k := range ws {
		var err error
		if ws[k], err = newWorker(); err != nil {
			return err
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(openChunk)) - openChunk
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+openChunk, n); i++ {
					fn(w, i)
				}
			}
		}()
	}
	wg.Wait()
	return nil
}

// noWorker is the newWorker of work that needs no per-worker state.
func noWorker() (struct{}, error) { return struct{}{}, nil }
