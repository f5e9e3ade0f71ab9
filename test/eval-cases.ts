/**
 * The streaming evaluator's tests (issue 13), shared by test/cpu/evaluator.test.ts and test/gpu/evaluator.test.ts:
 *
 * - the digits fixture (test/fixtures/eval, scripts/eval-fixtures.py): small readers of .npy and .safetensors written
 *   here from the formats' specifications (never the library's CLI readers, which are code under test);
 * - this file's own float16 encoder and decoder (IEEE 754 binary16, round to nearest even), for half batches;
 * - random batches (seeded) whose rows are never ambiguous for a float32 computation: a confidence within 1e-5
 *   (relative) of a calibration bin edge, or a binary logit within 1e-5 of 0 but not 0, is redrawn, so bins and
 *   predictions must agree exactly with the float64 reference (test/eval-reference.ts);
 * - comparisons (the exact key set, `rows` and `count` exact, every other metric within a relative tolerance)
 *   and `defineEvaluatorSuite`, the tests both backends run.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { LossError } from '../src/index.js';
import type { EvaluationResult, EvaluatorOptions, Losses, TensorInput } from '../src/index.js';
import { classRow, evaluateReference, metricKeys, sigmoid64 } from './eval-reference.js';
import type { EvalRefBatch, EvalRefOptions } from './eval-reference.js';
import { Rng } from './rng.js';

/**
 * The tolerance of every metric against float64 and between backends (issue 13): 1e-6 relative, with two metrics
 * measured on the scale their float32 error actually has (compareMetrics):
 * - perplexity = exp(crossEntropy): a crossEntropy within 1e-6 relative moves it by up to 1e-6·crossEntropy
 *   relative, so that is its tolerance (1e-6·max(1, crossEntropy)·perplexity);
 * - ece = Σ_b (n_b / count)·|acc_b − conf_b| subtracts two float32-accumulated means of size ~1: its error is
 *   ~1e-7·(mean confidence) however small ece is, so its tolerance is 1e-6·max(ece, mean confidence) (the
 *   reference's non-enumerable `meanConfidence`). Plain 1e-6·ece fails on SwiftShader for a single bin
 *   (B = 1: ece 0.0089, off by 1.5e-8).
 */
export const METRIC_REL = 1e-6;
/** Per-row float32 losses against float64: docs/ARCHITECTURE.md's loss tolerance, 2e-5·max(1, |ref|). */
export const ROW_TOL = 2e-5;
const MARGIN = 1e-5;

// ================================================================== float16, by hand

/** Rounds a double to the nearest integer, ties to even. */
function roundEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** IEEE binary16 bits of a double (round to nearest even; overflow to ±inf; NaN → 0x7e00 with the sign). */
export function f16Bits(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === Infinity) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | roundEven(a * 2 ** 24); // subnormal: units of 2^-24 (1024 is the smallest normal, 0x0400)
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  let q = roundEven((a / 2 ** e - 1) * 1024);
  if (q === 1024) {
    q = 0;
    e++;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | q;
}

/** The value of binary16 bits. */
export function f16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 31) return m ? NaN : sign * Infinity;
  if (e === 0) return sign * m * 2 ** -24;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

export function encodeF16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f16Bits(values[i]);
  return out;
}

export function decodeF16(bits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = f16Value(bits[i]);
  return out;
}

// ================================================================== .npy and .safetensors, by hand

export type RawArray = Float32Array | Uint16Array | Int32Array | BigInt64Array;
export interface RawTensor {
  dtype: 'float32' | 'float16' | 'bfloat16' | 'int32' | 'int64';
  shape: number[];
  data: RawArray;
}

function typed(dtype: RawTensor['dtype'], bytes: Uint8Array): RawArray {
  const buf = bytes.slice().buffer; // aligned copy
  switch (dtype) {
    case 'float32': return new Float32Array(buf);
    case 'float16': case 'bfloat16': return new Uint16Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'int64': return new BigInt64Array(buf);
  }
}

const NPY_DTYPES: Record<string, RawTensor['dtype']> = { '<f4': 'float32', '<f2': 'float16', '<i4': 'int32', '<i8': 'int64' };

/** NumPy's .npy (format 1.0–3.0, little-endian, C order): magic, version, header length, a dict literal, data. */
export function readNpy(bytes: Uint8Array): RawTensor {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (!magic.every((b, i) => bytes[i] === b)) throw new Error('npy: bad magic');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !(descr in NPY_DTYPES) || fortran !== 'False' || shapeText === undefined) throw new Error(`npy: unsupported header ${header}`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const dtype = NPY_DTYPES[descr];
  const width = dtype === 'int64' ? 8 : dtype === 'float16' ? 2 : 4;
  const n = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  if (bytes.byteLength !== dataStart + n * width) throw new Error(`npy: ${bytes.byteLength - dataStart} data bytes for ${n} elements`);
  return { dtype, shape, data: typed(dtype, bytes.subarray(dataStart)) };
}

const ST_DTYPES: Record<string, RawTensor['dtype']> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', I32: 'int32', I64: 'int64' };

/** safetensors: an 8-byte little-endian header size, a JSON header {name: {dtype, shape, data_offsets}}, the data. */
export function readSafetensors(bytes: Uint8Array): Record<string, RawTensor> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + len;
  const out: Record<string, RawTensor> = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const dtype = ST_DTYPES[t.dtype];
    if (!dtype) throw new Error(`safetensors: dtype ${t.dtype}`);
    const [a, b] = t.data_offsets;
    out[name] = { dtype, shape: t.shape, data: typed(dtype, bytes.subarray(base + a, base + b)) };
  }
  return out;
}

// ================================================================== the digits fixture

export interface DigitsFixture {
  rows: number;
  classes: number;
  logits: Float32Array;
  labels: BigInt64Array;
  f16: Uint16Array;
  safetensors: Record<string, RawTensor>;
  json: {
    rows: number;
    classes: number;
    topK: number[];
    calibrationBins: number;
    float16Ties: number;
    sklearn: { log_loss: number; accuracy_score: number; top_k_accuracy_score_k3: number; top_k_accuracy_score_k5: number };
    float32: Record<string, number>;
    float16: Record<string, number>;
    binary: { logits: number[]; labels: number[]; metrics: Record<string, number> };
  };
}

const FIXTURES = fileURLToPath(new URL('./fixtures/eval/', import.meta.url));

