/**
 * Half-precision inputs and int64 labels (issue 11), shared by test/cpu/half.test.ts and test/gpu/half.test.ts:
 *
 * - an independent float16 / bfloat16 codec, written here from the IEEE 754 definitions (sign, biased exponent,
 *   significand), never the library's `encodeHalf` / `decodeHalf` (they are code under test);
 * - the PyTorch fixtures of test/fixtures/torch-half (scripts/torch-fixtures-half.py): loading, running a case with
 *   half inputs or with the float32 inputs holding the decoded values, and checking a result: reduced losses within
 *   float32 tolerance of torch's float64 value, half outputs within one half ulp of torch's float64 result rounded
 *   to the dtype, float32 outputs (outputDtype 'float32') within float32 tolerance of the float64 values;
 * - random half cases of every method (the strong test: a half input gives bit for bit what the float32 input
 *   holding the decoded values gives, on the same backend), and the comparisons that test needs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Losses } from '../src/index.js';
import { decodeNumber, describe, fmt, tolerance, valueClose } from './fixtures.js';
import type { ToleranceKind } from './fixtures.js';
import { Rng } from './rng.js';

export type HalfDtype = 'float16' | 'bfloat16';
export const HALF_DTYPES: readonly HalfDtype[] = ['float16', 'bfloat16'];
export type OutDtype = 'float32' | HalfDtype;

export type HalfOp =
  | 'softmax' | 'logSoftmax' | 'softmaxBackward' | 'logSoftmaxBackward' | 'sigmoid' | 'entropy'
  | 'crossEntropy' | 'nllLoss' | 'binaryCrossEntropy' | 'binaryCrossEntropyWithLogits' | 'klDiv' | 'sigmoidFocalLoss';

export const HALF_OPS: readonly HalfOp[] = [
  'softmax', 'logSoftmax', 'softmaxBackward', 'logSoftmaxBackward', 'sigmoid', 'entropy',
  'crossEntropy', 'nllLoss', 'binaryCrossEntropy', 'binaryCrossEntropyWithLogits', 'klDiv', 'sigmoidFocalLoss',
];

/** Methods whose result is one output per element (no loss, no `grad` option). */
export const ELEMENT_OUTPUT_OPS: readonly HalfOp[] = ['softmax', 'logSoftmax', 'softmaxBackward', 'logSoftmaxBackward', 'sigmoid'];

// ================================================================== an independent codec

const FORMAT = {
  float16: { mant: 10, bias: 15, expMax: 31 },
  bfloat16: { mant: 7, bias: 127, expMax: 255 },
} as const;

/** The value of one half: (−1)^s · 2^(e − bias) · (1 + m/2^p) for normal numbers, (−1)^s · 2^(1 − bias) · m/2^p for subnormals. */
export function halfValue(bits: number, dtype: HalfDtype): number {
  const { mant, bias, expMax } = FORMAT[dtype];
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits & 0x7fff) >> mant;
  const m = bits & ((1 << mant) - 1);
  if (e === expMax) return m === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * m * 2 ** (1 - bias - mant);
  return sign * (1 + m / 2 ** mant) * 2 ** (e - bias);
}

/**
 * Decodes half bits to float32 (exact: every half value is a float32). A NaN keeps its sign and its payload
 * (shifted into the top of float32's significand, the IEEE widening conversion), written as bits.
 */
export function decodeBits(bits: ArrayLike<number>, dtype: HalfDtype): Float32Array {
  const out = new Float32Array(bits.length);
  const u = new Uint32Array(out.buffer);
  const { mant } = FORMAT[dtype];
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    const v = halfValue(b, dtype);
    if (Number.isNaN(v)) u[i] = ((b & 0x8000) << 16 | 0x7f800000 | (b & ((1 << mant) - 1)) << (23 - mant)) >>> 0;
    else out[i] = v;
    if (!Number.isNaN(v) && out[i] !== v) throw new Error(`decodeBits: ${b} is not exact in float32`);
  }
  return out;
}

/** Whether half bits are a NaN. */
export function isNanBits(b: number, dtype: HalfDtype): boolean {
  const { mant, expMax } = FORMAT[dtype];
  return (b & 0x7fff) > expMax << mant;
}

/** The canonical NaN encodings issue 11 asks for (PyTorch's): float16 sign|0x7E00, bfloat16 0x7FC0. */
export function isCanonicalNan(b: number, dtype: HalfDtype): boolean {
  return dtype === 'float16' ? (b & 0x7fff) === 0x7e00 : b === 0x7fc0;
}

/**
 * A number rounded to the dtype, to nearest with ties to even (one rounding: pass float32 values to get what a
 * float32 → half conversion gives). Overflow gives ±inf, NaN the canonical NaN (positive: a JS NaN has no sign).
 */
export function roundToHalf(v: number, dtype: HalfDtype): number {
  const { mant, bias, expMax } = FORMAT[dtype];
  if (Number.isNaN(v)) return dtype === 'float16' ? 0x7e00 : 0x7fc0;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  const inf = sign | (expMax << mant);
  if (a === Infinity) return inf;
  if (a === 0) return sign;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  e = Math.max(e, 1 - bias); // subnormals share the quantum of the smallest normal binade
  const scaled = a / 2 ** (e - mant); // exact: a power-of-two scaling
  let n = Math.floor(scaled);
  const r = scaled - n;
  if (r > 0.5 || (r === 0.5 && n % 2 === 1)) n++;
  // n ∈ [2^p, 2^(p+1)] in a normal binade, [0, 2^p] in the subnormal one; a carry flows into the exponent
  const mag = (e + bias - 1) * 2 ** mant + n;
  return mag >= expMax << mant ? inf : sign | mag;
}

/** Monotone integer order of half bits: adjacent values differ by 1, and −0 = +0 = 0. */
export function ordOf(b: number): number {
  return b & 0x8000 ? -(b & 0x7fff) : b;
}

