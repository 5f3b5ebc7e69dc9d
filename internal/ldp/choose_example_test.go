package ldp_test

import (
	"fmt"

	"github.com/wisp-project/wisp/internal/ldp"
)

func ExampleChoose() {
	c, err := ldp.Choose(1, 497)
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Mechanism)
	fmt.Println(c.Reason)
	// Output:
	// oue
	// oue has the least estimator variance at ε=1, d=497: 3.683·n (63 B answers); others: olh 3.77 (3 B), hadamard 4.683 (2 B), grr 168.6 (2 B)
}
