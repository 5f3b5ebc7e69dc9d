package ldpsim

import (
	"math"
	"testing"
)

// TestCholeskyInverse checks the Bloom decoder's linear algebra on a matrix
// with a known inverse: A = [[4,2,0],[2,5,1],[0,1,3]].
func TestCholeskyInverse(t *testing.T) {
	a := []float64{4, 2, 0, 2, 5, 1, 0, 1, 3}
	l, err := cholesky(a, 3)
	if err != nil {
		t.Fatal(err)
	}
	// det = 4·14 − 2·6 = 44; diag of the adjugate: 14, 12, 16.
	want := []float64{14.0 / 44, 12.0 / 44, 16.0 / 44}
	for i, got := range diagInverse(l, 3) {
		if math.Abs(got-want[i]) > 1e-12 {
			t.Errorf("diag(A⁻¹)[%d] = %v, want %v", i, got, want[i])
		}
	}
	x := cholSolve(l, 3, []float64{2, 7, 4})
	b := []float64{a[0]*x[0] + a[1]*x[1] + a[2]*x[2], a[3]*x[0] + a[4]*x[1] + a[5]*x[2], a[6]*x[0] + a[7]*x[1] + a[8]*x[2]}
	for i, want := range []float64{2, 7, 4} {
		if math.Abs(b[i]-want) > 1e-12 {
			t.Errorf("A·solve(b)[%d] = %v, want %v", i, b[i], want)
		}
	}
	if _, err := cholesky([]float64{1, 1, 1, 1}, 2); err == nil {
		t.Error("singular matrix factored")
	}
}
