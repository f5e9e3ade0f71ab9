/**
 * Argument validation shared by every method: options checked strictly, tensors and targets
 * checked and captured at call time. Every failure is a LossError naming the method, the argument
 * and the value; nothing here reads an argument twice (a getter or a mutation cannot slip past).
 */
import { FLOAT_DTYPES, Half } from './dtype.js';
import type { FloatDtype } from './dtype.js';
import { LossError } from './errors.js';
import type { F32Data, I32Data } from './jobs.js';
import { METHODS } from './registry.js';
import { isDevice, numel } from './shapes.js';
import type { DeviceDtype, DeviceTensor } from './types.js';

export function fail(method: string, message: string): never {
  throw new LossError(`${method}: ${message}`);
}

/** The built-in class of a value ('Float32Array', 'Object', …), across realms and never throwing. */
function tag(v: unknown): string {
  return Object.prototype.toString.call(v).slice(8, -1);
}

/** A real typed array of that class (a Proxy around one is not: its elements cannot be read safely). */
function isTyped<T>(v: unknown, name: string): v is T {
  return ArrayBuffer.isView(v) && tag(v) === name;
}
export const isF32 = (v: unknown): v is Float32Array => isTyped<Float32Array>(v, 'Float32Array');
export const isI32 = (v: unknown): v is Int32Array => isTyped<Int32Array>(v, 'Int32Array');
export const isI64 = (v: unknown): v is BigInt64Array => isTyped<BigInt64Array>(v, 'BigInt64Array');
const isU16 = (v: unknown): v is Uint16Array => isTyped<Uint16Array>(v, 'Uint16Array');
const isF16 = (v: unknown): v is ArrayBufferView & { length: number } => isTyped(v, 'Float16Array');

