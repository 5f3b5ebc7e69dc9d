package prio

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

type vectorFile struct {
	AggResult json.RawMessage `json:"agg_result"`
	AggShares []hexBytes      `json:"agg_shares"`
	Ctx       hexBytes        `json:"ctx"`
	VerifyKey hexBytes        `json:"verify_key"`
	Shares    int             `json:"shares"`
	Length    uint32          `json:"length"`
	Bits      uint8           `json:"bits"`
	ChunkLen  uint32          `json:"chunk_length"`
	MaxWeight uint32          `json:"max_weight"`
	MaxMeas   uint64          `json:"max_measurement"`
	Prep      []struct {
		Measurement  json.RawMessage `json:"measurement"`
		Nonce        hexBytes        `json:"nonce"`
		Rand         hexBytes        `json:"rand"`
		PublicShare  hexBytes        `json:"public_share"`
		InputShares  []hexBytes      `json:"input_shares"`
		PrepShares   [][]hexBytes    `json:"prep_shares"`
		PrepMessages []hexBytes      `json:"prep_messages"`
		OutShares    [][]hexBytes    `json:"out_shares"`
	} `json:"prep"`
}

func readVector(t *testing.T, path string) vectorFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.NewDecoder(z).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// vectorParams maps a vector's parameters to Params, and its measurement
// and result to Wisp's representations.
func vectorParams(t *testing.T, name string, v vectorFile) Params {
	t.Helper()
	switch {
	case strings.HasPrefix(name, "Prio3Count"):
		return Params{VDAF: Count}
	case strings.HasPrefix(name, "Prio3SumVec"):
		return Params{VDAF: SumVec, Length: v.Length, Bits: v.Bits, ChunkLen: v.ChunkLen}
	case strings.HasPrefix(name, "Prio3Sum"):
		b := uint8(0)
		for uint64(1)<<b-1 < v.MaxMeas {
			b++
		}
		if uint64(1)<<b-1 != v.MaxMeas {
			t.Fatalf("max_measurement %d is not 2^b − 1", v.MaxMeas)
		}
		return Params{VDAF: Sum, Bits: b}
	case strings.HasPrefix(name, "Prio3Histogram"):
		return Params{VDAF: Histogram, Length: v.Length, ChunkLen: v.ChunkLen}
	case strings.HasPrefix(name, "Prio3MultihotCountVec"):
		return Params{VDAF: MultihotCountVec, Length: v.Length, ChunkLen: v.ChunkLen, MaxWeight: v.MaxWeight}
	}
	t.Fatalf("unknown vector %s", name)
	return Params{}
}

func vectorMeasurement(t *testing.T, p Params, raw json.RawMessage) Measurement {
	t.Helper()
	switch p.VDAF {
	case Count, Sum:
		var x uint64
		if err := json.Unmarshal(raw, &x); err != nil {
			t.Fatal(err)
		}
		return Measurement{x}
	case Histogram:
		var i int
		if err := json.Unmarshal(raw, &i); err != nil {
			t.Fatal(err)
		}
		return OneHot(int(p.Length), i)
	case MultihotCountVec:
		var bs []bool
		if err := json.Unmarshal(raw, &bs); err != nil {
			t.Fatal(err)
		}
		m := make(Measurement, len(bs))
		for i, b := range bs {
			if b {
				m[i] = 1
			}
		}
		return m
	}
	var xs []uint64
	if err := json.Unmarshal(raw, &xs); err != nil {
		t.Fatal(err)
	}
	return xs
}

// TestVectors runs draft-irtf-cfrg-vdaf's official vectors through this
// package: every public share, input share, prep share, prep message, out
// share and aggregate share must match byte for byte, and Unshard must give
// the vector's result.
func TestVectors(t *testing.T) {
	files, err := filepath.Glob("testdata/Prio3*.json.gz")
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json.gz")
		t.Run(name, func(t *testing.T) {
			v := readVector(t, file)
			if v.Shares != 2 {
				t.Skipf("%d shares", v.Shares)
			}
			p := vectorParams(t, name, v)
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			c, err := NewClient(p, v.Ctx)
			if err != nil {
				t.Fatal(err)
			}
			var vk VerifyKey
			copy(vk[:], v.VerifyKey)
			var agg [2]*Aggregator
			var shares [2]*AggShare
			for r := range agg {
				if agg[r], err = NewAggregator(p, v.Ctx, Role(r), vk); err != nil {
					t.Fatal(err)
				}
				shares[r], _ = NewAggShare(p)
			}
			for i, pr := range v.Prep {
				var nonce Nonce
				copy(nonce[:], pr.Nonce)
				rep, err := c.shard(vectorMeasurement(t, p, pr.Measurement), nonce, pr.Rand)
				if err != nil {
					t.Fatalf("prep %d: shard: %v", i, err)
				}
				eq(t, "public share", rep.Public, pr.PublicShare)
				eq(t, "leader input share", rep.Leader, pr.InputShares[0])
				eq(t, "helper input share", rep.Helper, pr.InputShares[1])

				var st [2]*PrepState
				var ps [2][]byte
				for r, in := range [][]byte{rep.Leader, rep.Helper} {
					st[r], ps[r], err = agg[r].PrepInit(nonce, rep.Public, in)
					if err != nil {
						t.Fatalf("prep %d: %v PrepInit: %v", i, Role(r), err)
					}
					eq(t, "prep share", ps[r], pr.PrepShares[0][r])
				}
				msg, err := agg[Helper].PrepSharesToPrep(ps[0], ps[1])
				if err != nil {
					t.Fatalf("prep %d: PrepSharesToPrep: %v", i, err)
				}
				eq(t, "prep message", msg, pr.PrepMessages[0])
				for r := range agg {
					out, err := agg[r].PrepNext(st[r], msg)
					if err != nil {
						t.Fatalf("prep %d: %v PrepNext: %v", i, Role(r), err)
					}
					eq(t, "out share", out.v.encode(), slices.Concat(pr.OutShares[r]...))
					if err := shares[r].Add(out); err != nil {
						t.Fatal(err)
					}
				}
			}
			for r := range shares {
				b, _ := shares[r].MarshalBinary()
				eq(t, "aggregate share", b, v.AggShares[r])
			}
			got, err := Unshard(p, shares[0], shares[1])
			if err != nil {
				t.Fatal(err)
			}
			var want []uint64
			if p.OutputLen() == 1 {
				var x uint64
				err = json.Unmarshal(v.AggResult, &x)
				want = []uint64{x}
			} else {
				err = json.Unmarshal(v.AggResult, &want)
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("Unshard: %v, want %v", got, want)
			}
			for i := range got {
				if got[i] != int64(want[i]) {
					t.Fatalf("Unshard: %v, want %v", got, want)
				}
			}
		})
	}
}

func eq(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\n got %x\nwant %x", what, got, want)
	}
}
