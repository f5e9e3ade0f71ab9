/**
 * The shared, deterministic case list of the GPU tests: Node + Dawn (test/gpu) and Chromium
 * (test/browser) run the very same cases. A case is a small serialisable descriptor; `materialize`
 * builds its arrays from the seed with the tiny PRNG below, so the browser page builds bit-identical
 * inputs without shipping them. Nothing here imports Node modules.
 *
 * `runCase(losses, c)` calls the library; `encodeResult`/`decodeResult` carry results through JSON
 * (NaN and ±Infinity as strings); `compareResults` holds two results to docs/ARCHITECTURE.md, "The plan and the numerics contract"'s GPU-vs-CPU
 * tolerance with exact NaN/±Inf positions and shapes; `sameBits` checks run-to-run reproducibility.
 */
import type { DeviceTensor, HostTensor, IndexTensor, Losses } from '../src/index.js';

export type Method =
  | 'softmax' | 'logSoftmax' | 'sigmoid' | 'entropy' | 'crossEntropy' | 'nllLoss'
  | 'binaryCrossEntropy' | 'binaryCrossEntropyWithLogits' | 'klDiv'
  | 'softmaxBackward' | 'logSoftmaxBackward';

export const METHODS: readonly Method[] = [
  'softmax', 'logSoftmax', 'sigmoid', 'entropy', 'crossEntropy', 'nllLoss',
  'binaryCrossEntropy', 'binaryCrossEntropyWithLogits', 'klDiv', 'softmaxBackward', 'logSoftmaxBackward',
];

/**
 * How the first operand is drawn:
 * - normal: N(0, 3²) logits; extreme: 30 % of entries ±3e4 (plus noise), one row all ±3e4;
 * - neginf: 20 % of entries -inf (never a whole row); neginfRow: like neginf, and row 0 entirely -inf;
 * - nan: normal with a few NaNs; posinf: normal with one +inf in row 0 (PyTorch: that row is NaN); prob01: uniform [0, 1] with exact 0s and 1s (BCE input);
 * - logprob: log-probabilities (KL input); softmaxOut / logSoftmaxOut: y of a backward op.
 */
export type InputKind = 'normal' | 'extreme' | 'neginf' | 'neginfRow' | 'nan' | 'posinf' | 'prob01' | 'logprob' | 'softmaxOut' | 'logSoftmaxOut';

/**
 * The second operand:
 * - index: class indices (avoiding -inf logits); ignore: 30 % set to ignoreIndex; allIgnored: all of them;
 * - prob: probability rows along the class dim; binary: BCE targets (0, 1 and soft);
 * - klProb: probabilities with zeros and a few negatives; klLog: log-probabilities;
 * - dy: upstream gradient of a backward op.
 */
export type TargetKind = 'index' | 'ignore' | 'allIgnored' | 'prob' | 'binary' | 'klProb' | 'klLog' | 'dy';

export interface CaseOptions {
  reduction?: 'none' | 'mean' | 'sum' | 'batchmean';
  /**
   * class: per-class weights (length C); classZeros: per-class with zeros; last / scalar / trailing:
   * element weights of length = last dim, 1, or the product of the last two dims; tensor: a HostTensor
   * of shape [last]. (A [1, last] tensor, valid in PyTorch, is rejected by the library: reported.)
   */
  weight?: 'class' | 'classZeros' | 'last' | 'scalar' | 'trailing' | 'tensor';
  /** posWeight of length = last dim, or 1. */
  posWeight?: 'last' | 'one';
  labelSmoothing?: number;
  ignoreIndex?: number;
  logTarget?: boolean;
  grad?: boolean;
  /** With grad and reduction 'none': a random upstream gradient. */
  gradOutput?: boolean;
  inPlace?: boolean;
}

export interface Case {
  id: string;
  method: Method;
  shape: number[];
  dim?: number;
  input?: InputKind;
  targetKind?: TargetKind;
  /** Pass the target as a `{data, shape}` tensor rather than a bare typed array. */
  targetTensor?: boolean;
  options: CaseOptions;
  seed: number;
  /** big: slow on SwiftShader (not repeated under every profile); browser: in the Chromium subset. */
  tags: string[];
}

// ------------------------------------------------------------------ PRNG (mulberry32) and hashing

export function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class Prng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo = 0, hi = 1): number { return lo + (hi - lo) * this.next(); }
  int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo)); }
  bool(p: number): boolean { return this.next() < p; }
  /** Normal via Box–Muller (one draw per call, no cached spare: simple to reproduce anywhere). */
  normal(mean = 0, std = 1): number {
    let u = 0;
    while (u === 0) u = this.next();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}

// ------------------------------------------------------------------ shapes

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Rows of `shape` along `dim` (normalised): element (o, c, i) sits at o·C·inner + c·inner + i. */
export function layout(shape: readonly number[], dim: number) {
  const s = shape.length === 0 ? [1] : shape;
  let outer = 1, inner = 1;
  for (let i = 0; i < dim; i++) outer *= s[i];
  for (let i = dim + 1; i < s.length; i++) inner *= s[i];
  return { outer, C: s[dim], inner, rows: outer * inner };
}