/** A value as a message shows it: strings quoted, arrays and objects by kind. */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v !== 'object' && typeof v !== 'function') return String(v);
  if (v === null) return 'null';
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return `an Array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return 'length' in v ? `a ${tag(v)} of length ${(v as Int8Array).length}` : `a ${tag(v)}`;
  return tag(v) === 'Object' ? 'an object' : `a ${tag(v)}`;
}

// ---------------------------------------------------------------- options

/** Options some method takes: naming one on a method that does not take it gets a plainer message. */
const ALL_OPTIONS = new Set<string>(Object.values(METHODS).flatMap((m) => m.options));

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = d[j];
      d[j] = next;
    }
  }
  return d[b.length];
}

/** The accepted key a misspelt one most likely meant (snake_case, case slips, one or two typos). */
function closest(key: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[_\-\s]/g, '');
  const k = norm(key);
  const exact = known.find((n) => norm(n) === k);
  if (exact) return exact;
  let best: string | undefined, bestD = 3;
  for (const n of known) {
    const d = editDistance(k, norm(n));
    if (d < bestD) [best, bestD] = [n, d];
  }
  return best;
}

/**
 * The options object of a call, copied (read once) and checked strictly: a key the method does
 * not know rejects, naming the key, the one probably meant and the accepted ones.
 */
export function optionsOf(method: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options) || ArrayBuffer.isView(options)) {
    fail(method, `options must be an object, got ${show(options)}`);
  }
  const copy: Record<string, unknown> = { ...(options as Record<string, unknown>) };
  for (const key of Object.keys(copy)) {
    if (known.includes(key)) continue;
    const meant = closest(key, known);
    const hint = meant ? ` (did you mean ${JSON.stringify(meant)}?)` : '';
    const what = ALL_OPTIONS.has(key) ? `does not take the option ${JSON.stringify(key)}` : `unknown option ${JSON.stringify(key)}`;
    fail(method, `${what}${hint}; it accepts ${known.map((n) => JSON.stringify(n)).join(', ') || 'no options'}`);
  }
  return copy;
}

export function booleanOf(method: string, name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') fail(method, `${name} = ${show(v)} must be true or false`);
  return v;
}

// ---------------------------------------------------------------- tensors

/** A GPUBuffer as far as can be told without WebGPU globals. */
function checkBuffer(method: string, arg: string, b: unknown): GPUBuffer {
  const ok = typeof b === 'object' && b !== null && typeof (b as GPUBuffer).size === 'number' &&
    typeof (b as GPUBuffer).usage === 'number' && typeof (b as GPUBuffer).destroy === 'function';
  if (!ok) fail(method, `${arg}.buffer must be a GPUBuffer, got ${show(b)}`);
  const buffer = b as GPUBuffer;
  if ((buffer.usage & 128) === 0) fail(method, `${arg}.buffer lacks the STORAGE usage that a kernel needs to read it`);
  return buffer;
}

/** A shape, copied: non-negative integers (any size when the tensor is empty; see numel). */
export function checkShape(method: string, arg: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) fail(method, `${arg}.shape must be an array of sizes, got ${show(shape)}`);
  const s = Array.from(shape as unknown[]);
  s.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) fail(method, `${arg}.shape[${i}] = ${show(d)} is not a non-negative integer`);
  });
  const n = numel(s as number[]);
  if (n > Number.MAX_SAFE_INTEGER) fail(method, `${arg}.shape [${s}] has more elements than can be addressed`);
  return s as number[];
}

/** Bytes an element of each device dtype takes. */
export const DTYPE_BYTES: Record<DeviceDtype, number> = { float32: 4, int32: 4, float16: 2, bfloat16: 2, int64: 8 };

/** A device tensor's buffer, shape and dtype, checked against what the shape needs. */
function deviceTensor(method: string, arg: string, t: DeviceTensor, dtypes: readonly DeviceDtype[]): DeviceTensor {
  const shape = checkShape(method, arg, t.shape);
  const buffer = checkBuffer(method, arg, t.buffer);
  const dt = t.dtype ?? 'float32';
  if (!dtypes.includes(dt)) fail(method, `${arg}.dtype = ${show(dt)} must be ${dtypes.map((d) => JSON.stringify(d)).join(' or ')}`);
  // Storage bindings are whole 4-byte words: a half tensor of odd length needs its last word.
  const bytes = Math.ceil((numel(shape) * DTYPE_BYTES[dt]) / 4) * 4;
  if (buffer.size < bytes) fail(method, `${arg}.buffer holds ${buffer.size} bytes, ${dt} shape [${shape}] needs ${bytes}`);
  return { buffer, shape, dtype: dt };
}

/** A Float16Array as half bits (a view of the same memory, never a copy). */
function fromFloat16(data: ArrayBufferView & { length: number }): Half {
  return new Half(new Uint16Array(data.buffer, data.byteOffset, data.length), 'float16', data);
}

/** Host float data with its (optional) dtype: a Float32Array, or half bits (Uint16Array or Float16Array). */
function hostFloat(method: string, arg: string, data: unknown, dtype: unknown): Float32Array | Half {
  const want = `${arg}.data must be a Float32Array, a Uint16Array of half bits with dtype 'float16' or 'bfloat16', or a Float16Array`;
  if (dtype === undefined) {
    if (isF32(data)) return data;
    if (isF16(data)) return fromFloat16(data);
    if (isU16(data)) fail(method, `${arg}.data is a Uint16Array: say what its bits hold with dtype: 'float16' or 'bfloat16'`);
    fail(method, `${want}; got ${show(data)}`);
  }
  if (typeof dtype !== 'string' || !FLOAT_DTYPES.includes(dtype as FloatDtype)) {
    fail(method, `${arg}.dtype = ${show(dtype)} must be one of ${FLOAT_DTYPES.map((d) => JSON.stringify(d)).join(', ')}`);
  }
  if (dtype === 'float32') {
    if (!isF32(data)) fail(method, `${arg}.data must be a Float32Array for dtype 'float32', got ${show(data)}`);
    return data;
  }
  if (isU16(data)) return new Half(data, dtype as 'float16' | 'bfloat16');
  if (dtype === 'float16' && isF16(data)) return fromFloat16(data);
  fail(method, `${arg}.data must be a Uint16Array of ${dtype} bits${dtype === 'float16' ? ' or a Float16Array' : ''}, got ${show(data)}`);
}

/** The dtype of float data. */
export function dtypeOf(d: F32Data): FloatDtype {
  if (d instanceof Half) return d.dtype;
  if (isDevice(d)) return (d.dtype ?? 'float32') as FloatDtype;
  return 'float32';
}

/** A float tensor argument (host or device, float32 or half), validated; returns its data and shape. */
export function floatTensor(method: string, arg: string, t: unknown): { data: F32Data; shape: number[] } {
  if (typeof t !== 'object' || t === null || ArrayBuffer.isView(t) || Array.isArray(t)) {
    fail(method, `${arg} must be a tensor { data: Float32Array, shape }, got ${show(t)}`);
  }
  if (isDevice(t)) {
    const d = deviceTensor(method, arg, t, FLOAT_DTYPES);
    return { data: d, shape: [...d.shape] };
  }
  const { data: raw, shape: rawShape, dtype } = t as { data?: unknown; shape?: unknown; dtype?: unknown };
  const data = hostFloat(method, arg, raw, dtype);
  const shape = checkShape(method, arg, rawShape);
  if (data.length !== numel(shape)) fail(method, `${arg}.data has ${data.length} elements but shape [${shape}] needs ${numel(shape)}`);
  return { data, shape };
}

/** A float target: a bare Float32Array (or Float16Array) of the input's length or a tensor of the input's shape. */
export function floatTarget(method: string, target: unknown, shape: readonly number[], arg = 'target'): F32Data {
  const n = numel(shape);
  if (isF32(target) || isF16(target)) {
    if (target.length !== n) fail(method, `${arg} has ${target.length} elements, expected ${n} (shape [${shape}])`);
    return isF32(target) ? target : fromFloat16(target);
  }
  if (target === undefined) fail(method, `${arg} is missing: pass a Float32Array of ${n} elements or a tensor of shape [${shape}]`);
  if (ArrayBuffer.isView(target) || Array.isArray(target)) fail(method, `${arg} must be a Float32Array or a float tensor, got ${show(target)}`);
  const t = floatTensor(method, arg, target);
  if (!sameShape(t.shape, shape)) fail(method, `${arg}.shape [${t.shape}] does not match [${shape}]`);
  return t.data;
}

const INDEX_HINT = 'class indices must be an Int32Array or BigInt64Array (bare, or as { data, shape }); class probabilities a Float32Array or float tensor';

/** Is this target meant as class indices? (Integer arrays of the wrong type are, and get a clear error.) */
export function looksLikeIndices(target: unknown): boolean {
  if (isI32(target) || isI64(target) || Array.isArray(target)) return true;
  if (ArrayBuffer.isView(target)) return !/Float/.test(tag(target));
  if (typeof target !== 'object' || target === null) return false;
  if (isDevice(target)) return target.dtype === 'int32' || target.dtype === 'int64';
  const dtype = (target as { dtype?: unknown }).dtype;
  if (typeof dtype === 'string' && FLOAT_DTYPES.includes(dtype as FloatDtype)) return false;
  return looksLikeIndices((target as { data?: unknown }).data);
}

/** Class-index targets: a bare Int32Array/BigInt64Array (shape implied) or a tensor of shape `shape`. */
export function indexTarget(method: string, target: unknown, shape: readonly number[]): I32Data | BigInt64Array {
  const n = numel(shape);
  if (isI32(target) || isI64(target)) {
    if (target.length !== n) fail(method, `target has ${target.length} elements, expected ${n} (shape [${shape}])`);
    return target;
  }
  if (typeof target === 'object' && target !== null && !ArrayBuffer.isView(target) && !Array.isArray(target)) {
    if (isDevice(target)) {
      const d = deviceTensor(method, 'target', target, ['int32', 'int64']);
      if (!sameShape(d.shape, shape)) fail(method, `target.shape [${d.shape}] does not match [${shape}]`);
      return d;
    }
    const { data, shape: rawShape } = target as { data?: unknown; shape?: unknown };
    if (!isI32(data) && !isI64(data)) fail(method, `target.data: ${INDEX_HINT}; got ${show(data)}`);
    const tshape = checkShape(method, 'target', rawShape);
    if (data.length !== numel(tshape)) fail(method, `target.data has ${data.length} elements but shape [${tshape}] needs ${numel(tshape)}`);
    if (!sameShape(tshape, shape)) fail(method, `target.shape [${tshape}] does not match [${shape}]`);
    return data;
  }
  fail(method, `target: ${INDEX_HINT}; got ${show(target)}`);
}

/**
 * Host class indices must lie in [0, C) unless they equal ignoreIndex (device ones are checked by
 * the kernel). int64 indices, so checked, are narrowed to int32 (a copy of the labels, never of the logits).
 */
export function checkIndices(method: string, target: I32Data | BigInt64Array, C: number, ignoreIndex: number): I32Data {
  if (isDevice(target)) return target;
  const wide = isI64(target) ? new Int32Array(target.length) : undefined;
  for (let i = 0; i < target.length; i++) {
    const t = Number(target[i]);
    if ((t < 0 || t >= C) && t !== ignoreIndex) fail(method, `target[${i}] = ${target[i]} is out of range [0, ${C})`);
    if (wide) wide[i] = t;
  }
  return wide ?? (target as Int32Array);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Two views of the same memory (so that writing one changes the other). */
export function overlaps(a: unknown, b: unknown): boolean {
  if (a instanceof Half || b instanceof Half) return overlaps(a instanceof Half ? a.bits : a, b instanceof Half ? b.bits : b);
  if (isDevice(a) && isDevice(b)) return a.buffer === b.buffer;
  if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b) || a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

// ---------------------------------------------------------------- option values

export function reductionOf<R extends string>(method: string, r: unknown, allowed: readonly R[], fallback: R): R {
  if (r === undefined) return fallback;
  if (typeof r !== 'string' || !allowed.includes(r as R)) fail(method, `reduction = ${show(r)} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  return r as R;
}

