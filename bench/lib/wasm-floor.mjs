// The WASM read floor: a hand-assembled module (no toolchain) with SIMD loops over linear memory:
// sumf (f32x4 adds, 4 accumulators), sumi (i32x4 adds) and copy (v128 load/store), 64 bytes per step.

const SIMD = 0xfd;
const op = {
  block: 0x02, loop: 0x03, br: 0x0c, brIf: 0x0d, end: 0x0b,
  get: 0x20, set: 0x21, i32const: 0x41, i32add: 0x6a, i32geu: 0x4f, i32addOp: 0x6a, f32add: 0x92,
};
const uleb = (v) => { const o = []; do { let b = v & 0x7f; v >>>= 7; if (v) b |= 0x80; o.push(b); } while (v); return o; };
const load = (offset) => [SIMD, ...uleb(0), 4, ...uleb(offset)]; // v128.load align=16
const store = (offset) => [SIMD, ...uleb(11), 4, ...uleb(offset)]; // v128.store
const F32X4_ADD = [SIMD, ...uleb(228)], I32X4_ADD = [SIMD, ...uleb(174)];
const f32Lane = (l) => [SIMD, ...uleb(31), l], i32Lane = (l) => [SIMD, ...uleb(27), l];

/** Body of sum(ptr, bytes): locals 0 ptr, 1 bytes, 2 end, 3..6 v128 accumulators. */
function sumBody(add, lane, scalarAdd) {
  const b = [op.get, 0, op.get, 1, op.i32add, op.set, 2, op.block, 0x40, op.loop, 0x40,
    op.get, 0, op.get, 2, op.i32geu, op.brIf, 1];
  for (let k = 0; k < 4; k++) b.push(op.get, 3 + k, op.get, 0, ...load(16 * k), ...add, op.set, 3 + k);
  b.push(op.get, 0, op.i32const, ...[0xc0, 0x00], op.i32add, op.set, 0, op.br, 0, op.end, op.end); // i32.const 64
  b.push(op.get, 3, op.get, 4, ...add, op.get, 5, op.get, 6, ...add, ...add, op.set, 3);
  b.push(op.get, 3, ...lane(0), op.get, 3, ...lane(1), scalarAdd, op.get, 3, ...lane(2), scalarAdd, op.get, 3, ...lane(3), scalarAdd, op.end);
  return [2, 1, 0x7f, 4, 0x7b, ...b]; // locals: 1 × i32, 4 × v128
}

/** Body of copy(src, dst, bytes): locals 0 src, 1 dst, 2 bytes, 3 end. */
function copyBody() {
  const b = [op.get, 0, op.get, 2, op.i32add, op.set, 3, op.block, 0x40, op.loop, 0x40,
    op.get, 0, op.get, 3, op.i32geu, op.brIf, 1];
  for (let k = 0; k < 4; k++) b.push(op.get, 1, op.get, 0, ...load(16 * k), ...store(16 * k));
  b.push(op.get, 0, op.i32const, 0xc0, 0x00, op.i32add, op.set, 0);
  b.push(op.get, 1, op.i32const, 0xc0, 0x00, op.i32add, op.set, 1, op.br, 0, op.end, op.end, op.end);
  return [1, 1, 0x7f, ...b];
}

function section(id, bytes) { return [id, ...uleb(bytes.length), ...bytes]; }
function vec(items) { return [...uleb(items.length), ...items.flat()]; }
const name = (s) => [...uleb(s.length), ...[...s].map((ch) => ch.charCodeAt(0))];

export function wasmFloorBytes() {
  const types = vec([[0x60, 2, 0x7f, 0x7f, 1, 0x7d], [0x60, 2, 0x7f, 0x7f, 1, 0x7f], [0x60, 3, 0x7f, 0x7f, 0x7f, 0]]);
  const funcs = vec([[0], [1], [2]]);
  const memory = vec([[0, 1]]); // min 1 page, no max
  const exports = vec([[...name('sumf'), 0, 0], [...name('sumi'), 0, 1], [...name('copy'), 0, 2], [...name('mem'), 2, 0]]);
  const bodies = [sumBody(F32X4_ADD, f32Lane, op.f32add), sumBody(I32X4_ADD, i32Lane, op.i32add), copyBody()]
    .map((b) => [...uleb(b.length), ...b]);
  const code = vec(bodies);
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, types), ...section(3, funcs), ...section(5, memory), ...section(7, exports), ...section(10, code)]);
}

let instance;
/** The instantiated module, or undefined where WASM SIMD is unavailable. */
export async function wasmFloor() {
  if (instance !== undefined) return instance || undefined;
  const bytes = wasmFloorBytes();
  if (!WebAssembly.validate(bytes)) { instance = null; return undefined; }
  instance = (await WebAssembly.instantiate(bytes)).instance.exports;
  return instance;
}

/** Grows the module's memory to hold `bytes` and returns it. */
export function wasmMemory(w, bytes) {
  const need = Math.ceil(bytes / 65536) - w.mem.buffer.byteLength / 65536;
  if (need > 0) w.mem.grow(need);
  return w.mem.buffer;
}
