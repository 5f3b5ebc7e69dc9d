package wasmlimits

// Default returns Wisp's limits: at least 4× the largest real plugin on
// every axis, never above the JS API's implementation limits, and tight
// enough on the axes where wazero v1.12.0's compiler is superlinear that
// the worst single function within them compiles in about 0.3 s.
//
// Real plugins, as measured by Measure (testdata, wazero v1.12.0 compile
// on the 2-core build machine):
//
//	                 fitness(Go)  fridge-go  fridge(C)  car(C)  tv(WAT)  example
//	module bytes       2,625,808  2,627,454      3,504   2,448      788      308
//	compile time          1.45 s     1.32 s     4.0 ms  2.8 ms   1.2 ms   0.5 ms
//	types                     13         13          4       4        4        3
//	params / results       4 / 1      4 / 1      4 / 1   4 / 1    4 / 1    4 / 1
//	imports (funcs)      16 (16)    16 (16)          0       0        0        0
//	functions              1,805      1,804          5       4        4        3
//	exports                    5          6          5       4        4        4
//	globals                    8          8          1       1        0        0
//	data segments         31,154     31,113          0       0        3        0
//	elem segs / items    1/1,805    1/1,804        0/0     0/0      0/0      0/0
//	table elems            5,901      5,900          1       1        0        0
//	name-map entries           0          0          5       4        0        0
//	locals max / total  17/7,115   17/7,120      18/22    9/13      7/7      4/4
//	body bytes max        29,238     29,238      2,952   1,936      497      189
//	code bytes         1,625,408  1,628,103      3,165   2,147      528      209
//	nesting depth            550        550          8       7        6        5
//	control max/func         799        799         64      42       18        9
//	control total         50,631     50,745         65      43       19       10
//	control work (Σc²) 4,697,587  4,752,435      4,097   1,765      325       82
//	loops max / total    3/1,242    3/1,240      12/12     8/8      3/3      1/1
//	ifs max/func             250        250          0       0       13        7
//	br_table max             896        896          4       4        0        0
//	br_table total        60,036     60,172          8       4        0        0
//
// wazero v1.12.0 CompileModule time for one function of n instructions of
// each shape (same machine):
//
//	shape               n=1,000   n=3,000  n=10,000  n=30,000
//	(loop) in sequence    26 ms    193 ms    2.63 s    40.6 s
//	nested loops          69 ms    295 ms    4.63 s    52.0 s
//	nested blocks         11 ms     55 ms    482 ms     6.4 s
//	(block) in sequence   11 ms     57 ms    525 ms     7.0 s
//	(if) in sequence      38 ms    227 ms    2.42 s         -
//	br_table targets     6.9 ms     24 ms     95 ms    688 ms  (100,000: 5.7 s)
//	straight-line bytes  0.2 ms    0.4 ms    0.9 ms    5.5 ms  (3 MB: 518 ms)
//	locals (one entry)   0.4 ms    0.7 ms    1.9 ms    2.6 ms  (3M: 105 ms)
//
// and across many small functions (linear): 100 loops in each of n
// functions 59 ms / 139 ms / 512 ms / 1.61 s at n = 100 / 300 / 1,000 /
// 3,000 (≈ 5 µs a loop); a 1,000-target br_table in each of n functions
// 297 ms / 940 ms / 4.3 s at n = 100 / 300 / 1,000 (≈ 4.3 µs a target).
//
// Hence: per function, 4,000 control instructions (ifs or sequential loops
// ≈ 0.4 s at worst), nesting 2,500 (nested loops ≈ 0.25 s), 1,000 loops
// (26 ms), a 10,000-target br_table (95 ms); per module, Σc² ≤ 2·10⁷
// (the quadratic part: ≈ 0.65 s at the nested-loop rate), 250,000 control
// instructions and 250,000 br_table targets (the linear part, ≈ 1 s each,
// the same order as compiling the fitness plugin itself), 10,000 loops.
// Straight-line code and locals are linear and cheap: their limits bound
// memory (wazero decodes locals into one byte per local).
func Default() Limits {
	return Limits{
		Types:              10_000,  // JS API 1,000,000
		Params:             100,     // JS API 1,000
		Results:            100,     // JS API 1,000
		Imports:            1_000,   // JS API 100,000
		Functions:          50_000,  // JS API 1,000,000
		Tables:             16,      // JS API 100,000
		TableElems:         100_000, // JS API 10,000,000
		Memories:           1,       // JS API 1 (without multi-memory)
		Globals:            1_000,   // JS API 1,000,000
		Exports:            1_000,   // JS API 100,000
		ElemSegments:       1_000,   // JS API 10,000,000
		ElemSegmentItems:   100_000, // JS API 10,000,000 (table size)
		DataSegments:       100_000, // JS API 100,000: only 3.2× fitness
		Tags:               1_000,   // JS API 1,000,000
		NameEntries:        100_000,
		LocalsPerFunction:  50_000,    // JS API 50,000
		LocalsTotal:        1_000_000, // no JS API limit
		BodyBytes:          256 << 10, // JS API 7,654,321
		NestingDepth:       2_500,
		ControlPerFunction: 4_000,
		ControlTotal:       250_000,
		ControlWork:        20_000_000,
		LoopsPerFunction:   1_000,
		LoopsTotal:         10_000,
		BrTableTargets:     10_000, // JS API none
		BrTableTargetsFunc: 20_000,
		BrTableTargetsAll:  250_000,
	}
}