const ROW_METHODS: readonly Method[] = ['softmax', 'logSoftmax', 'entropy', 'softmaxBackward', 'logSoftmaxBackward'];
const CLASS_METHODS: readonly Method[] = ['crossEntropy', 'nllLoss'];

/** The (normalised) dim along which a case's rows run, or undefined for element-wise methods. */
export function rowDim(c: Case): number | undefined {
  const r = Math.max(1, c.shape.length);
  if (ROW_METHODS.includes(c.method)) return ((c.dim ?? -1) + r) % r;
  if (CLASS_METHODS.includes(c.method)) return c.shape.length <= 1 ? 0 : 1;
  return undefined;
}

// ------------------------------------------------------------------ materialize

export interface Materialized {
  x: HostTensor | DeviceTensor;
  target?: Int32Array | Float32Array | HostTensor | IndexTensor | DeviceTensor;
  options: Record<string, unknown>;
}

function f32(n: number, gen: (i: number) => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = gen(i);
  return a;
}

/** Applies a row-wise transform (float64) along `dim`. */
function alongRows(data: Float32Array, shape: readonly number[], dim: number, fn: (row: Float64Array) => void): void {
  const { outer, C, inner } = layout(shape, dim);
  const row = new Float64Array(C);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * C * inner + i;
      for (let c = 0; c < C; c++) row[c] = data[base + c * inner];
      fn(row);
      for (let c = 0; c < C; c++) data[base + c * inner] = row[c];
    }
  }
}

function logSoftmax64(row: Float64Array): void {
  let m = -Infinity;
  for (const v of row) m = Math.max(m, v);
  let s = 0;
  for (const v of row) s += Math.exp(v - m);
  const l = m + Math.log(s);
  for (let c = 0; c < row.length; c++) row[c] -= l;
}

function makeInput(c: Case, r: Prng): Float32Array {
  const n = numel(c.shape);
  const dim = rowDim(c) ?? Math.max(0, c.shape.length - 1);
  const kind = c.input ?? 'normal';
  switch (kind) {
    case 'normal': return f32(n, () => r.normal(0, 3));
    case 'extreme': {
      const x = f32(n, () => (r.bool(0.3) ? (r.bool(0.5) ? 3e4 : -3e4) + r.normal() : r.normal(0, 3)));
      const { C, inner } = layout(c.shape, dim);
      for (let k = 0; k < C; k++) x[k * inner] = (r.bool(0.5) ? 3e4 : -3e4) + r.normal(0, 10); // row 0: all extreme
      return x;
    }
    case 'neginf':
    case 'neginfRow': {
      const x = f32(n, () => (r.bool(0.2) ? -Infinity : r.normal(0, 3)));
      const { C, inner, rows } = layout(c.shape, dim);
      // Keep one finite entry per row (the row's first element), then wipe row 0 if asked.
      alongRows(x, c.shape, dim, (row) => { if (row[0] === -Infinity) row[0] = 1.5; });
      if (kind === 'neginfRow' && rows > 0) for (let k = 0; k < C; k++) x[k * inner] = -Infinity;
      return x;
    }
    case 'nan': {
      const x = f32(n, () => r.normal(0, 3));
      for (let k = 0; k < Math.max(1, n >> 6); k++) x[r.int(0, n)] = NaN;
      return x;
    }
    case 'posinf': {
      const x = f32(n, () => r.normal(0, 3));
      const { C, inner } = layout(c.shape, dim);
      x[r.int(0, C) * inner] = Infinity;
      return x;
    }
    case 'prob01': return f32(n, () => { const u = r.next(); return u < 0.1 ? 0 : u < 0.2 ? 1 : r.next(); });
    case 'logprob': return f32(n, () => Math.log(r.uniform(1e-4, 1)));
    case 'softmaxOut':
    case 'logSoftmaxOut': {
      const x = f32(n, () => r.normal(0, 3));
      alongRows(x, c.shape, dim, (row) => {
        logSoftmax64(row);
        if (kind === 'softmaxOut') for (let k = 0; k < row.length; k++) row[k] = Math.exp(row[k]);
      });
      return x;
    }
  }
}

function makeTarget(c: Case, r: Prng, x: Float32Array): Materialized['target'] {
  const kind = c.targetKind;
  if (kind === undefined) return undefined;
  const ignore = c.options.ignoreIndex ?? -100;
  const dim = rowDim(c) ?? Math.max(0, c.shape.length - 1);
  if (kind === 'index' || kind === 'ignore' || kind === 'allIgnored') {
    const { C, inner, rows } = layout(c.shape, dim);
    const t = new Int32Array(rows);
    for (let row = 0; row < rows; row++) {
      const base = Math.floor(row / inner) * C * inner + (row % inner);
      let k = r.int(0, C);
      for (let step = 0; step < C && x[base + k * inner] === -Infinity; step++) k = (k + 1) % C; // a finite logit when one exists
      t[row] = kind === 'allIgnored' || (kind === 'ignore' && r.bool(0.3)) ? ignore : k;
    }
    const shape = c.shape.filter((_, i) => i !== dim);
    return c.targetTensor ? { data: t, shape } : t;
  }
  const n = numel(c.shape);
  let t: Float32Array;
  switch (kind) {
    case 'prob':
      t = f32(n, () => r.normal(0, 2));
      alongRows(t, c.shape, dim, (row) => { logSoftmax64(row); for (let k = 0; k < row.length; k++) row[k] = Math.exp(row[k]); });
      break;
    case 'binary': t = f32(n, () => { const u = r.next(); return u < 0.4 ? 0 : u < 0.8 ? 1 : r.next(); }); break;
    case 'klProb': t = f32(n, () => { const u = r.next(); return u < 0.1 ? 0 : u < 0.13 ? -r.next() : r.next(); }); break;
    case 'klLog': t = f32(n, () => Math.log(r.uniform(1e-4, 1))); break;
    case 'dy': t = f32(n, () => r.normal(0, 1)); break;
  }
  return c.targetTensor ? { data: t, shape: [...c.shape] } : t;
}

