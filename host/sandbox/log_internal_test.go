package sandbox

import (
	"math"
	"testing"
)

// TestLogDroppedSaturates: a guest claiming 4 GiB lines, call after call,
// cannot wrap the dropped-bytes counter negative.
func TestLogDroppedSaturates(t *testing.T) {
	for _, tc := range []struct{ v, d, want int64 }{
		{0, 5, 5},
		{math.MaxInt64 - 5, 5, math.MaxInt64},
		{math.MaxInt64 - 5, 1 << 32, math.MaxInt64},
		{math.MaxInt64, 1 << 32, math.MaxInt64},
	} {
		if got := satAdd(tc.v, tc.d); got != tc.want {
			t.Errorf("satAdd(%d, %d) = %d, want %d", tc.v, tc.d, got, tc.want)
		}
	}
}
