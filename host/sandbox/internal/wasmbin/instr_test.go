package wasmbin

import (
	"slices"
	"testing"
)

// TestInstrImmediates: every group of opcodes Instr knows, as encoded in
// the WebAssembly 3.0 binary format (section 5.4), is read to exactly the
// end of its immediates, with the index and label fields set.
func TestInstrImmediates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		b     []byte
		sub   uint32
		index uint32
	}{
		{"unreachable", []byte{0x00}, 0, 0},
		{"nop", []byte{0x01}, 0, 0},
		{"block empty", []byte{0x02, 0x40}, 0, 0},
		{"loop i32", []byte{0x03, 0x7F}, 0, 0},
		{"if v128", []byte{0x04, 0x7B}, 0, 0},
		{"block type index 0", []byte{0x02, 0x00}, 0, 0},
		{"block type index 300 (multi-value)", []byte{0x02, 0xAC, 0x02}, 0, 0},
		{"block (ref null func)", []byte{0x02, 0x63, 0x70}, 0, 0},
		{"block (ref 2)", []byte{0x02, 0x64, 0x02}, 0, 0},
		{"block (ref null 300)", []byte{0x02, 0x63, 0xAC, 0x02}, 0, 0},
		{"else", []byte{0x05}, 0, 0},
		{"try_table", []byte{0x1F, 0x40, 0x04, 0x00, 0x01, 0x02, 0x01, 0x03, 0x04, 0x02, 0x05, 0x03, 0x06}, 0, 0},
		{"throw", []byte{0x08, 0x07}, 0, 7},
		{"throw_ref", []byte{0x0A}, 0, 0},
		{"end", []byte{0x0B}, 0, 0},
		{"br", []byte{0x0C, 0x81, 0x01}, 0, 129},
		{"br_if", []byte{0x0D, 0x03}, 0, 3},
		{"return", []byte{0x0F}, 0, 0},
		{"call", []byte{0x10, 0x05}, 0, 5},
		{"call_indirect", []byte{0x11, 0x02, 0x00}, 0, 2},
		{"return_call", []byte{0x12, 0x05}, 0, 5},
		{"return_call_indirect", []byte{0x13, 0x02, 0x01}, 0, 2},
		{"drop", []byte{0x1A}, 0, 0},
		{"select", []byte{0x1B}, 0, 0},
		{"select i32", []byte{0x1C, 0x01, 0x7F}, 0, 0},
		{"select (ref null func)", []byte{0x1C, 0x01, 0x63, 0x70}, 0, 0},
		{"select (ref null 2)", []byte{0x1C, 0x01, 0x63, 0x02}, 0, 0},
		{"local.get", []byte{0x20, 0x01}, 0, 1},
		{"local.set", []byte{0x21, 0x02}, 0, 2},
		{"local.tee", []byte{0x22, 0x03}, 0, 3},
		{"global.get", []byte{0x23, 0x04}, 0, 4},
		{"global.set", []byte{0x24, 0x80, 0x01}, 0, 128},
		{"table.get", []byte{0x25, 0x01}, 0, 1},
		{"table.set", []byte{0x26, 0x01}, 0, 1},
		{"i32.load", []byte{0x28, 0x02, 0x10}, 0, 0},
		{"i64.store32 big offset", []byte{0x3E, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}, 0, 0},
		{"i32.load memory 1 (multi-memory)", []byte{0x28, 0x42, 0x01, 0x10}, 0, 0},
		{"i64.load offset 2^40 (memory64)", []byte{0x29, 0x03, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20}, 0, 0},
		{"memory.size", []byte{0x3F, 0x00}, 0, 0},
		{"memory.grow", []byte{0x40, 0x00}, 0, 0},
		{"memory.grow memory 1", []byte{0x40, 0x01}, 0, 0},
		{"memory.grow memory 0 in two bytes", []byte{0x40, 0x80, 0x00}, 0, 0},
		{"i32.const", []byte{0x41, 0x7F}, 0, 0},
		{"i32.const min", []byte{0x41, 0x80, 0x80, 0x80, 0x80, 0x78}, 0, 0},
		{"i64.const", []byte{0x42, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00}, 0, 0},
		{"f32.const", []byte{0x43, 0, 0, 0x80, 0x3F}, 0, 0},
		{"f64.const", []byte{0x44, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F}, 0, 0},
		{"i32.eqz", []byte{0x45}, 0, 0},
		{"f64.reinterpret_i64", []byte{0xBF}, 0, 0},
		{"i64.extend32_s", []byte{0xC4}, 0, 0},
		{"ref.null func", []byte{0xD0, 0x70}, 0, 0},
		{"ref.null 300", []byte{0xD0, 0xAC, 0x02}, 0, 0},
		{"ref.is_null", []byte{0xD1}, 0, 0},
		{"ref.func", []byte{0xD2, 0x09}, 0, 9},
		{"i32.trunc_sat_f32_s", []byte{0xFC, 0x00}, 0, 0},
		{"i64.trunc_sat_f64_u", []byte{0xFC, 0x07}, 7, 0},
		{"memory.init", []byte{0xFC, 0x08, 0x03, 0x00}, 8, 3},
		{"memory.init memory 1", []byte{0xFC, 0x08, 0x03, 0x01}, 8, 3},
		{"data.drop", []byte{0xFC, 0x09, 0x03}, 9, 3},
		{"memory.copy", []byte{0xFC, 0x0A, 0x00, 0x00}, 10, 0},
		{"memory.copy memories 1 2", []byte{0xFC, 0x0A, 0x01, 0x02}, 10, 0},
		{"memory.fill", []byte{0xFC, 0x0B, 0x00}, 11, 0},
		{"memory.fill memory 0 in two bytes", []byte{0xFC, 0x0B, 0x80, 0x00}, 11, 0},
		{"table.init", []byte{0xFC, 0x0C, 0x04, 0x01}, 12, 4},
		{"elem.drop", []byte{0xFC, 0x0D, 0x04}, 13, 4},
		{"table.copy", []byte{0xFC, 0x0E, 0x01, 0x02}, 14, 1},
		{"table.grow", []byte{0xFC, 0x0F, 0x01}, 15, 1},
		{"table.size", []byte{0xFC, 0x10, 0x01}, 16, 1},
		{"table.fill", []byte{0xFC, 0x11, 0x01}, 17, 1},
		{"v128.load", []byte{0xFD, 0x00, 0x04, 0x00}, 0, 0},
		{"v128.store", []byte{0xFD, 0x0B, 0x04, 0x10}, 11, 0},
		{"v128.const", append([]byte{0xFD, 0x0C}, make([]byte, 16)...), 12, 0},
		{"i8x16.shuffle", append([]byte{0xFD, 0x0D}, make([]byte, 16)...), 13, 0},
		{"i8x16.swizzle", []byte{0xFD, 0x0E}, 14, 0},
		{"i8x16.extract_lane_s", []byte{0xFD, 0x15, 0x0F}, 21, 0},
		{"f64x2.replace_lane", []byte{0xFD, 0x22, 0x01}, 34, 0},
		{"v128.load8_lane", []byte{0xFD, 0x54, 0x00, 0x00, 0x0F}, 84, 0},
		{"v128.store64_lane", []byte{0xFD, 0x5B, 0x03, 0x08, 0x01}, 91, 0},
		{"v128.load32_zero", []byte{0xFD, 0x5C, 0x02, 0x00}, 92, 0},
		{"v128.load64_zero", []byte{0xFD, 0x5D, 0x03, 0x00}, 93, 0},
		{"i8x16.abs", []byte{0xFD, 0x60}, 96, 0},
		{"f64x2.promote_low_f32x4", []byte{0xFD, 0x5F}, 95, 0},
		{"i32x4.trunc_sat_f64x2_u_zero (two-byte sub)", []byte{0xFD, 0xFD, 0x01}, 253, 0},
		{"i32x4.relaxed_dot_i8x16_i7x16_add_s", []byte{0xFD, 0x93, 0x02}, 275, 0},
	} {
		// The instruction, then a nop, so reading past its end shows.
		b := append(slices.Clip(tc.b), 0x01)
		r := Reader{B: b}
		in, err := r.Instr()
		if err != nil {
			t.Errorf("%s (% x): %v", tc.name, tc.b, err)
			continue
		}
		if in.Op != tc.b[0] || in.Sub != tc.sub || in.At != 0 || in.End != len(tc.b) || r.Off != in.End || in.Index != tc.index {
			t.Errorf("%s (% x): %+v, want op %#x sub %d index %d end %d", tc.name, tc.b, in, tc.b[0], tc.sub, tc.index, len(tc.b))
		}
		if want := 1; tc.b[0] == 0xFC || tc.b[0] == 0xFD {
			if tc.sub >= 128 {
				want = 3
			} else {
				want = 2
			}
			if in.Imm != want {
				t.Errorf("%s: immediates at %d, want %d", tc.name, in.Imm, want)
			}
		} else if in.Imm != want {
			t.Errorf("%s: immediates at %d, want %d", tc.name, in.Imm, want)
		}
		// Every truncation fails, at the end of input, without a panic.
		for i := range len(tc.b) {
			r := Reader{B: tc.b[:i]}
			if _, err := r.Instr(); err == nil {
				t.Errorf("%s truncated to % x: no error", tc.name, tc.b[:i])
			}
		}
	}
}

