package ldp

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
)

// NewCryptoRand returns a generator backed by the operating system's
// cryptographically secure source. Devices use it for every randomized
// answer: a predictable generator would let an observer undo the noise.
func NewCryptoRand() *rand.Rand { return rand.New(cryptoSource{}) }

type cryptoSource struct{}

func (cryptoSource) Uint64() uint64 {
	var b [8]byte
	crand.Read(b[:]) // never returns an error (crypto/rand, Go ≥ 1.24)
	return binary.LittleEndian.Uint64(b[:])
}

// NewSeededRand returns a deterministic generator for tests and simulations.
// Never use it to randomize a real device's answer.
func NewSeededRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}