/** The loss's shape for reduction 'none' (the gradOutput shape). */
export function lossShape(c: Case): number[] {
  const d = rowDim(c);
  return d === undefined ? [...c.shape] : c.shape.filter((_, i) => i !== d);
}

/** Builds a case's arrays from its seed; the same bits in Node and in a browser. */
export function materialize(c: Case): Materialized {
  const r = new Prng(c.seed);
  const xd = makeInput(c, r);
  const target = makeTarget(c, r, xd);
  const o = c.options;
  const options: Record<string, unknown> = {};
  if (o.reduction !== undefined) options.reduction = o.reduction;
  if (o.labelSmoothing !== undefined) options.labelSmoothing = o.labelSmoothing;
  if (o.ignoreIndex !== undefined) options.ignoreIndex = o.ignoreIndex;
  if (o.logTarget !== undefined) options.logTarget = o.logTarget;
  if (c.dim !== undefined) options.dim = c.dim;
  const last = c.shape.length === 0 ? 1 : c.shape[c.shape.length - 1];
  const d = rowDim(c) ?? 0;
  const C = c.shape.length === 0 ? 1 : c.shape[d];
  switch (o.weight) {
    case undefined: break;
    case 'class': options.weight = f32(C, () => r.uniform(0.1, 2)); break;
    case 'classZeros': options.weight = f32(C, (i) => (i % 3 === 1 ? 0 : r.uniform(0.1, 2))); break;
    case 'last': options.weight = f32(last, () => r.uniform(0, 2)); break;
    case 'scalar': options.weight = f32(1, () => r.uniform(0.5, 2)); break;
    case 'trailing': options.weight = f32(numel(c.shape.slice(-2)), () => r.uniform(0, 2)); break;
    case 'tensor': options.weight = { data: f32(last, () => r.uniform(0, 2)), shape: [last] }; break;
  }
  if (o.posWeight === 'last') options.posWeight = f32(last, () => r.uniform(0.2, 4));
  if (o.posWeight === 'one') options.posWeight = f32(1, () => r.uniform(0.2, 4));
  if (o.grad) options.grad = true;
  if (o.inPlace) options.inPlace = true;
  if (o.gradOutput) options.gradOutput = f32(numel(lossShape(c)), () => r.normal(0, 1));
  return { x: { data: xd, shape: [...c.shape] }, target, options };
}

// ------------------------------------------------------------------ running

export type Result = number | HostTensor | { loss: number | HostTensor; grad: HostTensor };

/** Calls the case's method on `losses` (with freshly materialised inputs unless given). */
export async function runCase(losses: Losses, c: Case, m: Materialized = materialize(c)): Promise<Result> {
  const o = m.options as never;
  const t = m.target as never;
  switch (c.method) {
    case 'softmax': return losses.softmax(m.x, o);
    case 'logSoftmax': return losses.logSoftmax(m.x, o);
    case 'softmaxBackward': return losses.softmaxBackward(m.x, t, o);
    case 'logSoftmaxBackward': return losses.logSoftmaxBackward(m.x, t, o);
    case 'sigmoid': return losses.sigmoid(m.x, o);
    case 'entropy': return losses.entropy(m.x, o) as Promise<Result>;
    case 'crossEntropy': return losses.crossEntropy(m.x, t, o) as Promise<Result>;
    case 'nllLoss': return losses.nllLoss(m.x, t, o) as Promise<Result>;
    case 'binaryCrossEntropy': return losses.binaryCrossEntropy(m.x, t, o) as Promise<Result>;
    case 'binaryCrossEntropyWithLogits': return losses.binaryCrossEntropyWithLogits(m.x, t, o) as Promise<Result>;
    case 'klDiv': return losses.klDiv(m.x, t, o) as Promise<Result>;
  }
}

// ------------------------------------------------------------------ JSON transport

export type EncNum = number | 'NaN' | 'Infinity' | '-Infinity';
export type Encoded =
  | { kind: 'number'; value: EncNum }
  | { kind: 'tensor'; shape: number[]; data: EncNum[] }
  | { kind: 'grad'; loss: Encoded; grad: Encoded }
  | { kind: 'error'; name: string; message: string };

function encNum(v: number): EncNum {
  return Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v;
}
function decNum(v: EncNum): number {
  return typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity;
}

