package aggregator

import (
	"net/http"

	"github.com/wisp-project/wisp/internal/prio"
)

// This file is compiled into the package's tests only: no deployment can
// turn the central noise off or seed it.

// SetPrio3Noise replaces how s adds its central noise at collection.
func SetPrio3Noise(s *Server, add func(a *prio.AggShare, epsilon float64) error) {
	s.prio3.addNoise = add
}

// SetPrio3Client replaces the client a leader calls its helper with.
func SetPrio3Client(s *Server, c *http.Client) { s.prio3.client = c }