/** Distance in half ulps (NaN against NaN 0, NaN against a number Infinity). */
export function ulpDistance(a: number, e: number, dtype: HalfDtype): number {
  const na = isNanBits(a, dtype), ne = isNanBits(e, dtype);
  if (na || ne) return na && ne ? 0 : Infinity;
  return Math.abs(ordOf(a) - ordOf(e));
}

export function hex(b: number): string {
  return `0x${b.toString(16).padStart(4, '0')}`;
}

// ================================================================== arguments

/** A half tensor as the fixtures and the random cases hold it. */
export interface HalfSpec { kind: 'half'; dtype: HalfDtype; bits: Uint16Array; shape: number[] }
/** Class indices: int32 or int64, bare or as { data, shape }. */
export interface IndexSpec { kind: 'index'; dtype: 'int32' | 'int64'; data: number[]; shape: number[]; asTensor: boolean }
/** A float32 target or gradOutput next to a half input. */
export interface F32Spec { kind: 'float32'; data: Float32Array; shape: number[]; asTensor: boolean }
export type TargetSpec = HalfSpec | IndexSpec | F32Spec;

/**
 * How a case's half tensors are passed: 'half' as { data: Uint16Array, shape, dtype }; 'float32' as the float32
 * tensors holding the decoded values (this file's decoder), everything else unchanged.
 */
export type Mode = 'half' | 'float32';

export function halfArg(s: HalfSpec, mode: Mode): { data: Uint16Array | Float32Array; shape: number[]; dtype?: HalfDtype } {
  return mode === 'half'
    ? { data: s.bits.slice(), shape: [...s.shape], dtype: s.dtype }
    : { data: decodeBits(s.bits, s.dtype), shape: [...s.shape] };
}

export function indexData(s: IndexSpec): Int32Array | BigInt64Array {
  return s.dtype === 'int64' ? BigInt64Array.from(s.data, (v) => BigInt(v)) : Int32Array.from(s.data);
}

export function targetArg(t: TargetSpec, mode: Mode): unknown {
  if (t.kind === 'half') return halfArg(t, mode);
  const data = t.kind === 'index' ? indexData(t) : t.data.slice();
  return t.asTensor ? { data, shape: [...t.shape] } : data;
}

export interface Args {
  x: { data: Uint16Array | Float32Array; shape: number[]; dtype?: HalfDtype };
  target: unknown;
  options: Record<string, unknown>;
}

/** Fresh arguments of a case (inPlace may overwrite them): half tensors per `mode`, options with gradOutput decoded. */
export function argsOf(c: { input: HalfSpec; target?: TargetSpec; options: Record<string, unknown> }, mode: Mode): Args {
  const options: Record<string, unknown> = { ...c.options };
  const go = options.gradOutput as TargetSpec | undefined;
  if (go) options.gradOutput = go.kind === 'half' ? halfArg(go, mode) : targetArg({ ...go, asTensor: true } as TargetSpec, mode);
  for (const k of ['weight', 'posWeight']) {
    const w = options[k];
    if (w instanceof Float32Array) options[k] = w.slice();
    else if (w && typeof w === 'object' && 'data' in w) {
      const t = w as unknown as { data: Float32Array; shape: number[] };
      options[k] = { data: t.data.slice(), shape: [...t.shape] };
    }
  }
  return { x: halfArg(c.input, mode), target: c.target === undefined ? undefined : targetArg(c.target, mode), options };
}

/** Calls `op` with the arguments (and extra options, which may remove an option by giving it undefined). */
export async function callOp(losses: Losses, op: HalfOp, a: { x: unknown; target?: unknown; options: Record<string, unknown> },
  extra: Record<string, unknown> = {}): Promise<unknown> {
  const merged: Record<string, unknown> = { ...a.options, ...extra };
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
  const o = merged as never, x = a.x as never, t = a.target as never;
  switch (op) {
    case 'softmax': return losses.softmax(x, o);
    case 'logSoftmax': return losses.logSoftmax(x, o);
    case 'softmaxBackward': return losses.softmaxBackward(x, t, o);
    case 'logSoftmaxBackward': return losses.logSoftmaxBackward(x, t, o);
    case 'sigmoid': return losses.sigmoid(x, o);
    case 'entropy': return losses.entropy(x, o);
    case 'crossEntropy': return losses.crossEntropy(x, t, o);
    case 'nllLoss': return losses.nllLoss(x, t, o);
    case 'binaryCrossEntropy': return losses.binaryCrossEntropy(x, t, o);
    case 'binaryCrossEntropyWithLogits': return losses.binaryCrossEntropyWithLogits(x, t, o);
    case 'klDiv': return losses.klDiv(x, t, o);
    case 'sigmoidFocalLoss': return losses.sigmoidFocalLoss(x, t, o);
  }
}

/** Whether a call with these options resolves to (or contains) a tensor, so that outputDtype means something. */
export function hasTensorResult(op: HalfOp, options: Record<string, unknown>): boolean {
  if (ELEMENT_OUTPUT_OPS.includes(op)) return true;
  if (options.grad === true) return true;
  const r = options.reduction ?? (op === 'entropy' ? 'none' : 'mean');
  return r === 'none';
}

// ================================================================== fixtures

/** An expected tensor: float64 values, the float64 result rounded to each dtype (torch), or a sample of it. */
export interface ExpTensor {
  shape: number[];
  data?: Float64Array;
  float16?: Uint16Array;
  bfloat16?: Uint16Array;
  sample?: { index: number[]; data: Float64Array };
}