export function classWeight(method: string, w: unknown, C: number): Float32Array | undefined {
  if (w === undefined) return undefined;
  if (!isF32(w)) fail(method, `weight must be a Float32Array of length ${C}, got ${show(w)}`);
  if (w.length !== C) fail(method, `weight has length ${w.length}, expected C = ${C}`);
  return w;
}

const INT32_MIN = -(2 ** 31), INT32_MAX = 2 ** 31 - 1;

/** ignoreIndex: an integer that an int32 class index can hold (any other could never match, or would wrap on the GPU). */
export function ignoreIndexOf(method: string, v: unknown): number {
  if (v === undefined) return -100;
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(method, `ignoreIndex = ${show(v)} must be an integer`);
  if (v < INT32_MIN || v > INT32_MAX) fail(method, `ignoreIndex = ${v} is outside the int32 range of class indices [${INT32_MIN}, ${INT32_MAX}]`);
  return v;
}

export function smoothingOf(method: string, v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(method, `labelSmoothing = ${show(v)} must be a number in [0, 1]`);
  return v;
}

/** Normalises `dim` for a tensor of rank `rank` (rank 0 counts as rank 1, like PyTorch's softmax). */
export function dimOf(method: string, dim: unknown, rank: number): number {
  const r = Math.max(rank, 1);
  const d = dim === undefined ? -1 : dim;
  if (typeof d !== 'number' || !Number.isInteger(d) || d < -r || d >= r) fail(method, `dim = ${show(dim)} is out of range [${-r}, ${r - 1}]`);
  return (d + r) % r;
}