export function loadDigits(): DigitsFixture {
  const file = (name: string) => new Uint8Array(readFileSync(FIXTURES + name));
  const logits = readNpy(file('digits-logits.npy'));
  const labels = readNpy(file('digits-labels.npy'));
  const f16 = readNpy(file('digits-logits-f16.npy'));
  const json = JSON.parse(readFileSync(FIXTURES + 'digits.json', 'utf8')) as DigitsFixture['json'];
  if (logits.dtype !== 'float32' || labels.dtype !== 'int64' || f16.dtype !== 'float16') throw new Error('digits: unexpected dtypes');
  if (logits.shape.join() !== `${json.rows},${json.classes}` || labels.shape.join() !== `${json.rows}` || f16.shape.join() !== logits.shape.join()) {
    throw new Error('digits: unexpected shapes');
  }
  return {
    rows: json.rows, classes: json.classes, json,
    logits: logits.data as Float32Array, labels: labels.data as BigInt64Array, f16: f16.data as Uint16Array,
    safetensors: readSafetensors(file('digits.safetensors')),
  };
}

// ================================================================== random batches

export interface Batch {
  /** float32 values (the decoded values for a half batch). */
  logits: Float32Array;
  /** float16 bits, for a half batch. */
  bits?: Uint16Array;
  shape: number[];
  labels: Int32Array;
}

export interface BatchSpec {
  n: number;
  C: number;
  /** Trailing dims d1…dk (K-dim input). */
  dims?: number[];
  std?: number;
  ignoreIndex?: number;
  ignoreFrac?: number;
  /** Fraction of non-target logits set to -inf. */
  negInf?: number;
  /** Fraction of rows with an exact tie planted (with the target, or at the top). */
  ties?: number;
  /** Fraction of rows whose label is the argmax (so accuracy and calibration mean something). */
  agree?: number;
  /** Added to every logit (a common offset changes no metric). */
  offset?: number;
  /** The target is the argmax, raised by a margin drawn from [lo, hi) (confident rows, small losses). */
  confident?: [number, number];
  /** Round every logit to float16 (and keep the bits). */
  half?: boolean;
  /** Bin counts whose edges a row's confidence must keep away from. */
  bins?: readonly number[];
}

const round = (v: number, half: boolean) => (half ? f16Value(f16Bits(v)) : Math.fround(v));

/** Row-major logits (N, C, dims…) and labels (N, dims…); ambiguous rows are redrawn. */
export function randomBatch(rng: Rng, s: BatchSpec): Batch {
  const dims = s.dims ?? [];
  const inner = dims.reduce((a, b) => a * b, 1);
  const { n, C } = s;
  const std = s.std ?? 3;
  const bins = s.bins ?? [15];
  const half = !!s.half;
  const logits = new Float32Array(n * C * inner);
  const labels = new Int32Array(n * inner);
  const x = new Float64Array(C);
  for (let o = 0; o < n; o++) {
    for (let i = 0; i < inner; i++) {
      const r = o * inner + i;
      const ignored = s.ignoreIndex !== undefined && !!s.ignoreFrac && rng.bool(s.ignoreFrac);
      for (let attempt = 0; ; attempt++) {
        if (attempt > 200) throw new Error('randomBatch: cannot draw an unambiguous row');
        for (let c = 0; c < C; c++) x[c] = round((s.offset ?? 0) + rng.normal(0, std), half);
        let t = rng.int(0, C);
        if (s.confident) {
          let best = 0;
          for (let c = 1; c < C; c++) if (x[c] > x[best]) best = c;
          t = best;
          x[t] = round(x[t] + rng.uniform(s.confident[0], s.confident[1]), half);
        }
        if (s.agree && rng.bool(s.agree)) {
          let best = 0;
          for (let c = 1; c < C; c++) if (x[c] > x[best]) best = c;
          t = best;
        }
        if (s.ties && C > 1 && rng.bool(s.ties)) {
          let c = rng.int(0, C - 1);
          if (c >= t) c++;
          if (rng.bool()) x[c] = x[t]; // the target ties with another class
          else {
            let best = 0;
            for (let k = 1; k < C; k++) if (x[k] > x[best]) best = k;
            x[c === best ? t : c] = x[best]; // a tie at the top
          }
        }
        if (s.negInf) for (let c = 0; c < C; c++) if (c !== t && rng.bool(s.negInf)) x[c] = -Infinity;
        const row = classRow(x, t);
        if (!ignored && nearEdge(row.conf, bins)) continue;
        for (let c = 0; c < C; c++) logits[(o * C + c) * inner + i] = x[c];
        labels[r] = ignored ? s.ignoreIndex! : t;
        break;
      }
    }
  }
  const b: Batch = { logits, shape: [n, C, ...dims], labels };
  if (half) {
    b.bits = encodeF16(logits);
    if (!decodeF16(b.bits).every((v, i) => Object.is(v, logits[i]))) throw new Error('randomBatch: the float16 codec does not round-trip');
  }
  return b;
}

function nearEdge(conf: number, bins: readonly number[]): boolean {
  for (const B of bins) {
    const v = conf * B;
    const r = Math.round(v);
    if (r >= 1 && r <= B - 1 && Math.abs(v - r) <= MARGIN * r) return true;
  }
  return false;
}

export interface BinaryBatch {
  logits: Float32Array;
  shape: number[];
  /** Float32Array of 0/1, or Int32Array (which may hold ignoreIndex). */
  labels: Float32Array | Int32Array;
}

/** Binary logits (N) or (N, 1), labels ~ Bernoulli(σ(z)); some logits exactly 0 (p = 0.5, predicted 1); ambiguous rows redrawn. */
export function randomBinary(rng: Rng, n: number, o: { column?: boolean; intLabels?: boolean; ignoreIndex?: number; ignoreFrac?: number; zeros?: number; std?: number; agree?: boolean; bins?: readonly number[] } = {}): BinaryBatch {
  const logits = new Float32Array(n);
  const labels = o.intLabels ? new Int32Array(n) : new Float32Array(n);
  const bins = o.bins ?? [15];
  for (let r = 0; r < n; r++) {
    for (;;) {
      const z = o.zeros && rng.bool(o.zeros) ? 0 : Math.fround(rng.normal(0, o.std ?? 3));
      if (z !== 0 && Math.abs(z) <= MARGIN) continue;
      if (nearEdge(sigmoid64(Math.abs(z)), bins)) continue;
      logits[r] = z;
      labels[r] = o.agree ? (z >= 0 ? 1 : 0) : rng.bool(sigmoid64(z)) ? 1 : 0;
      break;
    }
    if (o.intLabels && o.ignoreIndex !== undefined && o.ignoreFrac && rng.bool(o.ignoreFrac)) labels[r] = o.ignoreIndex;
  }
  return { logits, shape: o.column ? [n, 1] : [n], labels };
}