// TestInstrRefuses: opcodes outside the set, and malformed immediates.
func TestInstrRefuses(t *testing.T) {
	for _, b := range [][]byte{
		{0x06}, {0x07}, {0x09}, {0x18}, {0x19}, // legacy exception handling
		{0x14, 0x00}, {0x15, 0x00}, // call_ref, return_call_ref
		{0xD3}, {0xD4}, {0xD5, 0x00}, {0xD6, 0x00}, // ref.eq, ref.as_non_null, br_on_null, br_on_non_null
		{0xFB, 0x00}, {0xFE, 0x00}, {0xFF}, {0x27}, {0xC5}, // GC, threads, unassigned
		{0xFC, 0x12}, {0xFD, 0x94, 0x02}, // past the last 0xFC and 0xFD sub-opcodes
		{0x1F, 0x40, 0x01, 0x04},                   // try_table: unknown catch kind
		{0x0E, 0x05, 0x00},                         // br_table: more labels than bytes
		{0x1C, 0x05, 0x7F},                         // select: more types than bytes
		{0x0C, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, // label LEB128 over 5 bytes
		{0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, // block type over 33 bits
	} {
		r := Reader{B: b}
		if in, err := r.Instr(); err == nil {
			t.Errorf("% x: accepted as %+v", b, in)
		}
	}
}

func TestLabels(t *testing.T) {
	body := []byte{0x0C, 0x02, 0x0D, 0x05, 0x0E, 0x03, 0x00, 0x81, 0x01, 0x02, 0x07, 0x10, 0x01}
	r := Reader{B: body}
	var got [][]uint32
	var labels []uint64
	for !r.Done() {
		in, err := r.Instr()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, slices.Collect(r.Labels(in)))
		labels = append(labels, in.Labels)
	}
	want := [][]uint32{{2}, {5}, {0, 129, 2, 7}, nil}
	if len(got) != len(want) {
		t.Fatalf("labels %v, want %v", got, want)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("instruction %d: labels %v, want %v", i, got[i], want[i])
		}
	}
	if !slices.Equal(labels, []uint64{0, 0, 4, 0}) {
		t.Errorf("Labels fields %v", labels)
	}
	// Stopping early stops.
	r = Reader{B: body[4:11]}
	in, _ := r.Instr()
	for l := range r.Labels(in) {
		if l != 0 {
			t.Fatalf("first label %d", l)
		}
		break
	}
}