/**
 * Element weights broadcast to the input's shape by PyTorch's rules, as `{ data, div }`: element
 * i's weight is data[⌊i / div⌋ % data.length]. A bare array covers the trailing dims whose product
 * is its length. A tensor's dims, aligned from the right, are each 1 or the input's; the dims it
 * does not broadcast over must then form one run (weights constant over the dims after it, div),
 * else it is expanded over the dims in between (never beyond the input's own size).
 */
export function elementWeight(method: string, arg: string, w: unknown, shape: readonly number[]): { data: Float32Array; div: number } | undefined {
  if (w === undefined) return undefined;
  if (isF32(w)) {
    if (w.length === 1) return { data: w, div: 1 };
    let n = 1;
    for (let i = shape.length - 1; i >= 0; i--) {
      n *= shape[i];
      if (n === w.length) return { data: w, div: 1 };
    }
    fail(method, `${arg} has length ${w.length}, which is not the size of trailing dims of input.shape [${shape}]`);
  }
  if (typeof w !== 'object' || w === null || ArrayBuffer.isView(w) || Array.isArray(w)) fail(method, `${arg} must be a Float32Array or a host tensor, got ${show(w)}`);
  const t = floatTensor(method, arg, w);
  if (!isF32(t.data)) fail(method, `${arg} must be a float32 host tensor`);
  const data = t.data;
  const r = shape.length;
  const bad = () => fail(method, `${arg}.shape [${t.shape}] does not broadcast to input.shape [${shape}]`);
  if (t.shape.slice(0, Math.max(0, t.shape.length - r)).some((d) => d !== 1)) bad();
  const ws = [...new Array<number>(Math.max(0, r - t.shape.length)).fill(1), ...t.shape.slice(Math.max(0, t.shape.length - r))];
  ws.forEach((d, i) => d !== 1 && d !== shape[i] && bad());
  const kept = ws.map((d, i) => d !== 1 && shape[i] !== 1);
  const a = kept.indexOf(true), b = kept.lastIndexOf(true) + 1;
  if (a < 0 || numel(shape) === 0) return { data: data.subarray(0, 1), div: 1 };
  const div = numel(shape.slice(b));
  if (kept.slice(a, b).every((k, j) => k || shape[a + j] === 1)) return { data, div };
  // Broadcast over a dim between kept ones: expand over shape[a..b) (at most the input's size).
  const dims = shape.slice(a, b), wdims = ws.slice(a, b);
  const out = new Float32Array(numel(dims));
  const wstride = wdims.map((_, j) => (wdims[j] === 1 ? 0 : numel(wdims.slice(j + 1))));
  const idx = new Array<number>(dims.length).fill(0);
  for (let k = 0; k < out.length; k++) {
    let src = 0;
    for (let j = 0; j < dims.length; j++) src += idx[j] * wstride[j];
    out[k] = data[src];
    for (let j = dims.length - 1; j >= 0 && ++idx[j] === dims[j]; j--) idx[j] = 0;
  }
  return { data: out, div };
}
