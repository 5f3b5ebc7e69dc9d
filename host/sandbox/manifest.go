package sandbox

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wisp-project/wisp/sdk/abi"
)

// Manifest describes a plugin: who it is, which categories it may score and
// the limits it asks for. Its JSON form (ParseManifest, Manifest.MarshalJSON)
// is what authors sign; see docs/PLUGINS.md.
//
// Load trusts the manifest it is given; LoadSigned first checks that the
// manifest was signed by a trusted author and that it names the module.
type Manifest struct {
	Name    string
	Version string
	// ABI is the plugin ABI version (abi.Version). Zero, in a manifest built
	// in code, means the current version.
	ABI uint32
	// WasmSHA256 is the SHA-256 of the exact module bytes. Zero means "not
	// bound to a module", which LoadSigned refuses.
	WasmSHA256 [32]byte
	// Categories are the IAB Audience Taxonomy 1.1 ids the plugin may
	// return; anything else is a bad answer.
	Categories []uint32
	Limits     Limits
	// Author is the key that signs this manifest. The zero key means
	// unsigned.
	Author PublicKey
}

// manifestJSON is the wire form: explicit names and units, so the file reads
// the same in every language that produces it.
type manifestJSON struct {
	Name       string     `json:"name"`
	Version    string     `json:"version"`
	ABI        uint32     `json:"abi"`
	WasmSHA256 string     `json:"wasm_sha256"`
	Categories []uint32   `json:"categories"`
	Limits     limitsJSON `json:"limits"`
	Author     string     `json:"author,omitempty"`
}

type limitsJSON struct {
	MemoryPages      uint32  `json:"memory_pages,omitempty"`
	TotalMemoryPages uint32  `json:"total_memory_pages,omitempty"`
	DeadlineMS       float64 `json:"deadline_ms,omitempty"`
	Fuel             int64   `json:"fuel,omitempty"`
	MaxEvents        int     `json:"max_events,omitempty"`
	MaxScores        int     `json:"max_scores,omitempty"`
	LogBytes         int     `json:"log_bytes,omitempty"`
	LogRate          int     `json:"log_rate,omitempty"`
	ModuleBytes      int     `json:"module_bytes,omitempty"`
}

// maxManifestBytes bounds what ParseManifest reads; a real manifest is a few
// hundred bytes.
const maxManifestBytes = 64 << 10

// MarshalJSON encodes m in the manifest file format.
func (m Manifest) MarshalJSON() ([]byte, error) {
	j, err := m.wire()
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(j, "", "  ")
}

func (m Manifest) wire() (manifestJSON, error) {
	j := manifestJSON{
		Name: m.Name, Version: m.Version, ABI: m.abi(), Categories: m.Categories,
		Limits: limitsJSON{
			MemoryPages: m.Limits.MemoryPages, TotalMemoryPages: m.Limits.TotalMemoryPages,
			DeadlineMS: float64(m.Limits.Deadline) / float64(time.Millisecond),
			Fuel:       m.Limits.Fuel, MaxEvents: m.Limits.MaxEvents, MaxScores: m.Limits.MaxScores,
			LogBytes: m.Limits.LogBytes, LogRate: m.Limits.LogRate, ModuleBytes: m.Limits.ModuleBytes,
		},
	}
	if m.WasmSHA256 != ([32]byte{}) {
		j.WasmSHA256 = hex.EncodeToString(m.WasmSHA256[:])
	}
	if !m.Author.IsZero() {
		j.Author = m.Author.String()
	}
	if j.Categories == nil {
		j.Categories = []uint32{}
	}
	return j, nil
}

// ParseManifest decodes a manifest file. It is strict: unknown fields,
// trailing data, a malformed digest or key, negative limits and duplicate
// categories are errors wrapping ErrBadManifest.
func ParseManifest(b []byte) (Manifest, error) {
	if len(b) > maxManifestBytes {
		return Manifest{}, fmt.Errorf("%w: %d bytes (max %d)", ErrBadManifest, len(b), maxManifestBytes)
	}
	var j manifestJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return Manifest{}, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	if dec.More() {
		return Manifest{}, fmt.Errorf("%w: trailing data", ErrBadManifest)
	}
	m := Manifest{Name: j.Name, Version: j.Version, ABI: j.ABI, Categories: j.Categories}
	if j.Name == "" {
		return Manifest{}, fmt.Errorf("%w: no name", ErrBadManifest)
	}
	if j.WasmSHA256 != "" {
		d, err := hex.DecodeString(j.WasmSHA256)
		if err != nil || len(d) != 32 {
			return Manifest{}, fmt.Errorf("%w: wasm_sha256 %q is not 64 hex digits", ErrBadManifest, j.WasmSHA256)
		}
		copy(m.WasmSHA256[:], d)
	}
	seen := make(map[uint32]bool, len(j.Categories))
	for _, c := range j.Categories {
		if seen[c] {
			return Manifest{}, fmt.Errorf("%w: category %d listed twice", ErrBadManifest, c)
		}
		seen[c] = true
	}
	l := j.Limits
	if l.DeadlineMS < 0 || l.DeadlineMS > 1e9 || l.Fuel < 0 || l.MaxEvents < 0 || l.MaxScores < 0 ||
		l.LogBytes < 0 || l.LogRate < 0 || l.ModuleBytes < 0 || l.DeadlineMS != l.DeadlineMS {
		return Manifest{}, fmt.Errorf("%w: negative or absurd limit in %+v", ErrBadManifest, l)
	}
	m.Limits = Limits{
		MemoryPages: l.MemoryPages, TotalMemoryPages: l.TotalMemoryPages, Deadline: time.Duration(l.DeadlineMS * float64(time.Millisecond)),
		Fuel: l.Fuel, MaxEvents: l.MaxEvents, MaxScores: l.MaxScores,
		LogBytes: l.LogBytes, LogRate: l.LogRate, ModuleBytes: l.ModuleBytes,
	}
	if j.Author != "" {
		k, err := ParsePublicKey(j.Author)
		if err != nil {
			return Manifest{}, fmt.Errorf("%w: author: %w", ErrBadManifest, err)
		}
		m.Author = k
	}
	return m, nil
}

func (m Manifest) abi() uint32 {
	if m.ABI == 0 {
		return abi.Version
	}
	return m.ABI
}
