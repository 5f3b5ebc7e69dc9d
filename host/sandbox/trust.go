package sandbox

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// TrustStore is the set of plugin author keys a device accepts. It is
// immutable once built; build a new one to add or revoke a key.
type TrustStore struct {
	keys map[PublicKey]string // key → comment (usually the author's name)
}

// NewTrustStore trusts exactly keys.
func NewTrustStore(keys ...PublicKey) *TrustStore {
	t := &TrustStore{keys: make(map[PublicKey]string, len(keys))}
	for _, k := range keys {
		if !k.IsZero() {
			t.keys[k] = ""
		}
	}
	return t
}

// ParseTrustStore reads the trust store file format: one "alg:base64" key
// per line, optionally followed by a space and a comment; blank lines and
// lines starting with '#' are ignored.
func ParseTrustStore(b []byte) (*TrustStore, error) {
	t := NewTrustStore()
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		keyText, comment, _ := strings.Cut(text, " ")
		k, err := ParsePublicKey(keyText)
		if err != nil {
			return nil, fmt.Errorf("trust store line %d: %w", line, err)
		}
		t.keys[k] = strings.TrimSpace(comment)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	return t, nil
}

// Trusts reports whether k is in the store. A nil store trusts nothing.
func (t *TrustStore) Trusts(k PublicKey) bool {
	if t == nil || k.IsZero() {
		return false
	}
	_, ok := t.keys[k]
	return ok
}

// Len returns the number of trusted keys.
func (t *TrustStore) Len() int {
	if t == nil {
		return 0
	}
	return len(t.keys)
}