export function encodeResult(r: unknown): Encoded {
  if (typeof r === 'number') return { kind: 'number', value: encNum(r) };
  if (r && typeof r === 'object' && 'grad' in r && 'loss' in r) {
    const g = r as { loss: unknown; grad: unknown };
    return { kind: 'grad', loss: encodeResult(g.loss), grad: encodeResult(g.grad) };
  }
  if (r && typeof r === 'object' && 'data' in r && 'shape' in r && (r as HostTensor).data instanceof Float32Array) {
    const t = r as HostTensor;
    return { kind: 'tensor', shape: [...t.shape], data: Array.from(t.data, encNum) };
  }
  throw new Error(`encodeResult: unexpected result ${Object.prototype.toString.call(r)}`);
}

export function decodeResult(e: Encoded): Result {
  switch (e.kind) {
    case 'number': return decNum(e.value);
    case 'tensor': return { data: new Float32Array(e.data.map(decNum)), shape: e.shape };
    case 'grad': return { loss: decodeResult(e.loss) as number | HostTensor, grad: decodeResult(e.grad) as HostTensor };
    case 'error': throw new Error(`${e.name}: ${e.message}`);
  }
}

// ------------------------------------------------------------------ comparing

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toPrecision(9) : String(v);
}

/** Parts of a result as (name, shape or null for a number, values). */
function parts(r: unknown, name = ''): { name: string; shape: number[] | null; values: ArrayLike<number> }[] | string {
  if (typeof r === 'number') return [{ name: name || 'value', shape: null, values: [r] }];
  if (r && typeof r === 'object' && 'grad' in r && 'loss' in r) {
    const a = parts((r as { loss: unknown }).loss, 'loss'), b = parts((r as { grad: unknown }).grad, 'grad');
    if (typeof a === 'string') return a;
    if (typeof b === 'string') return b;
    return [...a, ...b];
  }
  if (r && typeof r === 'object' && 'data' in r && 'shape' in r) {
    const t = r as { data: unknown; shape: unknown };
    if (!(t.data instanceof Float32Array)) return `${name || 'result'}.data is not a Float32Array`;
    if (!Array.isArray(t.shape)) return `${name || 'result'}.shape is not an array`;
    if (t.data.length !== numel(t.shape)) return `${name || 'result'} has ${t.data.length} elements for shape [${t.shape}]`;
    return [{ name: name || 'tensor', shape: [...t.shape], values: t.data }];
  }
  return `${name || 'result'} is ${r === null ? 'null' : typeof r}`;
}

export interface Mismatch {
  /** Human-readable summary: how many elements differ, the worst one, its relative error. */
  message: string;
  worstRel: number;
}

/**
 * Compares `actual` (GPU) with `expected` (CPU oracle): same structure and shapes, NaN and ±Inf at
 * exactly the same positions, and |a − e| ≤ rtol·max(1, |e|) elsewhere. With `nanFree`, a NaN in
 * `actual` where `expected` has none is reported as an unwritten (poisoned) element.
 */
export function compareResults(actual: unknown, expected: unknown, rtol = 1e-5): Mismatch | null {
  const pa = parts(actual), pe = parts(expected);
  if (typeof pe === 'string') return { message: `oracle: ${pe}`, worstRel: Infinity };
  if (typeof pa === 'string') return { message: pa, worstRel: Infinity };
  if (pa.length !== pe.length || pa.some((p, i) => p.name !== pe[i].name)) {
    return { message: `structure ${pa.map((p) => p.name)} != expected ${pe.map((p) => p.name)}`, worstRel: Infinity };
  }
  const msgs: string[] = [];
  let worstRel = 0;
  pa.forEach((a, k) => {
    const e = pe[k];
    if ((a.shape === null) !== (e.shape === null)) {
      msgs.push(`${a.name}: ${a.shape === null ? 'a number' : `shape [${a.shape}]`} where a ${e.shape === null ? 'number' : `tensor [${e.shape}]`} was expected`);
      worstRel = Infinity;
      return;
    }
    if (a.shape && e.shape && (a.shape.length !== e.shape.length || a.shape.some((d, i) => d !== e.shape![i]))) {
      msgs.push(`${a.name}: shape [${a.shape}] != [${e.shape}]`);
      worstRel = Infinity;
      return;
    }
    let nBad = 0, nNan = 0, worst = -1, worstR = 0;
    for (let i = 0; i < e.values.length; i++) {
      const x = a.values[i], y = e.values[i];
      let ok: boolean;
      let rel = 0;
      if (Number.isNaN(y)) ok = Number.isNaN(x);
      else if (!Number.isFinite(y)) ok = x === y;
      else if (!Number.isFinite(x)) ok = false;
      else {
        rel = Math.abs(x - y) / Math.max(1, Math.abs(y));
        ok = rel <= rtol;
      }
      if (!ok) {
        nBad++;
        if (Number.isNaN(x)) nNan++;
        if (!Number.isFinite(rel) || !Number.isFinite(x) || !Number.isFinite(y)) rel = Infinity;
        if (worst < 0 || rel > worstR) { worst = i; worstR = rel; }
      }
    }
    if (nBad) {
      worstRel = Math.max(worstRel, worstR);
      msgs.push(`${a.name}: ${nBad} of ${e.values.length} differ${nNan ? ` (${nNan} NaN where the oracle is not NaN)` : ''}; worst [${worst}] got ${fmt(a.values[worst])}, expected ${fmt(e.values[worst])}, rel ${worstR.toExponential(2)} > ${rtol}`);
    }
  });
  return msgs.length ? { message: msgs.join('; '), worstRel } : null;
}

