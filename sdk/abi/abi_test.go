package abi_test

import (
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/wisp-project/wisp/sdk/abi"
)

func TestBatchRoundTrip(t *testing.T) {
	events := []abi.Event{{Kind: 1, Code: 2, Time: 3, Value: 4.5}, {Kind: 7, Code: 0, Time: -1, Value: math.Inf(-1)}}
	b := abi.AppendBatch(nil, events)
	if len(b) != abi.BatchSize(len(events)) {
		t.Fatalf("%d bytes, want %d", len(b), abi.BatchSize(len(events)))
	}
	got, err := abi.DecodeBatch(nil, b)
	if err != nil || !reflect.DeepEqual(got, events) {
		t.Fatalf("DecodeBatch = %v, %v", got, err)
	}
}

func TestSummarize(t *testing.T) {
	got := abi.Summarize([]abi.Event{
		{Kind: 2, Code: 1, Value: 3}, {Kind: 1, Code: 5, Value: 1}, {Kind: 2, Code: 1, Value: math.NaN()},
		{Kind: 2, Code: 1, Value: 4}, {Kind: 1, Code: 5, Value: -1},
	})
	want := []abi.Summary{{Kind: 1, Code: 5, Count: 1, Invalid: 1, Sum: 1}, {Kind: 2, Code: 1, Count: 2, Invalid: 1, Sum: 7}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Summarize = %+v, want %+v", got, want)
	}
	if b := abi.AppendSummaryBatch(nil, want); len(b) != abi.HeaderSize+2*abi.SummarySize || b[12] != abi.FlagSummary {
		t.Fatalf("summary batch % x", b)
	}
}

// FuzzDecodeBatch: any bytes decode to events that re-encode to the same
// bytes (for v1-sized records), or fail with ErrBadBatch.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(abi.AppendBatch(nil, []abi.Event{{Kind: 1, Code: 2, Time: 3, Value: 4}}))
	f.Add([]byte{1, 0, 0, 0, 1, 0, 0, 0, 32, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		events, err := abi.DecodeBatch(nil, b)
		if err != nil {
			if !errors.Is(err, abi.ErrBadBatch) {
				t.Fatalf("error %v does not wrap ErrBadBatch", err)
			}
			return
		}
		if len(b) >= abi.HeaderSize && b[8] == abi.EventSize && b[9]|b[10]|b[11] == 0 && b[12]|b[13]|b[14]|b[15] == 0 {
			again := abi.AppendBatch(nil, events)
			for i := range again { // NaN payloads survive bit for bit
				if again[i] != b[i] {
					t.Fatalf("re-encoding differs at byte %d", i)
				}
			}
		}
	})
}
