// home — the smart-speaker and home-assistant plugin, in AssemblyScript
// (sdk/ABI.md alone; no Wisp binding needed).
//
// Listening, thermostat, lighting and voice-assistant events in; IAB
// Audience Taxonomy 1.1 media and home interests out. What was said, which
// room, which track: none of it is an event, and none of it could leave.
//
// Build (plugins/build.sh pins the compiler version):
//   asc assembly/index.ts --runtime stub --use abort= -O3 --noAssert -o home.wasm

// Event kinds and codes (the plugin's vocabulary, documented in
// plugins/home/README.md).
const PLAY: u32 = 1; //      code: genre; value: minutes listened
const THERMOSTAT: u32 = 2; // code 1: schedule or eco change; value: count
const LIGHTS: u32 = 3; //    code 1: an automation ran, 2: a party scene; value: count
const VOICE: u32 = 4; //     code 1: a kitchen timer, 2: a recipe read aloud; value: count

const ROCK: u32 = 1;
const CLASSICAL: u32 = 2;
const JAZZ: u32 = 3;
const POP: u32 = 4;
const TALK: u32 = 5;
const GENRES: u32 = 6;

// IAB Audience Taxonomy 1.1 unique ids.
const CAT_ROCK: u32 = 504;
const CAT_CLASSICAL: u32 = 490;
const CAT_JAZZ: u32 = 499;
const CAT_POP: u32 = 493;
const CAT_TALK: u32 = 513;
const CAT_SMART_HOME: u32 = 465;
const CAT_ENTERTAINING: u32 = 459;
const CAT_COOKING: u32 = 371;

const HEADER: i32 = 16;
const EVENT: i32 = 24;
const ERR_BAD_INPUT: i32 = -1;
const ERR_OUTPUT_SPACE: i32 = -2;

// The ABI's version marker: present, never called.
export function wisp_abi_v1(): void {}

let buf: usize = 0;

// wisp_buffer gives the host a region of at least size bytes, or 0 if
// memory cannot grow that far. The region starts at what was the end of
// memory on the first call, past everything the stub runtime's allocator
// handed out at start; calls allocate nothing, so nothing else ever grows
// memory and a larger request extends the same region in place.
export function wisp_buffer(size: i32): i32 {
  if (size < 0) return 0;
  if (buf == 0) {
    // Page 0 may hold the module's data, or not exist (no data: 0 pages).
    if (memory.grow(0) == 0 && memory.grow(1) < 0) return 0;
    buf = <usize>memory.size() << 16;
  }
  const end = buf + <usize>size;
  const have = <usize>memory.size() << 16;
  if (end > have && memory.grow(<i32>((end - have + 0xffff) >>> 16)) < 0) return 0;
  return <i32>buf;
}

// saturate maps evidence x ≥ 0 to [0, 1): half at `half`.
function saturate(x: f64, half: f64): f64 {
  return x / (x + half);
}

// valid: broken sensor readings (NaN, ±Inf, negative) are no evidence.
function valid(v: f64): bool {
  return isFinite(v) && v >= 0;
}

// Scratch allocated once, when the instance starts: the stub runtime never
// frees, so a call must allocate nothing.
const minutes = new StaticArray<f64>(GENRES);
const genreCategory: StaticArray<u32> = [0, CAT_ROCK, CAT_CLASSICAL, CAT_JAZZ, CAT_POP, CAT_TALK];

let outPtr: usize = 0;
let outCap: i32 = 0;
let outN: i32 = 0;

function put(category: u32, score: f64): void {
  if (score <= 0) return;
  if (outN >= outCap) {
    outN = -1; // reported as ErrCodeOutputSpace
    return;
  }
  const at = outPtr + (<usize>outN << 3);
  store<u32>(at, category);
  store<f32>(at, <f32>min(score, 1.0), 4);
  outN++;
}

export function wisp_score(inPtr: i32, inLen: i32, out: i32, cap: i32): i32 {
  if (inLen < HEADER) return ERR_BAD_INPUT;
  const p = <usize>inPtr;
  const version = load<u32>(p);
  const count = load<u32>(p, 4);
  const size = load<u32>(p, 8);
  const flags = load<u32>(p, 12);
  if (version != 1 || size < <u32>EVENT || flags != 0) return ERR_BAD_INPUT;
  if (<u64>inLen != <u64>HEADER + <u64>count * <u64>size) return ERR_BAD_INPUT;

  for (let g: u32 = 0; g < GENRES; g++) minutes[g] = 0;
  let automations: f64 = 0, parties: f64 = 0, climate: f64 = 0, kitchen: f64 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const e = p + HEADER + <usize>i * <usize>size;
    const kind = load<u32>(e);
    const code = load<u32>(e, 4);
    const value = load<f64>(e, 16);
    if (!valid(value)) continue;
    if (kind == PLAY && code >= ROCK && code < GENRES) {
      minutes[code] += value;
    } else if (kind == THERMOSTAT && code == 1) {
      climate += value;
    } else if (kind == LIGHTS && code == 1) {
      automations += value;
    } else if (kind == LIGHTS && code == 2) {
      parties += value;
    } else if (kind == VOICE && (code == 1 || code == 2)) {
      kitchen += code == 2 ? 2 * value : value;
    }
  }

  outPtr = <usize>out;
  outCap = cap;
  outN = 0;
  // A genre is an interest when it is a large share of a week's listening.
  let total: f64 = 0;
  for (let g: u32 = ROCK; g < GENRES; g++) total += minutes[g];
  for (let g: u32 = ROCK; g < GENRES; g++) {
    if (minutes[g] > 0) put(genreCategory[g], saturate(minutes[g], 120) * (0.5 + 0.5 * minutes[g] / total));
  }
  put(CAT_SMART_HOME, saturate(automations + climate, 10));
  put(CAT_ENTERTAINING, saturate(parties, 2));
  put(CAT_COOKING, saturate(kitchen, 5));
  return outN < 0 ? ERR_OUTPUT_SPACE : outN;
}