/** Whether two results are bitwise identical (float32 bits; NaN payloads ignored). */
export function sameBits(a: unknown, b: unknown): string | null {
  const pa = parts(a), pb = parts(b);
  if (typeof pa === 'string' || typeof pb === 'string') return `not comparable: ${String(pa)} / ${String(pb)}`;
  if (pa.length !== pb.length) return 'structure differs';
  for (let k = 0; k < pa.length; k++) {
    const x = pa[k].values, y = pb[k].values;
    if (x.length !== y.length) return `${pa[k].name}: length ${x.length} != ${y.length}`;
    let n = 0, first = -1;
    for (let i = 0; i < x.length; i++) {
      const same = Number.isNaN(x[i]) ? Number.isNaN(y[i]) : Object.is(Math.fround(x[i]), Math.fround(y[i]));
      if (!same) { n++; if (first < 0) first = i; }
    }
    if (n) return `${pa[k].name}: ${n} of ${x.length} elements differ between runs, first [${first}] ${fmt(x[first])} vs ${fmt(y[first])}`;
  }
  return null;
}

// ------------------------------------------------------------------ the case list

function mk(method: Method, shape: number[], rest: Partial<Omit<Case, 'id' | 'seed' | 'method' | 'shape'>> & { name?: string } = {}): Case {
  const { name, ...r } = rest;
  const o = r.options ?? {};
  const optText = Object.entries(o).map(([k, v]) => (v === true ? k : `${k}=${String(v)}`)).join(',');
  const bits = [
    method, `[${shape.join('x')}]`, r.dim !== undefined ? `dim=${r.dim}` : '', r.input && r.input !== 'normal' ? r.input : '',
    r.targetKind ?? '', r.targetTensor ? 'tensorTarget' : '', optText, name ?? '',
  ].filter((s) => s !== '');
  const id = bits.join(' ');
  return { id, method, shape, options: o, seed: hash(id), tags: r.tags ?? [], dim: r.dim, input: r.input, targetKind: r.targetKind, targetTensor: r.targetTensor };
}

/** Class counts reaching every row family: thread (≤ 64), subgroup/workgroup, split (≥ 8192, few rows). */
const C_SMALL = [1, 2, 5, 10, 64];
const C_MID = [65, 257, 1000];

