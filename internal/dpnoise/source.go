package dpnoise

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// Source is a stream of independent, uniform 64-bit words. It is satisfied
// by math/rand/v2's sources and *rand.Rand; CryptoSource and SeededSource
// are the two this package provides. A Source need not be safe for
// concurrent use; the samplers never share one across goroutines.
type Source interface {
	Uint64() uint64
}

// CryptoSource returns a Source backed by crypto/rand, the operating
// system's CSPRNG. Use it for every noise draw that is released. It reads
// 512 bytes at a time, so it is not safe for concurrent use: one per
// goroutine.
func CryptoSource() Source { return &cryptoSource{} }

type cryptoSource struct {
	buf [512]byte
	off int
}

func (c *cryptoSource) Uint64() uint64 {
	if c.off == 0 || c.off == len(c.buf) {
		crand.Read(c.buf[:]) // never returns an error (crypto/rand, Go ≥ 1.24)
		c.off = 0
	}
	w := binary.LittleEndian.Uint64(c.buf[c.off:])
	clear(c.buf[c.off : c.off+8]) // a used word is not kept in memory
	c.off += 8
	return w
}

// SeededSource returns a deterministic Source (ChaCha8 keyed by seed) for
// tests and simulations. Never use it for released noise: whoever knows the
// seed can subtract the noise.
func SeededSource(seed uint64) Source {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	binary.LittleEndian.PutUint64(key[8:], 0x9e3779b97f4a7c15)
	return rand.NewChaCha8(key)
}

// uniform returns a uniform integer in [0, n), n ≥ 1, by Lemire's
// multiply-and-reject method: exact, one multiplication in the common case.
func uniform(src Source, n uint64) uint64 {
	if n == 1 {
		return 0
	}
	if n&(n-1) == 0 { // a power of two (or 1)
		return src.Uint64() & (n - 1)
	}
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}

// bernoulli returns true with probability num/den, 0 ≤ num ≤ den, den ≥ 1.
func bernoulli(src Source, num, den uint64) bool {
	if num == 0 {
		return false
	}
	if num >= den {
		return true
	}
	return uniform(src, den) < num
}
