package compileworker

// loopBomb returns a module with one function () -> () whose body is n
// nested empty loops: about 3n bytes that wazero's optimizing compiler
// takes superlinear time over.
func loopBomb(n int) []byte { return loopBombLocals(n, 0) }

// loopBombLocals adds `locals` i32 locals read in the innermost loop, so
// each loop header needs a block parameter per local.
func loopBombLocals(n, locals int) []byte {
	body := []byte{0x00} // no locals
	if locals > 0 {
		body = append([]byte{0x01}, append(uleb(uint64(locals)), 0x7f)...)
	}
	for range n {
		body = append(body, 0x03, 0x40) // loop (blocktype empty)
	}
	for i := range locals {
		body = append(body, 0x20)
		body = append(body, uleb(uint64(i))...) // local.get i
		body = append(body, 0x1a)               // drop
	}
	for range n {
		body = append(body, 0x0b) // end
	}
	body = append(body, 0x0b) // end of function
	code := append(uleb(uint64(len(body))), body...)
	m := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	m = append(m, section(1, []byte{0x01, 0x60, 0x00, 0x00})...) // type: () -> ()
	m = append(m, section(3, []byte{0x01, 0x00})...)             // func 0: type 0
	m = append(m, section(10, append([]byte{0x01}, code...))...) // code
	return m
}

func section(id byte, payload []byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(payload)))...), payload...)
}

func uleb(v uint64) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, b|0x80)
			continue
		}
		return append(out, b)
	}
}