function buildCases(): Case[] {
  const cs: Case[] = [];
  const add = (c: Case) => cs.push(c);
  const R = ['none', 'mean', 'sum'] as const;

  // Row shapes per family: [rows, C]; 'big' ones are not repeated under every profile.
  const rowShapes: { shape: number[]; tags?: string[] }[] = [
    ...C_SMALL.map((C) => ({ shape: [3, C] })),
    { shape: [1000, 10] }, { shape: [1000, 64] },
    ...C_MID.map((C) => ({ shape: [3, C] })),
    { shape: [1000, 65] }, { shape: [1000, 257], tags: ['big'] }, { shape: [1000, 1000], tags: ['big'] },
    { shape: [1, 32000] }, { shape: [3, 32000] }, { shape: [1, 50257] }, { shape: [2, 50257] }, { shape: [1, 131072] },
    { shape: [70000, 10], tags: ['big'] }, { shape: [70000, 2], tags: ['big'] },
  ];

  // --- softmax / logSoftmax / entropy over every row family
  for (const method of ['softmax', 'logSoftmax'] as const) {
    for (const { shape, tags } of rowShapes) add(mk(method, shape, { tags }));
    add(mk(method, [5]));
    add(mk(method, [1]));
    add(mk(method, []));
    add(mk(method, [2, 5, 3, 4], { dim: 1 }));
    add(mk(method, [5, 7], { dim: 0 }));
    add(mk(method, [2, 65, 3], { dim: -2 }));
    add(mk(method, [3, 300, 2], { dim: 1 }));
    add(mk(method, [2, 9000, 2], { dim: 1, tags: ['big'] }));
    add(mk(method, [4, 3, 9000], { dim: 2 }));
    for (const input of ['extreme', 'neginf', 'neginfRow', 'nan', 'posinf'] as const) {
      add(mk(method, [7, 10], { input }));
      add(mk(method, [5, 257], { input }));
      add(mk(method, [2, 40000], { input }));
    }
    add(mk(method, [4, 6, 5], { dim: 0, input: 'neginf' }));
  }
  for (const reduction of R) {
    for (const shape of [[3, 5], [1000, 10], [3, 257], [1000, 65], [3, 32000], [1, 131072], [5]]) add(mk('entropy', shape, { options: { reduction } }));
    add(mk('entropy', [70000, 10], { options: { reduction }, tags: ['big'] }));
    add(mk('entropy', [2, 5, 3, 4], { dim: 1, options: { reduction } }));
    add(mk('entropy', [5, 70], { dim: 0, options: { reduction } }));
    for (const input of ['extreme', 'neginf', 'neginfRow', 'nan', 'posinf'] as const) {
      add(mk('entropy', [7, 10], { input, options: { reduction } }));
      add(mk('entropy', [5, 257], { input, options: { reduction } }));
      add(mk('entropy', [2, 40000], { input, options: { reduction } }));
    }
  }
  add(mk('entropy', [6, 2, 1000], { dim: 1 }));

  // --- backward ops
  for (const method of ['softmaxBackward', 'logSoftmaxBackward'] as const) {
    const input = method === 'softmaxBackward' ? 'softmaxOut' : 'logSoftmaxOut';
    for (const shape of [[3, 5], [1000, 10], [3, 257], [1000, 65], [3, 32000], [1, 131072], [5]]) add(mk(method, shape, { input, targetKind: 'dy' }));
    add(mk(method, [2, 5, 3, 4], { dim: 1, input, targetKind: 'dy' }));
    add(mk(method, [5, 70], { dim: 0, input, targetKind: 'dy', targetTensor: true }));
  }

  // --- more than 65535 workgroups along one dimension (the element-wise kernels run 256 elements a group)
  add(mk('sigmoid', [70000, 256], { tags: ['big', 'huge'] }));

  // --- sigmoid
  for (const shape of [[7], [3, 5], [1000, 10], [2, 3, 5], [1], [70000, 10]]) add(mk('sigmoid', shape, { tags: shape[0] === 70000 ? ['big'] : [] }));
  for (const input of ['extreme', 'neginf', 'nan', 'posinf'] as const) add(mk('sigmoid', [9, 11], { input }));

  // --- crossEntropy with class indices
  const ceShapes: { shape: number[]; tags?: string[] }[] = [
    { shape: [5] }, { shape: [3, 1] }, { shape: [3, 2] }, { shape: [3, 5] }, { shape: [1000, 10] }, { shape: [1000, 64] },
    { shape: [3, 65] }, { shape: [1000, 65] }, { shape: [3, 257] }, { shape: [3, 1000] }, { shape: [64, 1000], tags: ['big'] },
    { shape: [3, 32000] }, { shape: [1, 50257] }, { shape: [1, 131072] },
    { shape: [4, 5, 3] }, { shape: [2, 10, 3, 4] }, { shape: [3, 257, 2] }, { shape: [2, 9000, 3], tags: ['big'] },
    { shape: [70000, 10], tags: ['big'] },
  ];
  const ceVariants: { targetKind: TargetKind; options: CaseOptions; input?: InputKind }[] = [
    { targetKind: 'index', options: {} },
    { targetKind: 'index', options: { weight: 'class' } },
    { targetKind: 'ignore', options: {} },
    { targetKind: 'ignore', options: { weight: 'class', labelSmoothing: 0.1 } },
    { targetKind: 'index', options: { labelSmoothing: 0.2 } },
    { targetKind: 'ignore', options: { labelSmoothing: 0.3 } },
  ];
  for (const { shape, tags } of ceShapes) {
    const big = tags?.includes('big');
    for (const v of big ? ceVariants.slice(3, 4) : ceVariants) {
      for (const reduction of big ? (['mean'] as const) : R) add(mk('crossEntropy', shape, { ...v, options: { ...v.options, reduction }, tags }));
    }
  }
  for (const reduction of R) {
    add(mk('crossEntropy', [6, 5], { targetKind: 'allIgnored', options: { reduction } }));
    add(mk('crossEntropy', [6, 300], { targetKind: 'allIgnored', options: { reduction, weight: 'class', labelSmoothing: 0.1 } }));
    add(mk('crossEntropy', [8, 7], { targetKind: 'ignore', options: { reduction, ignoreIndex: 2 } }));
    add(mk('crossEntropy', [8, 300], { targetKind: 'ignore', options: { reduction, ignoreIndex: 0, weight: 'class' } }));
    add(mk('crossEntropy', [9, 5], { targetKind: 'index', options: { reduction, weight: 'classZeros' } }));
    add(mk('crossEntropy', [6, 3], { targetKind: 'index', options: { reduction, labelSmoothing: 1 } }));
    add(mk('crossEntropy', [4, 5, 3], { targetKind: 'ignore', targetTensor: true, options: { reduction, weight: 'class' } }));
    for (const input of ['extreme', 'neginf', 'neginfRow', 'nan', 'posinf'] as const) {
      add(mk('crossEntropy', [7, 10], { input, targetKind: 'index', options: { reduction } }));
      add(mk('crossEntropy', [7, 10], { input, targetKind: 'index', options: { reduction, labelSmoothing: 0.1 } }));
      add(mk('crossEntropy', [5, 257], { input, targetKind: 'ignore', options: { reduction, labelSmoothing: 0.1, weight: 'class' } }));
      add(mk('crossEntropy', [2, 40000], { input, targetKind: 'index', options: { reduction } }));
    }
  }

  // --- crossEntropy with probability targets
  for (const shape of [[5], [3, 5], [1000, 10], [3, 65], [1000, 65], [3, 257], [3, 32000], [1, 50257], [4, 5, 3], [3, 257, 2]]) {
    for (const options of [{}, { weight: 'class' as const }, { labelSmoothing: 0.2 }, { weight: 'class' as const, labelSmoothing: 0.1 }]) {
      for (const reduction of R) add(mk('crossEntropy', shape, { targetKind: 'prob', options: { ...options, reduction } }));
    }
  }
  for (const reduction of R) {
    add(mk('crossEntropy', [7, 10], { input: 'extreme', targetKind: 'prob', options: { reduction, labelSmoothing: 0.1 } }));
    add(mk('crossEntropy', [3, 300], { targetKind: 'prob', targetTensor: true, options: { reduction } }));
  }
  add(mk('crossEntropy', [70000, 10], { targetKind: 'prob', options: { reduction: 'mean', labelSmoothing: 0.1 }, tags: ['big'] }));

  // --- nllLoss (input: log-probabilities or any float)
  for (const shape of [[5], [3, 1], [3, 5], [1000, 10], [3, 257], [1000, 65], [3, 32000], [4, 5, 3], [2, 10, 3, 4]]) {
    for (const v of [
      { targetKind: 'index' as const, options: {} }, { targetKind: 'index' as const, options: { weight: 'class' as const } },
      { targetKind: 'ignore' as const, options: {} }, { targetKind: 'ignore' as const, options: { weight: 'class' as const } },
    ]) {
      for (const reduction of R) add(mk('nllLoss', shape, { ...v, input: 'logprob', options: { ...v.options, reduction } }));
    }
  }
  for (const reduction of R) {
    add(mk('nllLoss', [6, 5], { targetKind: 'allIgnored', options: { reduction } }));
    add(mk('nllLoss', [6, 5], { targetKind: 'allIgnored', options: { reduction, weight: 'class' } }));
    add(mk('nllLoss', [8, 7], { targetKind: 'ignore', options: { reduction, ignoreIndex: 3, weight: 'classZeros' } }));
    add(mk('nllLoss', [4, 5, 3], { targetKind: 'index', targetTensor: true, options: { reduction } }));
    add(mk('nllLoss', [7, 10], { input: 'neginf', targetKind: 'index', options: { reduction } }));
  }
  add(mk('nllLoss', [70000, 10], { targetKind: 'ignore', options: { reduction: 'mean', weight: 'class' }, tags: ['big'] }));

  // --- binary cross-entropy
  const bShapes = [[7], [3, 5], [1000, 10], [2, 3, 5], [1]];
  for (const shape of bShapes) {
    for (const weight of [undefined, 'last', 'scalar', 'trailing', 'tensor'] as const) {
      if (weight === 'trailing' && shape.length < 2) continue;
      for (const reduction of R) add(mk('binaryCrossEntropy', shape, { input: 'prob01', targetKind: 'binary', options: { reduction, ...(weight ? { weight } : {}) } }));
    }
  }
  add(mk('binaryCrossEntropy', [70000, 10], { input: 'prob01', targetKind: 'binary', options: { reduction: 'mean', weight: 'last' }, tags: ['big'] }));
  add(mk('binaryCrossEntropy', [3, 5], { input: 'prob01', targetKind: 'binary', targetTensor: true, options: { reduction: 'none' } }));
  for (const shape of bShapes) {
    for (const extra of [{}, { weight: 'last' as const }, { posWeight: 'last' as const }, { posWeight: 'one' as const }, { weight: 'trailing' as const, posWeight: 'last' as const }, { weight: 'tensor' as const, posWeight: 'one' as const }]) {
      if (extra.weight === 'trailing' && shape.length < 2) continue;
      for (const reduction of R) add(mk('binaryCrossEntropyWithLogits', shape, { targetKind: 'binary', options: { reduction, ...extra } }));
    }
  }
  for (const reduction of R) {
    add(mk('binaryCrossEntropyWithLogits', [9, 11], { input: 'extreme', targetKind: 'binary', options: { reduction, posWeight: 'last' } }));
    add(mk('binaryCrossEntropyWithLogits', [9, 11], { input: 'neginf', targetKind: 'binary', options: { reduction } }));
    add(mk('binaryCrossEntropyWithLogits', [9, 11], { input: 'nan', targetKind: 'binary', options: { reduction } }));
    add(mk('klDiv', [9, 11], { input: 'nan', targetKind: 'klProb', options: { reduction } }));
  }
  add(mk('binaryCrossEntropyWithLogits', [70000, 10], { targetKind: 'binary', options: { reduction: 'sum', posWeight: 'last' }, tags: ['big'] }));

  // --- KL divergence
  for (const shape of [[7], [3, 5], [1000, 10], [2, 3, 5], [1]]) {
    for (const logTarget of [false, true]) {
      for (const reduction of ['none', 'mean', 'sum', 'batchmean'] as const) {
        add(mk('klDiv', shape, { input: 'logprob', targetKind: logTarget ? 'klLog' : 'klProb', options: { reduction, logTarget } }));
      }
    }
  }
  add(mk('klDiv', [70000, 10], { input: 'logprob', targetKind: 'klProb', options: { reduction: 'batchmean' }, tags: ['big'] }));

  // --- gradients (loss and d loss / d input)
  for (const reduction of R) {
    const go = reduction === 'none' ? { gradOutput: true } : {};
    for (const shape of [[3, 5], [1000, 10], [3, 257], [3, 32000], [4, 5, 3], [5]]) {
      add(mk('crossEntropy', shape, { targetKind: 'ignore', options: { reduction, grad: true, ...go } }));
      add(mk('crossEntropy', shape, { targetKind: 'ignore', options: { reduction, grad: true, weight: 'class', labelSmoothing: 0.1 } }));
      add(mk('crossEntropy', shape, { targetKind: 'prob', options: { reduction, grad: true, labelSmoothing: 0.1, ...go } }));
      add(mk('nllLoss', shape, { input: 'logprob', targetKind: 'ignore', options: { reduction, grad: true, weight: 'class', ...go } }));
    }
    add(mk('crossEntropy', [6, 5], { targetKind: 'allIgnored', options: { reduction, grad: true } }));
    add(mk('crossEntropy', [7, 10], { input: 'neginf', targetKind: 'index', options: { reduction, grad: true } }));
    for (const shape of [[7], [3, 5], [1000, 10]]) {
      add(mk('binaryCrossEntropy', shape, { input: 'prob01', targetKind: 'binary', options: { reduction, grad: true, weight: 'last', ...go } }));
      add(mk('binaryCrossEntropyWithLogits', shape, { targetKind: 'binary', options: { reduction, grad: true, posWeight: 'last', ...go } }));
      add(mk('klDiv', shape, { input: 'logprob', targetKind: 'klProb', options: { reduction, grad: true, ...go } }));
      add(mk('klDiv', shape, { input: 'logprob', targetKind: 'klLog', options: { reduction, grad: true, logTarget: true } }));
    }
  }
  add(mk('klDiv', [4, 6], { input: 'logprob', targetKind: 'klProb', options: { reduction: 'batchmean', grad: true } }));
  add(mk('crossEntropy', [3, 257], { targetKind: 'index', options: { reduction: 'mean', grad: true, inPlace: true } }));
  add(mk('binaryCrossEntropyWithLogits', [3, 5], { targetKind: 'binary', options: { reduction: 'sum', grad: true, inPlace: true } }));

  // --- a few dozen rows of mid-size classes: several chunks under a small maxBindingBytes while
  // every row still fits one, and cheap enough for workgroup-per-row plans on SwiftShader
  const chunk = ['chunk'];
  for (const shape of [[40, 1000], [8, 300, 10]]) {
    add(mk('softmax', shape, { dim: 1, tags: chunk }));
    add(mk('logSoftmax', shape, { dim: 1, input: 'neginf', tags: chunk }));
    add(mk('entropy', shape, { dim: 1, options: { reduction: 'mean' }, tags: chunk }));
    add(mk('softmaxBackward', shape, { dim: 1, input: 'softmaxOut', targetKind: 'dy', tags: chunk }));
    for (const reduction of R) {
      add(mk('crossEntropy', shape, { targetKind: 'ignore', options: { reduction, weight: 'class', labelSmoothing: 0.1 }, tags: chunk }));
      add(mk('crossEntropy', shape, { targetKind: 'prob', options: { reduction }, tags: chunk }));
      add(mk('nllLoss', shape, { input: 'logprob', targetKind: 'ignore', options: { reduction, weight: 'class' }, tags: chunk }));
    }
    add(mk('crossEntropy', shape, { targetKind: 'index', options: { reduction: 'mean', grad: true }, tags: chunk }));
  }

  const seen = new Set<string>();
  for (const c of cs) {
    if (seen.has(c.id)) throw new Error(`duplicate case id ${c.id}`);
    seen.add(c.id);
  }
  return cs;
}