// ================================================================== feeding and comparing

export function refBatch(b: Batch | BinaryBatch): EvalRefBatch {
  return { logits: b.logits, shape: b.shape, labels: b.labels };
}

/** The batch as the library takes it: float32 { data, shape }, or float16 bits when `half`. */
export function logitsInput(b: Batch | BinaryBatch, half = false): TensorInput {
  if (half) {
    const bits = 'bits' in b && b.bits ? b.bits : encodeF16(b.logits);
    return { data: bits, shape: b.shape, dtype: 'float16' };
  }
  return { data: b.logits, shape: b.shape };
}

/** Labels in several forms: a bare Int32Array, a BigInt64Array, or { data, shape }. */
export function labelsInput(b: Batch, form: 'int32' | 'int64' | 'tensor32' | 'tensor64' = 'int32') {
  const shape = b.shape.filter((_, k) => k !== 1);
  const big = () => BigInt64Array.from(b.labels, (v) => BigInt(v));
  switch (form) {
    case 'int32': return b.labels;
    case 'int64': return big();
    case 'tensor32': return { data: b.labels, shape };
    case 'tensor64': return { data: big(), shape };
  }
}

export async function evaluate(losses: Losses, batches: readonly (Batch | BinaryBatch)[], options: EvaluatorOptions = {}, half = false): Promise<EvaluationResult> {
  const ev = losses.evaluator(options);
  try {
    for (const b of batches) await ev.add(logitsInput(b, half), b.labels);
    return await ev.result();
  } finally {
    ev.dispose();
  }
}

/**
 * Failure lines: keys differ, rows/count differ, or a metric is off by more than `rel`·scale, where the scale is
 * |want|, except perplexity (|want|·max(1, want.crossEntropy)) and ece (max(|want|, want.meanConfidence) when `want`
 * carries the reference's non-enumerable meanConfidence); see METRIC_REL.
 */
export function compareMetrics(got: Record<string, number>, want: Record<string, number>, rel: number, keys?: readonly string[], label = ''): string[] {
  const out: string[] = [];
  const wantKeys = [...(keys ?? Object.keys(want))].sort();
  const gotKeys = Object.keys(got).sort();
  if (wantKeys.join() !== gotKeys.join()) out.push(`${label}keys ${JSON.stringify(gotKeys)}, expected ${JSON.stringify(wantKeys)}`);
  for (const k of wantKeys) {
    if (!(k in want)) continue;
    const g = got[k], w = want[k];
    if (typeof g !== 'number') {
      out.push(`${label}${k}: ${String(g)} is not a number`);
      continue;
    }
    if (k === 'rows' || k === 'count') {
      if (g !== w) out.push(`${label}${k}: ${g}, expected ${w}`);
      continue;
    }
    let scale = Math.abs(w);
    if (k === 'perplexity' && Number.isFinite(want.crossEntropy)) scale *= Math.max(1, Math.abs(want.crossEntropy));
    const conf = (want as { meanConfidence?: number }).meanConfidence;
    if (k === 'ece' && conf !== undefined && conf > scale) scale = conf;
    if (Number.isNaN(w) ? Number.isNaN(g) : !Number.isFinite(w) ? g === w : Math.abs(g - w) <= rel * scale) continue;
    out.push(`${label}${k}: ${g}, expected ${w} (relative error ${(Math.abs(g - w) / Math.abs(w)).toExponential(2)}, tolerance ${rel} of ${scale})`);
  }
  return out;
}

/** `metrics` with the ece error scale of `scaleFrom` (a reference result's metrics) attached. */
export function withScale<T extends Record<string, number>>(metrics: T, scaleFrom: Record<string, number>): T {
  const conf = (scaleFrom as { meanConfidence?: number }).meanConfidence;
  const out = { ...metrics };
  if (conf !== undefined) Object.defineProperty(out, 'meanConfidence', { value: conf, enumerable: false });
  return out;
}

export function expectMetrics(got: Record<string, number>, want: Record<string, number>, rel: number, keys?: readonly string[], label = ''): void {
  const f = compareMetrics(got, want, rel, keys, label);
  if (f.length) throw new Error(`${f.length} metric(s) differ:\n${f.join('\n')}\ngot ${JSON.stringify(got)}\nwant ${JSON.stringify(want)}`);
}

/** Bitwise equal results (same keys, Object.is on every value). */
export function expectSameBits(a: Record<string, number>, b: Record<string, number>, label = ''): void {
  const ka = Object.keys(a).sort().join(), kb = Object.keys(b).sort().join();
  if (ka !== kb) throw new Error(`${label}: keys differ: ${ka} vs ${kb}`);
  const f: string[] = [];
  for (const k of Object.keys(a)) if (!Object.is(a[k], b[k])) f.push(`${k}: ${a[k]} vs ${b[k]}`);
  if (f.length) throw new Error(`${label}: not bitwise equal:\n${f.join('\n')}`);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => null, (e: unknown) => e);
}

/** The add rejects with a LossError naming the batch (its 0-based index among adds) and, when given, the row. */
export async function expectBatchError(p: Promise<unknown>, batch: number, row?: number, what?: RegExp): Promise<string> {
  const err = await rejection(p);
  expect(err, `batch ${batch}: expected a rejection`).toBeInstanceOf(LossError);
  const msg = (err as Error).message;
  expect(msg, 'names the batch').toMatch(new RegExp(`\\bbatch\\b\\D{0,4}${batch}(?!\\d)`, 'i'));
  if (row !== undefined) expect(msg, 'names the row').toMatch(new RegExp(`\\brow\\b\\D{0,4}${row}(?!\\d)`, 'i'));
  if (what) expect(msg).toMatch(what);
  return msg;
}

// ================================================================== the suite both backends run

export interface SuiteContext {
  seed: number;
  losses: () => Losses;
  /** Label in failure messages. */
  name: string;
}

/** Registers a test with its own generator; failures carry the seed. */
export function seeded(ctx: SuiteContext, name: string, body: (rng: Rng) => Promise<void>): void {
  it(name, async () => {
    try {
      await body(Rng.for(ctx.seed, name));
    } catch (err) {
      if (err instanceof Error) err.message = `SEED=${ctx.seed} [${ctx.name}: ${name}]: ${err.message}`;
      throw err;
    }
  });
}

