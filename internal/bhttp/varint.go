package bhttp

import "fmt"

// maxVarint is the largest value a QUIC variable-length integer holds.
const maxVarint = 1<<62 - 1

// appendVarint appends v in the shortest QUIC variable-length integer
// encoding (RFC 9000 §16). v must be at most 2^62-1.
func appendVarint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v))
	case v < 1<<14:
		return append(b, byte(v>>8)|0x40, byte(v))
	case v < 1<<30:
		return append(b, byte(v>>24)|0x80, byte(v>>16), byte(v>>8), byte(v))
	case v <= maxVarint:
		return append(b, byte(v>>56)|0xc0, byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	panic("bhttp: varint out of range")
}

// readVarint decodes a QUIC variable-length integer at the start of b and
// returns it and its length. Longer than necessary encodings are accepted,
// as RFC 9000 §16 allows.
func readVarint(b []byte) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: truncated integer", ErrInvalid)
	}
	n := 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0, fmt.Errorf("%w: truncated integer", ErrInvalid)
	}
	v := uint64(b[0] & 0x3f)
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n, nil
}