export const CASES: readonly Case[] = buildCases();

export function caseById(id: string): Case {
  const c = CASES.find((k) => k.id === id);
  if (!c) throw new Error(`no case ${id}`);
  return c;
}

/** Whether a case's rows are long enough to reach the subgroup/workgroup/split kernels (C > 64). */
export function isLongRow(c: Case): boolean {
  const d = rowDim(c);
  return d !== undefined && c.method !== 'nllLoss' && (c.shape.length === 0 ? 1 : c.shape[d]) > 64;
}

/**
 * The Chromium subset: every method, a few shapes per family (thread, subgroup/workgroup, split),
 * -inf and extreme logits, ignored and all-ignored targets, K-dim inputs, gradients.
 */
export function browserCases(): Case[] {
  const want = (c: Case) => {
    if (c.tags.includes('big')) return false;
    const s = c.shape.join('x');
    const famShapes = ['3x5', '3x257', '3x32000', '1x131072', '4x5x3', '1000x10', '1000x65', '5', '6x5', '6x300', '8x7', '40x1000', '8x300x10'];
    if (!famShapes.includes(s) && !c.input) return false;
    const o = c.options;
    if (c.input && !['7x10', '5x257', '2x40000', '9x11', '3x5', '1000x10', '7', '3x257', '3x32000', '1x131072', '5', '2x5x3x4'].includes(s)) return false;
    // one reduction per (method, shape, variant) to keep the page fast, except the cheap small shapes
    if (o.reduction === 'sum' && s !== '3x5') return false;
    return true;
  };
  return CASES.filter(want);
}