export interface HalfCase {
  file: string;
  op: HalfOp;
  name: string;
  /** `${op} ${name}`, unique across all files. */
  id: string;
  dtype: HalfDtype;
  input: HalfSpec;
  target?: TargetSpec;
  /** Library options; weight/posWeight decoded to Float32Array or { data, shape }, gradOutput a TargetSpec. */
  options: Record<string, unknown>;
  expected: { loss?: number | ExpTensor; grad?: ExpTensor; output?: ExpTensor };
}

type JsonNum = number | 'NaN' | 'Infinity' | '-Infinity';
type JsonBits = number[] | string;

/** Half bits: a JSON array of integers, or base64 of little-endian uint16. */
export function decodeJsonBits(b: JsonBits): Uint16Array {
  if (Array.isArray(b)) {
    const out = Uint16Array.from(b);
    if (out.some((v, i) => v !== b[i])) throw new Error('half fixture: bits out of range');
    return out;
  }
  const bytes = Buffer.from(b, 'base64');
  if (bytes.length % 2) throw new Error('half fixture: odd base64 byte count');
  const out = new Uint16Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = bytes[2 * i] | (bytes[2 * i + 1] << 8);
  return out;
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function decodeHalfSpec(j: { bits: JsonBits; shape: number[] }, dtype: HalfDtype, what: string): HalfSpec {
  const bits = decodeJsonBits(j.bits);
  if (bits.length !== numel(j.shape)) throw new Error(`half fixture ${what}: ${bits.length} bits for shape [${j.shape}]`);
  return { kind: 'half', dtype, bits, shape: [...j.shape] };
}

function decodeTargetSpec(j: Record<string, any>, what: string): TargetSpec {
  const dtype = j.dtype as string;
  if (dtype === 'int32' || dtype === 'int64') {
    if (!j.data.every((v: unknown) => typeof v === 'number' && Number.isInteger(v))) throw new Error(`half fixture ${what}: bad index`);
    return { kind: 'index', dtype, data: [...j.data], shape: [...j.shape], asTensor: !!j.asTensor };
  }
  if (dtype === 'float16' || dtype === 'bfloat16') return decodeHalfSpec(j as { bits: JsonBits; shape: number[] }, dtype, what);
  if (dtype === 'float32') return { kind: 'float32', data: new Float32Array((j.data as JsonNum[]).map(decodeNumber)), shape: [...j.shape], asTensor: !!j.asTensor };
  throw new Error(`half fixture ${what}: unknown dtype ${dtype}`);
}

function decodeExp(j: Record<string, any>): ExpTensor {
  const e: ExpTensor = { shape: [...j.shape] };
  if (j.data) e.data = new Float64Array((j.data as JsonNum[]).map(decodeNumber));
  for (const d of HALF_DTYPES) if (j[d] !== undefined) e[d] = decodeJsonBits(j[d]);
  if (j.sample) e.sample = { index: [...j.sample.index], data: new Float64Array((j.sample.data as JsonNum[]).map(decodeNumber)) };
  const n = numel(e.shape);
  for (const a of [e.data, e.float16, e.bfloat16]) if (a && a.length !== n) throw new Error(`half fixture: expected ${a.length} values for shape [${e.shape}]`);
  return e;
}

export const HALF_FIXTURE_DIR = fileURLToPath(new URL('./fixtures/torch-half/', import.meta.url));
/** The file of the one large-vocabulary case (8 × 128256 bfloat16, 5 MB): loaded only where it runs. */
export const LARGE_FILE = 'crossEntropyLargeVocab';

export function decodeHalfFile(file: { file: string; cases: Record<string, any>[] }): HalfCase[] {
  return file.cases.map((c) => {
    const dtype = c.dtype as HalfDtype;
    if (!HALF_DTYPES.includes(dtype)) throw new Error(`half fixture ${c.name}: dtype ${dtype}`);
    if (!HALF_OPS.includes(c.op)) throw new Error(`half fixture ${c.name}: op ${c.op}`);
    const options: Record<string, unknown> = { ...c.options };
    for (const k of ['weight', 'posWeight']) {
      const w = options[k];
      if (w === undefined) continue;
      options[k] = Array.isArray(w)
        ? new Float32Array((w as JsonNum[]).map(decodeNumber))
        : { data: new Float32Array(((w as { data: JsonNum[] }).data).map(decodeNumber)), shape: [...(w as { shape: number[] }).shape] };
    }
    if (options.gradOutput !== undefined) options.gradOutput = decodeTargetSpec(options.gradOutput as Record<string, any>, `${c.name} gradOutput`);
    const expected: HalfCase['expected'] = {};
    for (const k of ['loss', 'grad', 'output'] as const) {
      const v = c.expected[k];
      if (v === undefined) continue;
      if (k === 'loss' && typeof v !== 'object') expected.loss = decodeNumber(v as JsonNum);
      else expected[k] = decodeExp(v) as never;
    }
    return {
      file: file.file, op: c.op, name: c.name, id: `${c.op} ${c.name}`, dtype,
      input: decodeHalfSpec(c.input, dtype, c.name),
      target: c.target ? decodeTargetSpec(c.target, `${c.name} target`) : undefined,
      options, expected,
    };
  });
}

/** Every case of test/fixtures/torch-half/*.json (files sorted by name), the large-vocabulary file included or not. */
export function halfFixtureCases(opts: { large?: boolean } = {}, dir = HALF_FIXTURE_DIR): HalfCase[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') && (opts.large ? f === `${LARGE_FILE}.json` : f !== `${LARGE_FILE}.json`)).sort();
  const cases = files.flatMap((f) => decodeHalfFile(JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'))));
  const ids = new Set<string>();
  for (const c of cases) {
    if (ids.has(c.id)) throw new Error(`half fixture: duplicate case ${c.id}`);
    ids.add(c.id);
  }
  return cases;
}

export function halfFixtureVersion(dir = HALF_FIXTURE_DIR): string {
  const f = readdirSync(dir).filter((n) => n.endsWith('.json') && n !== `${LARGE_FILE}.json`).sort()[0];
  return (JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')) as { torch: string }).torch;
}

// ================================================================== checking against the fixtures

function sameShape(a: unknown, e: readonly number[]): boolean {
  return Array.isArray(a) && a.length === e.length && a.every((d, i) => d === e[i]);
}

/** A host tensor result of `dtype`: { data: Uint16Array, shape, dtype } or { data: Float32Array, shape, dtype?: 'float32' }. */
export function tensorShapeError(actual: unknown, shape: readonly number[], dtype: OutDtype): string | null {
  if (typeof actual !== 'object' || actual === null || !('data' in actual) || !('shape' in actual)) {
    return `expected a ${dtype} tensor of shape [${shape}], got ${describe(actual)}`;
  }
  const t = actual as { data: unknown; shape: unknown; dtype?: unknown };
  if (!sameShape(t.shape, shape)) return `shape ${JSON.stringify(t.shape)} != expected [${shape}]`;
  if (dtype === 'float32') {
    if (!(t.data instanceof Float32Array)) return `data is ${describe(t.data)}, expected a Float32Array (outputDtype float32)`;
    if (t.dtype !== undefined && t.dtype !== 'float32') return `dtype ${JSON.stringify(t.dtype)}, expected 'float32' (or none)`;
  } else {
    if (!(t.data instanceof Uint16Array)) return `data is ${describe(t.data)}, expected a Uint16Array of ${dtype} bits`;
    if (t.dtype !== dtype) return `dtype ${JSON.stringify(t.dtype)}, expected ${JSON.stringify(dtype)}`;
  }
  if ((t.data as ArrayLike<number>).length !== numel(shape)) return `data has ${(t.data as ArrayLike<number>).length} elements, expected ${numel(shape)}`;
  return null;
}

/**
 * Half bits against the expected bits: within `ulps` half ulps (monotone integer order), NaN where torch has NaN,
 * and every NaN canonical (float16 ±0x7E00, bfloat16 0x7FC0).
 */
export function compareBits(bits: ArrayLike<number>, expected: ArrayLike<number>, dtype: HalfDtype, ulps = 1, f64?: ArrayLike<number>): string | null {
  const bad: string[] = [];
  let nBad = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = bits[i], e = expected[i];
    let why = '';
    if (isNanBits(a, dtype) && !isCanonicalNan(a, dtype)) why = 'a NaN not canonically encoded';
    else if (ulpDistance(a, e, dtype) > ulps) why = `${ulpDistance(a, e, dtype)} ulps`;
    if (why) {
      nBad++;
      if (bad.length < 8) {
        bad.push(`[${i}] got ${hex(a)} (${fmt(halfValue(a, dtype))}), expected ${hex(e)} (${fmt(halfValue(e, dtype))}${f64 ? `; float64 ${fmt(f64[i])}` : ''}): ${why}`);
      }
    }
  }
  return nBad ? `${nBad} of ${expected.length} ${dtype} elements beyond ${ulps} ulp: ${bad.join('; ')}${nBad > bad.length ? '; …' : ''}` : null;
}

/** Float32 values against float64 ones (all of them, or a sample), with the fixtures' tolerance kinds. */
export function compareF32(data: Float32Array, e: ExpTensor, kind: ToleranceKind): string | null {
  const idx = e.data ? null : e.sample!.index;
  const ref = e.data ?? e.sample!.data;
  const bad: string[] = [];
  let nBad = 0;
  for (let k = 0; k < ref.length; k++) {
    const i = idx ? idx[k] : k;
    // a float64 value beyond float32's range is ±inf in float32 (the correctly rounded answer), not a miss
    const want = Number.isFinite(Math.fround(ref[k])) ? ref[k] : Math.fround(ref[k]);
    if (!valueClose(data[i], want, kind)) {
      nBad++;
      if (bad.length < 8) bad.push(`[${i}] got ${fmt(data[i])}, expected ${fmt(ref[k])} (tol ${fmt(tolerance(ref[k], kind))})`);
    }
  }
  if (idx) for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) { nBad++; bad.push(`[${i}] = ${data[i]} (not sampled, expected finite)`); break; }
  return nBad ? `${nBad} of ${ref.length} float32 elements differ: ${bad.join('; ')}${nBad > bad.length ? '; …' : ''}` : null;
}

/** One result tensor against its expectation, in the output dtype asked for. */
export function checkTensor(actual: unknown, e: ExpTensor, out: OutDtype, kind: ToleranceKind): string | null {
  const s = tensorShapeError(actual, e.shape, out);
  if (s) return s;
  const data = (actual as { data: Float32Array | Uint16Array }).data;
  if (out === 'float32') return compareF32(data as Float32Array, e, kind);
  const bits = e[out];
  if (!bits) throw new Error(`no expected ${out} bits`);
  return compareBits(data, bits, out, 1, e.data);
}

export function checkNumber(actual: unknown, e: number): string | null {
  if (typeof actual !== 'number') return `expected a number, got ${describe(actual)}`;
  return valueClose(actual, e, 'loss') ? null : `got ${fmt(actual)}, expected ${fmt(e)} (|diff| ${fmt(Math.abs(actual - e))} > tol ${fmt(tolerance(e, 'loss'))})`;
}

/** The tolerance kind of a method's per-element output: probabilities absolute, everything else relative. */
export function kindOf(op: HalfOp): ToleranceKind {
  return op === 'softmax' || op === 'sigmoid' ? 'prob' : 'loss';
}

/**
 * A case's result against its expectations. `out` is the dtype the tensors must have (the input's unless
 * outputDtype said otherwise); `withGrad` false when the run dropped grad/gradOutput (the loss alone).
 */
export function checkHalfCase(c: HalfCase, actual: unknown, out: OutDtype, withGrad = c.options.grad === true): string | null {
  const why: string[] = [];
  const loss = (a: unknown, e: number | ExpTensor, what: string) => {
    const m = typeof e === 'number' ? checkNumber(a, e) : checkTensor(a, e, out, 'loss');
    if (m) why.push(`${what}: ${m}`);
  };
  if (c.expected.output) {
    const m = checkTensor(actual, c.expected.output, out, kindOf(c.op));
    if (m) why.push(`output: ${m}`);
  } else if (withGrad) {
    if (typeof actual !== 'object' || actual === null || !('loss' in actual) || !('grad' in actual)) return `expected { loss, grad }, got ${describe(actual)}`;
    const r = actual as { loss: unknown; grad: unknown };
    loss(r.loss, c.expected.loss!, 'loss');
    const m = checkTensor(r.grad, c.expected.grad!, out, 'loss');
    if (m) why.push(`grad: ${m}`);
  } else {
    loss(actual, c.expected.loss!, 'loss');
  }
  return why.length ? why.join('\n') : null;
}

/** The options of a run without the gradient (the loss alone). */
export const NO_GRAD = { grad: undefined, gradOutput: undefined } as const;

/**
 * Runs one fixture case on `losses` in its variants and returns a failure line per variant that fails:
 * as stored (outputs in the input's dtype), outputDtype 'float32', without the gradient (unless `noGrad` is false),
 * and (with `other`) the other half dtype as outputDtype.
 */
export async function runHalfFixture(losses: Losses, c: HalfCase, opts: { other?: boolean; noGrad?: boolean } = {}): Promise<string[]> {
  const failures: string[] = [];
  const attempt = async (label: string, extra: Record<string, unknown>, out: OutDtype, withGrad: boolean) => {
    try {
      const r = await callOp(losses, c.op, argsOf(c, 'half'), extra);
      const m = checkHalfCase(c, r, out, withGrad);
      if (m) failures.push(`${c.id} [${label}]: ${m}`);
    } catch (e) {
      failures.push(`${c.id} [${label}]: rejected: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
  };
  const grad = c.options.grad === true;
  await attempt('default', {}, c.dtype, grad);
  if (hasTensorResult(c.op, c.options)) await attempt('outputDtype float32', { outputDtype: 'float32' }, 'float32', grad);
  if (grad && opts.noGrad !== false) await attempt('no grad', NO_GRAD, c.dtype, false);
  const other: HalfDtype = c.dtype === 'float16' ? 'bfloat16' : 'float16';
  if (opts.other && hasTensorResult(c.op, c.options)) await attempt(`outputDtype ${other}`, { outputDtype: other }, other, grad);
  return failures;
}

// ================================================================== random cases (the strong test)

export interface RandomCase {
  op: HalfOp;
  name: string;
  dtype: HalfDtype;
  input: HalfSpec;
  target?: TargetSpec;
  options: Record<string, unknown>;
}

const SPECIAL_BITS = {
  float16: { nan: 0x7e00, negNan: 0xfe00, payloadNan: 0x7d01, inf: 0x7c00, ninf: 0xfc00, sub: 0x0001, subMax: 0x83ff, negZero: 0x8000 },
  bfloat16: { nan: 0x7fc0, negNan: 0xffc0, payloadNan: 0x7f81, inf: 0x7f80, ninf: 0xff80, sub: 0x0001, subMax: 0x807f, negZero: 0x8000 },
} as const;

function halfOf(dtype: HalfDtype, values: ArrayLike<number>, shape: number[]): HalfSpec {
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = roundToHalf(values[i], dtype);
  return { kind: 'half', dtype, bits, shape };
}

/** Normal draws rounded to the dtype, with a few special values (NaN with and without payload, ±inf, subnormals, −0) when asked. */
function randHalf(rng: Rng, dtype: HalfDtype, shape: number[], std: number, specials: number, mean = 0): HalfSpec {
  const n = numel(shape);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal(mean, std);
  const h = halfOf(dtype, v, shape);
  const sp = SPECIAL_BITS[dtype];
  const pool = [sp.nan, sp.negNan, sp.payloadNan, sp.inf, sp.ninf, sp.ninf, sp.sub, sp.subMax, sp.negZero];
  for (let i = 0; i < n; i++) if (specials && rng.bool(specials)) h.bits[i] = rng.pick(pool);
  return h;
}

function randUniformHalf(rng: Rng, dtype: HalfDtype, shape: number[], lo: number, hi: number, exact01 = 0): HalfSpec {
  const n = numel(shape);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = exact01 && rng.bool(exact01) ? rng.int(0, 2) : rng.uniform(lo, hi);
  return halfOf(dtype, v, shape);
}

/** Rows along `dim` of a softmax (or log-softmax) of normal draws, rounded to the dtype. */
function randDistribution(rng: Rng, dtype: HalfDtype, shape: number[], dim: number, log: boolean): HalfSpec {
  const n = numel(shape);
  const s = shape.length === 0 ? [1] : shape;
  let outer = 1, inner = 1;
  for (let i = 0; i < dim; i++) outer *= s[i];
  for (let i = dim + 1; i < s.length; i++) inner *= s[i];
  const C = s[dim];
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal(0, 2);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      let m = -Infinity;
      for (let c = 0; c < C; c++) m = Math.max(m, v[o * C * inner + c * inner + k]);
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(v[o * C * inner + c * inner + k] - m);
      for (let c = 0; c < C; c++) {
        const j = o * C * inner + c * inner + k;
        v[j] = log ? v[j] - m - Math.log(sum) : Math.exp(v[j] - m) / sum;
      }
    }
  }
  return halfOf(dtype, v, shape);
}

function randIndices(rng: Rng, n: number, C: number, ignoreIndex?: number, frac = 0): number[] {
  return Array.from({ length: n }, () => (ignoreIndex !== undefined && rng.bool(frac) ? ignoreIndex : rng.int(0, C)));
}

function f32s(rng: Rng, n: number, lo: number, hi: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(lo, hi));
}

const dropAt = (s: number[], d: number) => s.filter((_, i) => i !== d);

/**
 * Random cases of every method in one dtype: a few shapes each (kept small and few, so that the GPU compiles
 * few pipelines), random options, gradients with a half gradOutput, int32 and int64 labels.
 */
export function randomHalfCases(rng: Rng, dtype: HalfDtype): RandomCase[] {
  const cases: RandomCase[] = [];
  const add = (op: HalfOp, name: string, input: HalfSpec, target: TargetSpec | undefined, options: Record<string, unknown>) => {
    cases.push({ op, name: `${dtype} ${op} ${name}`, dtype, input, target, options });
  };
  const rowShapes = (): { shape: number[]; dim?: number }[] => [
    { shape: [rng.int(1, 6), rng.int(2, 40)] },
    { shape: [rng.int(1, 4), rng.int(2, 9), rng.int(1, 4)], dim: 1 },
    { shape: [rng.int(1, 3), 2 * rng.int(40, 120)] },
  ];
  const redOf = () => rng.pick(['none', 'mean', 'sum'] as const);
  const gradOpts = (o: Record<string, unknown>, lossShape: number[]) => {
    if (rng.bool(0.7)) {
      o.grad = true;
      if (o.reduction === 'none' && rng.bool(0.7)) o.gradOutput = randHalf(rng, dtype, lossShape, 1.5, 0.02);
    }
    return o;
  };
  const shapeName = (s: number[], o: Record<string, unknown>) =>
    `[${s.join('x')}] ${Object.entries(o).map(([k, v]) => (v && typeof v === 'object' ? k : `${k}=${String(v)}`)).join(' ')}`;

  for (const { shape, dim } of rowShapes()) {
    const d = dim ?? shape.length - 1;
    const opts = dim === undefined ? {} : { dim };
    for (const op of ['softmax', 'logSoftmax'] as const) add(op, shapeName(shape, opts), randHalf(rng, dtype, shape, 3, 0.03), undefined, opts);
    for (const op of ['softmaxBackward', 'logSoftmaxBackward'] as const) {
      add(op, shapeName(shape, opts), randDistribution(rng, dtype, shape, d, op === 'logSoftmaxBackward'),
        randHalf(rng, dtype, shape, 1.5, 0.01), opts);
    }
    const eo: Record<string, unknown> = { ...opts, reduction: rng.pick(['none', 'mean', 'sum']) };
    add('entropy', shapeName(shape, eo), randHalf(rng, dtype, shape, 3, 0.03), undefined, eo);
  }
  for (const shape of [[rng.int(1, 40)], [rng.int(1, 5), rng.int(1, 7), rng.int(1, 5)]]) {
    add('sigmoid', shapeName(shape, {}), randHalf(rng, dtype, shape, 6, 0.05), undefined, {});
  }

  // class-dim losses: (C), (N, C), (N, C, d)
  const classShapes = [[rng.int(2, 9)], [rng.int(1, 7), rng.int(2, 70)], [rng.int(1, 4), rng.int(2, 9), rng.int(1, 4)]];
  for (const shape of classShapes) {
    const cd = shape.length === 1 ? 0 : 1;
    const C = shape[cd];
    const tshape = dropAt(shape, cd);
    const nT = numel(tshape);
    for (const kind of ['index', 'prob'] as const) {
      const o: Record<string, unknown> = { reduction: redOf() };
      if (rng.bool(0.4)) o.weight = f32s(rng, C, 0.2, 2);
      if (rng.bool(0.3)) o.zLoss = 0.01;
      if (rng.bool(0.3)) o.softcap = 4;
      let target: TargetSpec;
      if (kind === 'index') {
        const ignore = rng.bool(0.3) ? -1 : undefined;
        if (ignore !== undefined) o.ignoreIndex = ignore;
        if (rng.bool(0.4)) o.focalGamma = 2;
        else if (rng.bool(0.5)) o.labelSmoothing = 0.1;
        const data = randIndices(rng, nT, C, ignore ?? -100, 0.2);
        if (o.reduction === 'mean' && data.every((t) => t === (ignore ?? -100))) data[0] = 0;
        target = { kind: 'index', dtype: rng.bool() ? 'int64' : 'int32', data, shape: tshape, asTensor: rng.bool() };
      } else {
        if (rng.bool(0.5)) o.labelSmoothing = 0.15;
        target = randDistribution(rng, dtype, shape, cd, false);
      }
      gradOpts(o, tshape);
      add('crossEntropy', `${kind} ${shapeName(shape, o)}`, randHalf(rng, dtype, shape, 2.5, kind === 'index' ? 0.02 : 0), target, o);
    }
    const o: Record<string, unknown> = { reduction: redOf() };
    if (rng.bool(0.5)) o.weight = f32s(rng, C, 0.2, 2);
    if (rng.bool(0.3)) o.ignoreIndex = 0;
    const data = randIndices(rng, nT, C, (o.ignoreIndex as number | undefined) ?? -100, 0.2);
    if (o.reduction === 'mean') data[0] = C - 1; // not every target ignored (C ≥ 2, and the ignored class is 0 or -100)
    gradOpts(o, tshape);
    add('nllLoss', shapeName(shape, o), randDistribution(rng, dtype, shape, cd, true),
      { kind: 'index', dtype: rng.bool() ? 'int64' : 'int32', data, shape: tshape, asTensor: rng.bool() }, o);
  }

  // element-wise losses
  for (const shape of [[rng.int(1, 30)], [rng.int(1, 5), rng.int(1, 9)], [2, rng.int(1, 4), rng.int(1, 5)]]) {
    const L = shape[shape.length - 1];
    let o: Record<string, unknown> = { reduction: redOf() };
    if (rng.bool(0.4)) o.weight = f32s(rng, L, 0.2, 2);
    add('binaryCrossEntropy', shapeName(shape, gradOpts(o, shape)), randUniformHalf(rng, dtype, shape, 0.01, 0.99, 0.1),
      randUniformHalf(rng, dtype, shape, 0, 1, 0.3), o);
    o = { reduction: redOf() };
    if (rng.bool(0.5)) o.posWeight = f32s(rng, rng.bool() ? L : 1, 0.2, 3);
    if (rng.bool(0.4)) o.weight = f32s(rng, L, 0.2, 2);
    add('binaryCrossEntropyWithLogits', shapeName(shape, gradOpts(o, shape)), randHalf(rng, dtype, shape, 4, 0.03),
      randUniformHalf(rng, dtype, shape, 0, 1, 0.3), o);
    o = { reduction: rng.pick(['none', 'mean', 'sum', 'batchmean']) };
    const logTarget = rng.bool();
    if (logTarget) o.logTarget = true;
    const cd = shape.length === 1 ? 0 : 1;
    add('klDiv', shapeName(shape, gradOpts(o, shape)), randDistribution(rng, dtype, shape, cd, true),
      randDistribution(rng, dtype, shape, cd, logTarget), o);
    o = { reduction: redOf() };
    if (rng.bool(0.5)) o.alpha = rng.pick([-1, 0.25, 0.6]);
    if (rng.bool(0.5)) o.gamma = rng.pick([0, 1.5, 2, 5]);
    add('sigmoidFocalLoss', shapeName(shape, gradOpts(o, shape)), randHalf(rng, dtype, shape, 3, 0.02),
      randUniformHalf(rng, dtype, shape, 0, 1, 0.5), o);
  }
  return cases;
}

// ================================================================== comparing results with each other

/** The tensors and numbers of a result, by name. */
export function partsOf(r: unknown): { name: string; value: number | { data: ArrayLike<number>; shape: unknown; dtype?: unknown } }[] {
  if (typeof r === 'number') return [{ name: 'value', value: r }];
  if (r && typeof r === 'object' && 'loss' in r && 'grad' in r) {
    const g = r as { loss: unknown; grad: unknown };
    return [...partsOf(g.loss).map((p) => ({ ...p, name: `loss${p.name === 'value' || p.name === 'tensor' ? '' : `.${p.name}`}` })),
      ...partsOf(g.grad).map((p) => ({ ...p, name: 'grad' }))];
  }
  if (r && typeof r === 'object' && 'data' in r && 'shape' in r) return [{ name: 'tensor', value: r as { data: ArrayLike<number>; shape: unknown } }];
  throw new Error(`unexpected result ${describe(r)}`);
}

function sameF32(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return Object.is(a, b);
}

/**
 * Bit for bit: numbers (NaN = NaN), float32 tensors (NaN = NaN whatever its payload), half tensors (every bit,
 * NaN included unless `nanBits` is false), same shapes and dtypes.
 */
export function identical(a: unknown, b: unknown, halfDtype?: HalfDtype, nanBits = true): string | null {
  const pa = partsOf(a), pb = partsOf(b);
  if (pa.length !== pb.length || pa.some((p, i) => p.name !== pb[i].name)) return `structure ${pa.map((p) => p.name)} != ${pb.map((p) => p.name)}`;
  for (let k = 0; k < pa.length; k++) {
    const x = pa[k].value, y = pb[k].value, name = pa[k].name;
    if (typeof x === 'number' || typeof y === 'number') {
      if (typeof x !== 'number' || typeof y !== 'number') return `${name}: a number and a tensor`;
      if (!sameF32(x, y)) return `${name}: ${fmt(x)} != ${fmt(y)} (${x - y})`;
      continue;
    }
    if (JSON.stringify(x.shape) !== JSON.stringify(y.shape)) return `${name}: shape ${JSON.stringify(x.shape)} != ${JSON.stringify(y.shape)}`;
    const xd = x.data, yd = y.data;
    if (xd.constructor !== yd.constructor) return `${name}: ${describe(xd)} vs ${describe(yd)}`;
    if ((x.dtype ?? 'float32') !== (y.dtype ?? 'float32')) return `${name}: dtype ${String(x.dtype)} vs ${String(y.dtype)}`;
    if (xd.length !== yd.length) return `${name}: ${xd.length} vs ${yd.length} elements`;
    let n = 0, first = -1;
    for (let i = 0; i < xd.length; i++) {
      let same: boolean;
      if (xd instanceof Uint16Array) {
        same = xd[i] === yd[i] || (!nanBits && !!halfDtype && isNanBits(xd[i], halfDtype) && isNanBits(yd[i], halfDtype));
      } else same = sameF32(xd[i], yd[i]);
      if (!same) { n++; if (first < 0) first = i; }
    }
    if (n) {
      const show = (v: number) => (xd instanceof Uint16Array ? `${hex(v)} (${fmt(halfValue(v, halfDtype ?? 'float16'))})` : fmt(v));
      return `${name}: ${n} of ${xd.length} elements differ, first [${first}] ${show(xd[first])} vs ${show(yd[first])}`;
    }
  }
  return null;
}

/**
 * A result in a half dtype against the same result in float32 (the same call with outputDtype 'float32'): every
 * half element must be the float32 value rounded to nearest even (this file's encoder), every NaN canonical.
 */
export function roundedFrom(half: unknown, f32: unknown, dtype: HalfDtype): string | null {
  const ph = partsOf(half), pf = partsOf(f32);
  if (ph.length !== pf.length) return 'structure differs';
  for (let k = 0; k < ph.length; k++) {
    const h = ph[k].value, f = pf[k].value, name = ph[k].name;
    if (typeof h === 'number' || typeof f === 'number') {
      if (typeof h !== 'number' || typeof f !== 'number' || !sameF32(h, f)) return `${name}: the reduced loss depends on outputDtype (${String(h)} vs ${String(f)})`;
      continue;
    }
    if (!(h.data instanceof Uint16Array) || h.dtype !== dtype) return `${name}: not a ${dtype} tensor (${describe(h.data)}, dtype ${String(h.dtype)})`;
    if (!(f.data instanceof Float32Array)) return `${name}: outputDtype float32 gave ${describe(f.data)}`;
    let n = 0, first = -1, want = 0;
    for (let i = 0; i < f.data.length; i++) {
      const b = h.data[i], v = f.data[i];
      const ok = Number.isNaN(v) ? isCanonicalNan(b, dtype) : b === roundToHalf(v, dtype);
      if (!ok) { n++; if (first < 0) { first = i; want = roundToHalf(v, dtype); } }
    }
    if (n) return `${name}: ${n} of ${f.data.length} half elements are not the float32 result rounded to nearest even; first [${first}]: ${hex(h.data[first])} for float32 ${fmt(f.data[first])} (expected ${hex(want)})`;
  }
  return null;
}

/**
 * GPU against the CPU oracle on a half result: float32 tensors and numbers within rtol·max(1, |cpu|) (NaN and ±inf
 * at the same places), half tensors within one half ulp or within rtol of each other's decoded value.
 */
export function closeHalf(gpu: unknown, cpu: unknown, dtype: HalfDtype, rtol = 1e-5): string | null {
  const pa = partsOf(gpu), pb = partsOf(cpu);
  if (pa.length !== pb.length || pa.some((p, i) => p.name !== pb[i].name)) return `structure ${pa.map((p) => p.name)} != ${pb.map((p) => p.name)}`;
  const close = (x: number, y: number) => {
    if (Number.isNaN(y)) return Number.isNaN(x);
    if (!Number.isFinite(y)) return x === y;
    return Number.isFinite(x) && Math.abs(x - y) <= rtol * Math.max(1, Math.abs(y));
  };
  for (let k = 0; k < pa.length; k++) {
    const x = pa[k].value, y = pb[k].value, name = pa[k].name;
    if (typeof x === 'number' || typeof y === 'number') {
      if (typeof x !== 'number' || typeof y !== 'number' || !close(x, y)) return `${name}: gpu ${String(x)} vs cpu ${String(y)}`;
      continue;
    }
    if (JSON.stringify(x.shape) !== JSON.stringify(y.shape)) return `${name}: shape ${JSON.stringify(x.shape)} != ${JSON.stringify(y.shape)}`;
    if (x.data.constructor !== y.data.constructor || (x.dtype ?? 'float32') !== (y.dtype ?? 'float32')) return `${name}: ${describe(x.data)} ${String(x.dtype)} vs ${describe(y.data)} ${String(y.dtype)}`;
    let n = 0, first = -1;
    for (let i = 0; i < y.data.length; i++) {
      let ok: boolean;
      if (x.data instanceof Uint16Array) {
        ok = ulpDistance(x.data[i], y.data[i], dtype) <= 1 || close(halfValue(x.data[i], dtype), halfValue(y.data[i], dtype));
      } else ok = close(x.data[i], y.data[i]);
      if (!ok) { n++; if (first < 0) first = i; }
    }
    if (n) {
      const show = (v: number) => (x.data instanceof Uint16Array ? `${hex(v)} (${fmt(halfValue(v, dtype))})` : fmt(v));
      return `${name}: ${n} of ${y.data.length} differ, first [${first}] gpu ${show(x.data[first])} vs cpu ${show(y.data[first])}`;
    }
  }
  return null;
}

/**
 * The strong test of one random case on one backend: a half input gives exactly what the float32 input holding
 * the decoded values gives, (1) in float32 (outputDtype 'float32' against the float32 input's default), (2) in the
 * half dtype (the half input's default against the float32 input with outputDtype = the dtype), and (3) the half
 * outputs are the float32 ones rounded to nearest even. Returns the half input's two results for further checks.
 */
export async function strongCheck(losses: Losses, c: RandomCase, failures: string[], label: string): Promise<{ f32?: unknown; half?: unknown }> {
  const res: { f32?: unknown; half?: unknown } = {};
  const run = async (mode: Mode, extra: Record<string, unknown>): Promise<unknown> => {
    try {
      return await callOp(losses, c.op, argsOf(c, mode), extra);
    } catch (e) {
      failures.push(`${label} ${c.name} (${mode} input, ${JSON.stringify(extra)}): rejected: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      return undefined;
    }
  };
  const tensors = hasTensorResult(c.op, c.options);
  const halfF32 = await run('half', tensors ? { outputDtype: 'float32' } : {});
  const plain = await run('float32', {});
  res.f32 = halfF32;
  if (halfF32 !== undefined && plain !== undefined) {
    const d = identical(halfF32, plain);
    if (d) failures.push(`${label} ${c.name}: half input (outputDtype float32) != float32 input of the decoded values: ${d}`);
  }
  if (!tensors) return res;
  const half = await run('half', {});
  const plainHalf = await run('float32', { outputDtype: c.dtype });
  res.half = half;
  if (half !== undefined && plainHalf !== undefined) {
    const d = identical(half, plainHalf, c.dtype, false); // NaN = NaN (a NaN's sign may follow its payload); roundedFrom checks the encoding
    if (d) failures.push(`${label} ${c.name}: half input != float32 input of the decoded values with outputDtype ${c.dtype}: ${d}`);
  }
  if (half !== undefined && halfF32 !== undefined) {
    const d = roundedFrom(half, halfF32, c.dtype);
    if (d) failures.push(`${label} ${c.name}: ${d}`);
  }
  return res;
}
