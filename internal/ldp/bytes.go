package ldp

// bytesFor is the number of bytes that hold any value in [0, k).
func bytesFor(k int) int {
	n := 1
	for k > 256 {
		k = (k + 255) / 256
		n++
	}
	return n
}

// appendUint appends v as size little-endian bytes.
func appendUint(dst []byte, v uint64, size int) []byte {
	for range size {
		dst = append(dst, byte(v))
		v >>= 8
	}
	return dst
}

// readUint reads size little-endian bytes.
func readUint(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}