export function reference(batches: readonly (Batch | BinaryBatch)[], options: EvalRefOptions = {}) {
  const r = evaluateReference(batches.map(refBatch), options);
  if (r.ambiguous) throw new Error(`test bug: ${r.ambiguous} ambiguous rows in a random case`);
  return r;
}

/** Batches of `sizes` rows cut from one (N, C) tensor. */
export function sliceRows(logits: Float32Array | Uint16Array, labels: ArrayLike<number | bigint>, C: number, sizes: readonly number[]) {
  const out: { logits: Float32Array | Uint16Array; labels: (number | bigint)[]; n: number }[] = [];
  let at = 0;
  for (const n of sizes) {
    out.push({ logits: logits.slice(at * C, (at + n) * C), labels: Array.from(labels).slice(at, at + n), n });
    at += n;
  }
  if (at !== labels.length) throw new Error('sliceRows: sizes do not cover the rows');
  return out;
}

export function defineEvaluatorSuite(ctx: SuiteContext): void {
  const L = () => ctx.losses();

  // ---------------------------------------------------------------- the digits fixture
  const digits = loadDigits();
  const N = digits.rows, C = digits.classes;
  const labels32 = Int32Array.from(digits.labels, (v) => Number(v));
  const digitsRef = evaluateReference([{ logits: digits.logits, shape: [N, C], labels: digits.labels }], { topK: [3, 5] });

  it('digits: scikit-learn log_loss, accuracy_score, top_k_accuracy_score (k 3, 5) and the float64 metrics', async () => {
    const ev = L().evaluator({ topK: [3, 5] });
    expect(await ev.add({ data: digits.logits, shape: [N, C] }, digits.labels)).toBeUndefined();
    const m = await ev.result();
    ev.dispose();
    const sk = digits.json.sklearn;
    expectMetrics(m, { rows: N, count: N, crossEntropy: sk.log_loss, accuracy: sk.accuracy_score, top3: sk.top_k_accuracy_score_k3, top5: sk.top_k_accuracy_score_k5 },
      METRIC_REL, metricKeys({ topK: [3, 5] }), 'vs scikit-learn: ');
    expectMetrics(m, digitsRef.metrics, METRIC_REL, undefined, 'vs the float64 reference: ');
    const { ece10: _, ...py } = digits.json.float32;
    expectMetrics(m, withScale({ rows: N, count: N, ...py }, digitsRef.metrics), METRIC_REL, undefined, 'vs numpy float64: ');
  });

  it('digits: 10 calibration bins, Int32Array labels, uneven batches', async () => {
    const ref10 = evaluateReference([{ logits: digits.logits, shape: [N, C], labels: digits.labels }], { calibrationBins: 10 });
    const ev = L().evaluator({ calibrationBins: 10 });
    for (const b of sliceRows(digits.logits, labels32, C, [1, 128, 7, 500, 263])) {
      await ev.add({ data: b.logits as Float32Array, shape: [b.n, C] }, Int32Array.from(b.labels as number[]));
    }
    const m = await ev.result();
    ev.dispose();
    expectMetrics(m, ref10.metrics, METRIC_REL);
    expectMetrics({ ece: m.ece }, withScale({ ece: digits.json.float32.ece10 }, ref10.metrics), METRIC_REL, undefined, 'vs numpy float64: ');
  });

  it('digits: the float16 file (with its exact ties) against float64 and bitwise against its float32 decoding', async () => {
    const decoded = decodeF16(digits.f16);
    const ref16 = evaluateReference([{ logits: decoded, shape: [N, C], labels: digits.labels }], { topK: [3, 5] });
    expect(ref16.ambiguous).toBe(0);
    const { ece10: _, ...py } = digits.json.float16;
    expectMetrics(ref16.metrics, { rows: N, count: N, ...py }, 1e-12, undefined, 'TS vs numpy reference: ');
    const opts = { topK: [3, 5] };
    const half = L().evaluator(opts), full = L().evaluator(opts);
    await half.add({ data: digits.f16, shape: [N, C], dtype: 'float16' }, digits.labels);
    await full.add({ data: decoded, shape: [N, C] }, digits.labels);
    const mh = await half.result(), mf = await full.result();
    half.dispose();
    full.dispose();
    expectMetrics(mh, ref16.metrics, METRIC_REL);
    expectSameBits(mh, mf, 'float16 vs its decoded float32');
  });

  it('digits: the .safetensors file holds the .npy data and gives the same result', async () => {
    const st = digits.safetensors;
    expect(st.logits.dtype).toBe('float32');
    expect(st.logits.shape).toEqual([N, C]);
    expect(st.labels.dtype).toBe('int64');
    expect(st.labels.shape).toEqual([N]);
    expect(Buffer.from((st.logits.data as Float32Array).buffer).equals(Buffer.from(digits.logits.buffer))).toBe(true);
    expect(Array.from(st.labels.data as BigInt64Array)).toEqual(Array.from(digits.labels));
    const a = L().evaluator({ topK: [3, 5] }), b = L().evaluator({ topK: [3, 5] });
    await a.add({ data: st.logits.data as Float32Array, shape: st.logits.shape }, { data: st.labels.data as BigInt64Array, shape: st.labels.shape });
    await b.add({ data: digits.logits, shape: [N, C] }, labels32);
    expectSameBits(await a.result(), await b.result(), 'safetensors (int64 tensor labels) vs npy (int32 labels)');
    a.dispose();
    b.dispose();
  });

  it('digits, binary (digit 0 against the rest): Float32Array and Int32Array labels, (N) and (N, 1)', async () => {
    const bj = digits.json.binary;
    const z = new Float32Array(bj.logits);
    expect(Array.from(z)).toEqual(bj.logits); // float32 values, exactly
    const ref = evaluateReference([{ logits: z, shape: [z.length], labels: bj.labels }], { binary: true });
    expect(ref.ambiguous).toBe(0);
    expectMetrics(ref.metrics, { rows: z.length, count: z.length, bce: bj.metrics.bce, accuracy: bj.metrics.accuracy, ece: bj.metrics.ece, brier: bj.metrics.brier }, 1e-12, undefined, 'TS vs numpy reference: ');
    const results: EvaluationResult[] = [];
    for (const [shape, lab] of [[[z.length], new Float32Array(bj.labels)], [[z.length, 1], Int32Array.from(bj.labels)]] as const) {
      const ev = L().evaluator({ binary: true });
      await ev.add({ data: z, shape }, lab);
      const m = await ev.result();
      ev.dispose();
      expectMetrics(m, ref.metrics, METRIC_REL, metricKeys({ binary: true }), `shape (${shape.join(', ')}): `);
      results.push(m);
    }
    expectSameBits(results[0], results[1], 'binary (N) float labels vs (N, 1) int labels');
  });

  // ---------------------------------------------------------------- random inputs

  seeded(ctx, 'random: several batches of different sizes, ignored rows, top-k, both C regimes', async (rng) => {
    for (const Cr of [7, 10, 100, 1000]) {
      const opts = { ignoreIndex: -1, topK: [2, 5, 20] };
      const sizes = [1, rng.int(2, 40), rng.int(100, 400), 3, rng.int(20, 200)];
      const batches = sizes.map((n) => randomBatch(rng, { n, C: Cr, ignoreIndex: -1, ignoreFrac: 0.2, agree: 0.5, ties: 0.05 }));
      const ref = reference(batches, opts);
      const m = await evaluate(L(), batches, opts);
      expectMetrics(m, ref.metrics, METRIC_REL, metricKeys(opts), `C=${Cr}: `);
      if (Cr <= 20) expect(m.top20, 'k ≥ C: every row counts').toBe(1);
    }
  });

  seeded(ctx, 'random: the default ignoreIndex (-100), calibrationBins 1, 2, 7, 100', async (rng) => {
    for (const B of [1, 2, 7, 100]) {
      const batches = [200, 57].map((n) => randomBatch(rng, { n, C: 12, ignoreIndex: -100, ignoreFrac: 0.1, agree: 0.6, bins: [B] }));
      const opts = { calibrationBins: B };
      expectMetrics(await evaluate(L(), batches, opts), reference(batches, opts).metrics, METRIC_REL, metricKeys(opts), `B=${B}: `);
    }
  });

  seeded(ctx, 'random: K-dim inputs (N, C, d1) and (N, C, d1, d2), batches of different trailing dims', async (rng) => {
    const C = 9;
    const batches = [
      randomBatch(rng, { n: 3, C, dims: [17], ignoreIndex: -100, ignoreFrac: 0.15, agree: 0.5 }),
      randomBatch(rng, { n: 2, C, dims: [5, 11], ignoreIndex: -100, ignoreFrac: 0.15, agree: 0.5, ties: 0.1 }),
      randomBatch(rng, { n: 40, C, ignoreIndex: -100, ignoreFrac: 0.15, agree: 0.5 }),
      randomBatch(rng, { n: 1, C, dims: [64], agree: 0.5 }),
    ];
    const opts = { topK: [3] };
    const ref = reference(batches, opts);
    expectMetrics(await evaluate(L(), batches, opts), ref.metrics, METRIC_REL, metricKeys(opts));
    // K-dim rows against the same rows laid out as (rows, C)
    const flat = batches.map((b) => {
      const [n, Cb, ...d] = b.shape;
      const inner = d.reduce((a, c) => a * c, 1);
      const x = new Float32Array(b.logits.length);
      for (let o = 0; o < n; o++) for (let c = 0; c < Cb; c++) for (let i = 0; i < inner; i++) x[(o * inner + i) * Cb + c] = b.logits[(o * Cb + c) * inner + i];
      return { logits: x, shape: [n * inner, Cb], labels: b.labels };
    });
    expectMetrics(await evaluate(L(), flat, opts), ref.metrics, METRIC_REL, metricKeys(opts), 'flattened: ');
  });

  seeded(ctx, 'numerics: logits with a large common offset (+30, +100): the float64 metrics within 1e-6', async (rng) => {
    const opts = { topK: [2] };
    for (const offset of [30, 100]) {
      const batches = [randomBatch(rng, { n: 2000, C: 32, agree: 0.7, offset })];
      expectMetrics(await evaluate(L(), batches, opts), reference(batches, opts).metrics, METRIC_REL, metricKeys(opts), `offset ${offset}: `);
    }
  });

  seeded(ctx, 'numerics: confident rows (target margin 5 to 20, small losses): the float64 metrics within 1e-6', async (rng) => {
    const opts = { topK: [2] };
    for (const [C, std] of [[10, 3], [100, 1]]) {
      const batches = [randomBatch(rng, { n: 2000, C, confident: [5, 20], std })];
      expectMetrics(await evaluate(L(), batches, opts), reference(batches, opts).metrics, METRIC_REL, metricKeys(opts), `C=${C}: `);
    }
  });

  seeded(ctx, 'numerics: binary, confident rows (|z| up to ~50, small losses): the float64 metrics within 1e-6', async (rng) => {
    const opts = { binary: true };
    const calibrated = [randomBinary(rng, 2000, { std: 15 })]; // labels ~ Bernoulli(σ(z))
    expectMetrics(await evaluate(L(), calibrated, opts), reference(calibrated, opts).metrics, METRIC_REL, metricKeys(opts), 'labels drawn: ');
    const right = [randomBinary(rng, 2000, { std: 15, agree: true })]; // every prediction right: every loss small
    expectMetrics(await evaluate(L(), right, opts), reference(right, opts).metrics, METRIC_REL, metricKeys(opts), 'labels = predictions: ');
  });

  it('ties: the lower class index ranks first (hand-made rows)', async () => {
    // rows (C = 4), target, rank by the rule #{x_c > x_t} + #{c < t: x_c = x_t}
    const rows: [number[], number, number][] = [
      [[1, 3, 3, 0], 1, 0],
      [[1, 3, 3, 0], 2, 1],
      [[2, 2, 2, 2], 0, 0],
      [[2, 2, 2, 2], 3, 3],
      [[5, -1, 5, 5], 3, 2],
      [[0, 7, -Infinity, 7], 3, 1],
      [[-Infinity, 0.5, 0.5, -Infinity], 2, 1],
      [[4, 4, 1, 9], 1, 2],
    ];
    const logits = new Float32Array(rows.flatMap((r) => r[0]));
    const labels = Int32Array.from(rows, (r) => r[1]);
    const ref = evaluateReference([{ logits, shape: [rows.length, 4], labels }], { topK: [2, 3], calibrationBins: 7 });
    expect(Array.from(ref.perBatch[0].rank)).toEqual(rows.map((r) => r[2]));
    const ev = L().evaluator({ topK: [2, 3], calibrationBins: 7 });
    const per = await ev.add({ data: logits, shape: [rows.length, 4] }, labels, { perRow: true });
    const m = await ev.result();
    ev.dispose();
    expect(m.accuracy).toBe(2 / 8);
    expect(m.top2).toBe(5 / 8);
    expect(m.top3).toBe(7 / 8);
    expectMetrics(m, ref.metrics, METRIC_REL);
    expect(per, 'perRow result').toBeDefined();
    expect(Array.from(per!.rank.shape)).toEqual([rows.length]);
    expect(Array.from((per!.rank as { data: Int32Array }).data)).toEqual(rows.map((r) => r[2]));
  });

  seeded(ctx, 'ties: random exact ties (planted, and from float16 rounding)', async (rng) => {
    const opts = { topK: [2, 3] };
    for (const [C, std] of [[6, 3], [40, 1]]) {
      const batches = [randomBatch(rng, { n: 300, C, ties: 0.5, agree: 0.5, std }), randomBatch(rng, { n: 41, C, ties: 0.5, half: true, std })];
      expectMetrics(await evaluate(L(), batches, opts), reference(batches, opts).metrics, METRIC_REL, metricKeys(opts), `C=${C}: `);
    }
  });

  seeded(ctx, '-inf logits: probability 0 (finite metrics); a target at -inf makes crossEntropy and perplexity +inf', async (rng) => {
    const opts = { topK: [3] };
    const wide = [randomBatch(rng, { n: 30, C: 300, negInf: 0.6, agree: 0.5 }), randomBatch(rng, { n: 9, C: 300, negInf: 0.99, agree: 0.5 })];
    const mw = await evaluate(L(), wide, opts);
    expectMetrics(mw, reference(wide, opts).metrics, METRIC_REL, metricKeys(opts), 'C=300: ');
    const batches = [randomBatch(rng, { n: 150, C: 3, negInf: 0.3, agree: 0.5 }), randomBatch(rng, { n: 20, C: 3, negInf: 0.9, agree: 0.5 })];
    const m = await evaluate(L(), batches, opts);
    expectMetrics(m, reference(batches, opts).metrics, METRIC_REL, metricKeys(opts), 'C=3: ');
    expect(Number.isFinite(m.crossEntropy) && Number.isFinite(m.entropy)).toBe(true);
    // one row whose target logit is -inf
    const bad: Batch = { logits: new Float32Array([0, -Infinity, 1, 2, 2, -Infinity]), shape: [2, 3], labels: new Int32Array([1, 0]) };
    const all = [...batches, bad];
    const ref2 = evaluateReference(all.map(refBatch), opts);
    const m2 = await evaluate(L(), all, opts);
    expect(m2.crossEntropy).toBe(Infinity);
    expect(m2.perplexity).toBe(Infinity);
    expectMetrics(m2, ref2.metrics, METRIC_REL, metricKeys(opts));
  });

  seeded(ctx, 'float16 logits (bits from this test\'s encoder): float64 of the decoded values, and bitwise the float32 decoding', async (rng) => {
    for (const Cr of [10, 500]) {
      const batches = [50, 211, 7].map((n) => randomBatch(rng, { n, C: Cr, half: true, ignoreIndex: -100, ignoreFrac: 0.1, agree: 0.5, negInf: 0.05 }));
      const opts = { topK: [5] };
      const ref = reference(batches, opts);
      const mh = await evaluate(L(), batches, opts, true);
      const mf = await evaluate(L(), batches, opts, false);
      expectMetrics(mh, ref.metrics, METRIC_REL, metricKeys(opts), `C=${Cr}: `);
      expectSameBits(mh, mf, `C=${Cr}: float16 vs decoded float32`);
    }
  });

  seeded(ctx, 'int64 labels (BigInt64Array, bare and as a tensor) give bitwise the int32 result', async (rng) => {
    const batches = [randomBatch(rng, { n: 120, C: 8, dims: [3], ignoreIndex: -100, ignoreFrac: 0.2, agree: 0.5 }), randomBatch(rng, { n: 33, C: 8, dims: [2], ignoreIndex: -100, ignoreFrac: 0.2 })];
    const results: EvaluationResult[] = [];
    for (const form of ['int32', 'int64', 'tensor32', 'tensor64'] as const) {
      const ev = L().evaluator({ topK: [2] });
      for (const b of batches) await ev.add(logitsInput(b), labelsInput(b, form));
      results.push(await ev.result());
      ev.dispose();
    }
    expectMetrics(results[0], reference(batches, { topK: [2] }).metrics, METRIC_REL);
    for (let i = 1; i < results.length; i++) expectSameBits(results[i], results[0], `label form ${i}`);
  });

  seeded(ctx, 'reproducible: two evaluators fed the same batching give bitwise equal results', async (rng) => {
    const batches = [64, 1, 333, 20].map((n) => randomBatch(rng, { n, C: 257, ignoreIndex: -100, ignoreFrac: 0.1, agree: 0.5 }));
    const opts = { topK: [1, 10] };
    const a = L().evaluator(opts), b = L().evaluator(opts);
    for (const x of batches) {
      await a.add(logitsInput(x), x.labels);
      await b.add(logitsInput(x), x.labels);
    }
    expectSameBits(await a.result(), await b.result(), 'two evaluators');
    a.dispose();
    b.dispose();
  });

  seeded(ctx, 'adds not awaited one by one, arrays refilled as soon as add() returns: bitwise the sequential result', async (rng) => {
    const batches = [100, 3, 250, 60].map((n) => randomBatch(rng, { n, C: 33, ignoreIndex: -100, ignoreFrac: 0.1, agree: 0.5 }));
    const opts = { topK: [4] };
    const want = await evaluate(L(), batches, opts);
    const ev = L().evaluator(opts);
    const pending: Promise<unknown>[] = [];
    for (const b of batches) {
      const x = b.logits.slice(), t = b.labels.slice();
      pending.push(ev.add({ data: x, shape: b.shape }, t));
      x.fill(NaN); // the library captured the batch when add() was called
      t.fill(-5);
    }
    const got = await ev.result(); // queued after every add
    await Promise.all(pending);
    ev.dispose();
    expectSameBits(got, want, 'pipelined vs sequential');
  });

  it('after dispose(), add() and result() reject with a LossError', async () => {
    const ev = L().evaluator();
    ev.dispose();
    const x = { data: new Float32Array(4), shape: [2, 2] };
    await expect(ev.add(x, new Int32Array([0, 1]))).rejects.toBeInstanceOf(LossError);
    await expect(ev.result()).rejects.toBeInstanceOf(LossError);
    ev.dispose(); // twice is harmless
  });

  seeded(ctx, 'result() is callable repeatedly and the evaluator keeps accumulating after it', async (rng) => {
    const batches = [90, 45, 200].map((n) => randomBatch(rng, { n, C: 16, agree: 0.5 }));
    const ev = L().evaluator();
    await ev.add(logitsInput(batches[0]), batches[0].labels);
    const r1 = await ev.result();
    expectSameBits(await ev.result(), r1, 'result() twice');
    expectMetrics(r1, reference(batches.slice(0, 1)).metrics, METRIC_REL);
    await ev.add(logitsInput(batches[1]), batches[1].labels);
    await ev.add(logitsInput(batches[2]), batches[2].labels);
    const r2 = await ev.result();
    expect(r2.rows).toBe(335);
    expectMetrics(r2, reference(batches).metrics, METRIC_REL);
    expectSameBits(r2, await evaluate(L(), batches), 'after result() vs without it');
    expectSameBits(await ev.result(), r2, 'result() again');
    ev.dispose();
  });

  seeded(ctx, 'errors (class count, label out of range, NaN) name the batch and row; the evaluator stays usable', async (rng) => {
    const good = [randomBatch(rng, { n: 50, C: 10, agree: 0.5 }), randomBatch(rng, { n: 70, C: 10, ignoreIndex: -100, ignoreFrac: 0.2, agree: 0.5 })];
    const opts = { topK: [3] };
    const expected = await evaluate(L(), good, opts);
    expectMetrics(expected, reference(good, opts).metrics, METRIC_REL);
    const ev = L().evaluator(opts);
    await ev.add(logitsInput(good[0]), good[0].labels); // batch 0
    const onlyFirst = await evaluate(L(), good.slice(0, 1), opts);

    // batch 1: 7 classes instead of 10
    const seven = randomBatch(rng, { n: 5, C: 7 });
    await expectBatchError(ev.add(logitsInput(seven), seven.labels), 1, undefined, /\b7\b[\s\S]*\b10\b|\b10\b[\s\S]*\b7\b/);
    expectSameBits(await ev.result(), onlyFirst, 'after the class-count error');
    // batch 2: label 10 at row 13
    const over = randomBatch(rng, { n: 20, C: 10 });
    over.labels[13] = 10;
    await expectBatchError(ev.add(logitsInput(over), over.labels), 2, 13);
    // batch 3: label -3 (not ignoreIndex) at row 0, as int64
    const neg = randomBatch(rng, { n: 4, C: 10 });
    neg.labels[0] = -3;
    await expectBatchError(ev.add(logitsInput(neg), labelsInput(neg, 'int64')), 3, 0);
    // batch 4: NaN logit in row 17
    const nan = randomBatch(rng, { n: 30, C: 10 });
    nan.logits[17 * 10 + 4] = NaN;
    await expectBatchError(ev.add(logitsInput(nan), nan.labels), 4, 17, /nan/i);
    // batch 5: NaN in a float16 batch, row 2
    const nanHalf = randomBatch(rng, { n: 3, C: 10, half: true });
    nanHalf.bits![2 * 10 + 9] = 0x7e00;
    await expectBatchError(ev.add(logitsInput(nanHalf, true), nanHalf.labels), 5, 2, /nan/i);
    expectSameBits(await ev.result(), onlyFirst, 'after every error');
    // batch 6: good again
    await ev.add(logitsInput(good[1]), good[1].labels);
    expectSameBits(await ev.result(), expected, 'a later result vs the one without the bad batches');
    ev.dispose();
  });

  seeded(ctx, 'errors: a rejected first batch fixes nothing (not even the class count)', async (rng) => {
    const ev = L().evaluator();
    const first = randomBatch(rng, { n: 6, C: 5 });
    first.labels[4] = 5;
    await expectBatchError(ev.add(logitsInput(first), first.labels), 0, 4);
    const r0 = await ev.result();
    expect(r0.rows).toBe(0);
    expect(r0.count).toBe(0);
    const other = randomBatch(rng, { n: 40, C: 12, agree: 0.5 });
    await ev.add(logitsInput(other), other.labels);
    expectSameBits(await ev.result(), await evaluate(L(), [other]), 'after a rejected first batch');
    ev.dispose();
  });

  seeded(ctx, 'perRow: float32 loss and Int32Array rank of every row match the reference (ignored rows 0 and -1); metrics unchanged', async (rng) => {
    const batches = [
      randomBatch(rng, { n: 77, C: 10, ignoreIndex: -100, ignoreFrac: 0.2, agree: 0.5, ties: 0.1 }),
      randomBatch(rng, { n: 4, C: 10, dims: [3, 5], ignoreIndex: -100, ignoreFrac: 0.2, agree: 0.5, negInf: 0.1 }),
    ];
    const ref = reference(batches, { topK: [2] });
    const ev = L().evaluator({ topK: [2] });
    for (let bi = 0; bi < batches.length; bi++) {
      const b = batches[bi];
      const per = await ev.add(logitsInput(b), b.labels, { perRow: true });
      expect(per, 'perRow result').toBeDefined();
      const loss = per!.loss as { data: Float32Array; shape: number[] }, rank = per!.rank as { data: Int32Array; shape: number[] };
      const rowShape = b.shape.filter((_, k) => k !== 1);
      expect(loss.data).toBeInstanceOf(Float32Array);
      expect(rank.data).toBeInstanceOf(Int32Array);
      // the rows' shape: the labels' (N, d1, …), or flattened (N·d1·…)
      const shapeOk = (sh: readonly number[]) => sh.join() === rowShape.join() || sh.join() === String(b.labels.length);
      expect(shapeOk(loss.shape), `loss shape [${loss.shape}]`).toBe(true);
      expect(shapeOk(rank.shape), `rank shape [${rank.shape}]`).toBe(true);
      const want = ref.perBatch[bi];
      const f: string[] = [];
      for (let r = 0; r < b.labels.length; r++) {
        if (want.ignored[r]) {
          // an ignored row: loss 0 (as cross-entropy's 'none'), rank -1
          if (!Object.is(loss.data[r], 0) || rank.data[r] !== -1) f.push(`ignored row ${r}: loss ${loss.data[r]}, rank ${rank.data[r]}; expected 0 and -1`);
          continue;
        }
        if (rank.data[r] !== want.rank[r]) f.push(`row ${r}: rank ${rank.data[r]}, expected ${want.rank[r]}`);
        if (!(Math.abs(loss.data[r] - want.loss[r]) <= ROW_TOL * Math.max(1, Math.abs(want.loss[r])))) f.push(`row ${r}: loss ${loss.data[r]}, expected ${want.loss[r]}`);
      }
      if (f.length) throw new Error(`batch ${bi}: ${f.length} rows differ:\n${f.slice(0, 20).join('\n')}`);
    }
    const m = await ev.result();
    ev.dispose();
    expectMetrics(m, ref.metrics, METRIC_REL);
    expectSameBits(m, await evaluate(L(), batches, { topK: [2] }), 'with perRow vs without');
  });

  seeded(ctx, 'binary: several batches, Float32Array and Int32Array labels (ignored rows), (N) and (N, 1), logits exactly 0', async (rng) => {
    for (const B of [15, 10]) {
      const batches = [
        randomBinary(rng, 300, { zeros: 0.05, bins: [B] }),
        randomBinary(rng, 1, { column: true, bins: [B] }),
        randomBinary(rng, 157, { column: true, intLabels: true, ignoreIndex: -100, ignoreFrac: 0.2, zeros: 0.05, bins: [B] }),
        randomBinary(rng, 64, { intLabels: true, ignoreIndex: -100, ignoreFrac: 0.2, bins: [B] }),
      ];
      const opts = { binary: true, calibrationBins: B };
      const ref = reference(batches, opts);
      const m = await evaluate(L(), batches, opts);
      expectMetrics(m, ref.metrics, METRIC_REL, metricKeys(opts), `B=${B}: `);
      expectSameBits(m, await evaluate(L(), batches, opts), `B=${B}: twice`);
    }
  });

  seeded(ctx, 'perRow, binary and float16: per-row BCE (float32) and rank 0 (right) / 1 (wrong) / -1 (ignored)', async (rng) => {
    const b = randomBinary(rng, 150, { intLabels: true, ignoreIndex: -100, ignoreFrac: 0.2, zeros: 0.05 });
    const want = reference([b], { binary: true }).perBatch[0];
    const ev = L().evaluator({ binary: true });
    for (const half of [false, true]) {
      // float16: the same rows rounded to half (bins and predictions rechecked by the reference)
      const x = half ? { ...b, logits: decodeF16(encodeF16(b.logits)) } : b;
      const w = half ? evaluateReference([refBatch(x)], { binary: true }).perBatch[0] : want; // per-row values need no bins
      const per = await ev.add(logitsInput(x, half), x.labels, { perRow: true });
      const loss = per!.loss as { data: Float32Array; shape: number[] }, rank = per!.rank as { data: Int32Array; shape: number[] };
      expect(loss.data).toBeInstanceOf(Float32Array);
      expect(rank.data).toBeInstanceOf(Int32Array);
      expect([...loss.shape]).toEqual([150]);
      const f: string[] = [];
      for (let r = 0; r < 150; r++) {
        const wantRank = w.ignored[r] ? -1 : w.rank[r], wantLoss = w.ignored[r] ? 0 : w.loss[r];
        if (rank.data[r] !== wantRank) f.push(`row ${r}: rank ${rank.data[r]}, expected ${wantRank}`);
        if (!(Math.abs(loss.data[r] - wantLoss) <= ROW_TOL * Math.max(1, Math.abs(wantLoss)))) f.push(`row ${r}: loss ${loss.data[r]}, expected ${wantLoss}`);
      }
      if (f.length) throw new Error(`${half ? 'float16' : 'float32'}: ${f.length} rows differ:\n${f.slice(0, 20).join('\n')}`);
    }
    ev.dispose();
  });

  it('binary: logit 0 is p = 0.5, predicted 1, confidence 0.5 in bin (0.4, 0.5] of 10', async () => {
    // rows: z = 0 with labels 1 and 0, and z = 2, label 1. conf 0.5, 0.5, σ(2).
    const z = new Float32Array([0, 0, 2]);
    const y = new Float32Array([1, 0, 1]);
    const ref = evaluateReference([{ logits: z, shape: [3], labels: y }], { binary: true, calibrationBins: 10 });
    const ev = L().evaluator({ binary: true, calibrationBins: 10 });
    await ev.add({ data: z, shape: [3] }, y);
    const m = await ev.result();
    ev.dispose();
    expect(m.accuracy).toBe(2 / 3);
    // bin 4 holds the two z = 0 rows: accuracy 1/2, confidence 1/2; bin 8 holds σ(2) = 0.8808 (correct)
    const s2 = sigmoid64(2);
    expect(Math.abs(ref.metrics.ece - (1 / 3) * (1 - s2))).toBeLessThan(1e-15);
    expectMetrics(m, ref.metrics, METRIC_REL);
  });

  seeded(ctx, 'binary: bad labels and NaN logits name the batch and row; the evaluator stays usable', async (rng) => {
    const good = randomBinary(rng, 40, { intLabels: true });
    const ev = L().evaluator({ binary: true });
    await ev.add(logitsInput(good), good.labels);
    const first = await ev.result();
    const bad = randomBinary(rng, 10, { intLabels: true });
    bad.labels[6] = 2;
    await expectBatchError(ev.add(logitsInput(bad), bad.labels), 1, 6);
    const nan = randomBinary(rng, 10);
    nan.logits[3] = NaN;
    await expectBatchError(ev.add(logitsInput(nan), nan.labels), 2, 3, /nan/i);
    expectSameBits(await ev.result(), first, 'after the errors');
    ev.dispose();
  });

  seeded(ctx, 'every row ignored: rows counted, count 0, the means NaN', async (rng) => {
    const b = randomBatch(rng, { n: 12, C: 5, ignoreIndex: -100, ignoreFrac: 1 });
    const m = await evaluate(L(), [b], { topK: [2] });
    expect(m.rows).toBe(12);
    expect(m.count).toBe(0);
    for (const k of ['crossEntropy', 'perplexity', 'accuracy', 'top2', 'entropy', 'ece', 'brier']) expect(m[k], k).toBeNaN();
    const fresh = L().evaluator();
    const e = await fresh.result();
    fresh.dispose();
    expect(e.rows).toBe(0);
    expect(e.count).toBe(0);
  });
}
