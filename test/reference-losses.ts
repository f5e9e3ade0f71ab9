/**
 * An independent float64 reference of the losses of issue 10, written straight from their formulas
 * (not from torch's output), in the style of test/reference.ts, plus the loader of their torch fixtures
 * (test/fixtures/torch-losses/*.json, written by scripts/torch-fixtures-losses.py). Shares no code with src/.
 *
 * - crossEntropyExt: F.cross_entropy (test/reference.ts's options) with
 *     softcap c > 0      the logits become c·tanh(x/c) before anything else (Gemma 2);
 *     zLoss s ≥ 0        every non-ignored row gains s·lse², lse its log-sum-exp of the (capped) logits;
 *                        'mean' adds Σz / (number of non-ignored rows) to the CE's own weighted mean;
 *     focalGamma γ ≥ 0   index targets only, no labelSmoothing: row loss −w_t·(1 − p_t)^γ·log p_t,
 *                        'mean' / Σ w_t over the non-ignored rows (γ = 0 is cross-entropy).
 * - sigmoidFocalLoss: torchvision.ops.sigmoid_focal_loss with 'mean' as the default reduction.
 * - binaryCrossEntropy / binaryCrossEntropyWithLogits whose `weight` may be a {data, shape} tensor that
 *   broadcasts to the input by PyTorch's general rules (a bare array keeps test/reference.ts's trailing rule).
 *
 * Inputs are plain arrays (any ArrayLike<number>) and shapes; every intermediate is a JS double.
 * Reduced losses return a number, everything else `{ data: Float64Array, shape }`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Arr, LossReduction, Ref } from './reference.js';
import {
  bceLossOf, bceLogitsLossOf, broadcastRight, checkLen, classGeometry, classWeight, geometry, posWeightOf, reduce, sigmoidOf, size, softplus,
} from './reference.js';

export type { Arr, LossReduction, Ref };
// test/reference.ts's helpers, re-exported for test/grad-reference-losses.ts and the tests
export { classGeometry, posWeightOf, sigmoidOf, softplus };

// ------------------------------------------------------------------ rows of the class-dim losses

/** The softcap c·tanh(x/c) (identity when c is undefined). */
export function softcapOf(v: number, c: number | undefined): number {
  return c === undefined ? v : c * Math.tanh(v / c);
}

/** d softcap / dx = 1 − tanh²(x/c) (1 when c is undefined). */
export function softcapSlope(v: number, c: number | undefined): number {
  if (c === undefined) return 1;
  const t = Math.tanh(v / c);
  return 1 - t * t;
}

/** Fills `y` with row (o, i)'s (capped) logits and returns their log-sum-exp (NaN for a NaN/+inf in the row, or all -inf). */
export function cappedRow(x: Arr, g: ReturnType<typeof geometry>, o: number, i: number, cap: number | undefined, y: Float64Array): number {
  let m = -Infinity;
  let bad = false;
  for (let c = 0; c < g.C; c++) {
    const v = softcapOf(x[g.at(o, c, i)], cap);
    y[c] = v;
    if (Number.isNaN(v) || v === Infinity) bad = true;
    if (v > m) m = v;
  }
  if (bad || m === -Infinity) return NaN;
  let s = 0;
  for (let c = 0; c < g.C; c++) s += Math.exp(y[c] - m);
  return m + Math.log(s);
}

// ------------------------------------------------------------------ crossEntropy + zLoss / softcap / focalGamma

export interface CrossEntropyExtRefOptions {
  weight?: Arr;
  ignoreIndex?: number;
  labelSmoothing?: number;
  reduction?: LossReduction;
  /** s ≥ 0: each non-ignored row gains s·lse². */
  zLoss?: number;
  /** c > 0: logits become c·tanh(x/c). */
  softcap?: number;
  /** γ ≥ 0: the focal loss −w_t·(1 − p_t)^γ·log p_t (index targets, no labelSmoothing). */
  focalGamma?: number;
}

/** Validates the options of issue 10; returns the normalised values. */
export function extOptions(opts: CrossEntropyExtRefOptions, index: boolean) {
  const z = opts.zLoss;
  const cap = opts.softcap;
  const gamma = opts.focalGamma;
  const eps = opts.labelSmoothing ?? 0;
  if (z !== undefined && !(z >= 0 && Number.isFinite(z))) throw new Error(`reference: zLoss ${z} must be a finite number >= 0`);
  if (cap !== undefined && !(cap > 0)) throw new Error(`reference: softcap ${cap} must be > 0`);
  if (gamma !== undefined && !(gamma >= 0 && Number.isFinite(gamma))) throw new Error(`reference: focalGamma ${gamma} must be a finite number >= 0`);
  if (gamma !== undefined && !index) throw new Error('reference: focalGamma takes class-index targets only');
  if (gamma !== undefined && eps > 0) throw new Error('reference: focalGamma does not combine with labelSmoothing');
  if (!(eps >= 0 && eps <= 1)) throw new Error(`reference: labelSmoothing ${eps} outside [0, 1]`);
  return { z, cap, gamma, eps };
}

/**
 * crossEntropy with the options of issue 10. `target` is class indices when it is an Int32Array (shape =
 * input shape without the class dim), otherwise probabilities with the input's shape (test/reference.ts).
 *
 * With y the capped logits, lse = log Σ exp y, logp = y − lse, p = exp(logp), per non-ignored row r:
 *   CE_r = (1−ε)·w_t·(−logp_t) + (ε/C)·Σ_c w_c·(−logp_c)   or, with focalGamma, −w_t·(1 − p_t)^γ·logp_t
 *   z_r  = s·lse²
 * 'none': CE_r + z_r (0 on ignored rows); 'sum': Σ (CE_r + z_r);
 * 'mean': CE's mean (nll or focal part / Σ w_t; the smoothing part / Σ w_t when weighted, else / count)
 *         + Σ z_r / count, count = the number of non-ignored rows.
 * Probability targets: CE_r = −Σ_c w_c·t'_c·logp_c with t' = t(1−ε) + ε/C; every row counts; 'mean' / rows.
 * 1 − p_t is computed as −expm1(logp_t).
 */
export function crossEntropyExt(x: Arr, shape: readonly number[], target: Arr, opts: CrossEntropyExtRefOptions = {}): number | Ref {
  checkLen('input', x, size(shape));
  const g = classGeometry(shape);
  const { C } = g;
  const index = target instanceof Int32Array;
  const { z, cap, gamma, eps } = extOptions(opts, index);
  const ignore = opts.ignoreIndex ?? -100;
  const red = opts.reduction ?? 'mean';
  const w = classWeight(opts.weight, C);
  const rows = g.outer * g.inner;
  const out = new Float64Array(rows);
  const y = new Float64Array(C);

  if (!index) {
    checkLen('target', target, x.length);
    for (let o = 0; o < g.outer; o++) {
      for (let i = 0; i < g.inner; i++) {
        const lse = cappedRow(x, g, o, i, cap, y);
        let l = 0;
        for (let c = 0; c < C; c++) l -= w(c) * (target[g.at(o, c, i)] * (1 - eps) + eps / C) * (y[c] - lse);
        out[o * g.inner + i] = l + (z === undefined ? 0 : z * lse * lse);
      }
    }
    return reduce(out, g.outShape, red, rows);
  }

  checkLen('target', target, rows);
  let mainSum = 0; // Σ w_t·(−logp_t), or Σ of the focal terms
  let smoothSum = 0;
  let zSum = 0;
  let wSum = 0;
  let count = 0;
  for (let o = 0; o < g.outer; o++) {
    for (let i = 0; i < g.inner; i++) {
      const r = o * g.inner + i;
      const t = target[r];
      if (t === ignore) continue;
      if (!(t >= 0 && t < C)) throw new Error(`reference: target[${r}] = ${t} out of range`);
      const lse = cappedRow(x, g, o, i, cap, y);
      const lpt = y[t] - lse;
      let main: number;
      let smooth = 0;
      if (gamma !== undefined) {
        const q = -Math.expm1(lpt); // 1 − p_t
        main = -w(t) * Math.pow(q, gamma) * lpt;
      } else {
        main = -w(t) * lpt;
        if (eps > 0) for (let c = 0; c < C; c++) smooth -= w(c) * (y[c] - lse);
      }
      const zr = z === undefined ? 0 : z * lse * lse;
      out[r] = (eps > 0 ? (1 - eps) * main + (eps / C) * smooth : main) + zr;
      mainSum += main;
      smoothSum += smooth;
      zSum += zr;
      wSum += w(t);
      count += 1;
    }
  }
  if (red !== 'mean') return reduce(out, g.outShape, red);
  let mean = mainSum / wSum;
  if (eps > 0) mean = (1 - eps) * mean + (eps / C) * (smoothSum / (opts.weight ? wSum : count));
  return z === undefined ? mean : mean + zSum / count;
}

// ------------------------------------------------------------------ sigmoidFocalLoss

export interface SigmoidFocalRefOptions {
  /** Default 0.25; alpha < 0 disables the class weighting. */
  alpha?: number;
  /** Default 2. */
  gamma?: number;
  /** Default 'mean' (torchvision's is 'none'). */
  reduction?: LossReduction;
}

/** The pieces of one element of the sigmoid focal loss: ce, q = 1 − p_t, alpha_t. */
export function sigmoidFocalTerms(v: number, t: number, alpha: number) {
  const s = sigmoidOf(v);
  const sm = sigmoidOf(-v); // 1 − s without cancellation
  return {
    s, sm,
    ce: (1 - t) * v + softplus(-v), // BCE with logits
    q: s * (1 - t) + sm * t, // 1 − p_t, p_t = s·t + (1 − s)(1 − t)
    at: alpha >= 0 ? alpha * t + (1 - alpha) * (1 - t) : 1,
  };
}

export function sigmoidFocalParams(opts: SigmoidFocalRefOptions) {
  const alpha = opts.alpha ?? 0.25;
  const gamma = opts.gamma ?? 2;
  if (!Number.isFinite(alpha)) throw new Error(`reference: alpha ${alpha} must be finite`);
  if (!(gamma >= 0 && Number.isFinite(gamma))) throw new Error(`reference: gamma ${gamma} must be a finite number >= 0`);
  return { alpha, gamma };
}

/**
 * torchvision.ops.sigmoid_focal_loss: p = σ(x), ce = BCE-with-logits(x, t), p_t = p·t + (1−p)(1−t),
 * loss = ce·(1 − p_t)^γ, times alpha·t + (1−alpha)(1−t) when alpha ≥ 0; 'mean' (default) / numel.
 */
export function sigmoidFocalLoss(x: Arr, shape: readonly number[], target: Arr, opts: SigmoidFocalRefOptions = {}): number | Ref {
  checkLen('input', x, size(shape));
  checkLen('target', target, x.length);
  const { alpha, gamma } = sigmoidFocalParams(opts);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const { ce, q, at } = sigmoidFocalTerms(x[i], target[i], alpha);
    out[i] = at * ce * Math.pow(q, gamma);
  }
  return reduce(out, [...shape], opts.reduction ?? 'mean');
}

// ------------------------------------------------------------------ BCE with a broadcast weight

/** A weight: a bare array (trailing dims of the input, or length 1) or a tensor broadcast by PyTorch's rules. */
export type WeightArg = Arr | { data: Arr; shape: readonly number[] };

function isTensor(w: WeightArg): w is { data: Arr; shape: readonly number[] } {
  return typeof w === 'object' && w !== null && 'shape' in w && 'data' in w && Array.isArray((w as { shape: unknown }).shape);
}

/**
 * Index into a tensor of shape `wshape` for each flat (row-major) index of `shape`, by PyTorch's general
 * broadcasting: shapes aligned from the right, each weight dim 1 or equal; the weight's rank ≤ the input's.
 */
export function broadcastIndex(wshape: readonly number[], shape: readonly number[]): (i: number) => number {
  const n = shape.length;
  const m = wshape.length;
  if (m > n) throw new Error(`reference: weight shape [${wshape}] has more dims than the input's [${shape}]`);
  const wstride = new Array<number>(n).fill(0); // the weight's stride along each input dim (0: broadcast)
  let s = 1;
  for (let k = m - 1; k >= 0; k--) {
    const d = n - m + k;
    if (wshape[k] !== 1 && wshape[k] !== shape[d]) {
      throw new Error(`reference: weight shape [${wshape}] does not broadcast to [${shape}]`);
    }
    if (wshape[k] !== 1) wstride[d] = s;
    s *= wshape[k];
  }
  return (i) => {
    let r = 0;
    let rest = i;
    for (let d = n - 1; d >= 0; d--) {
      const idx = rest % shape[d];
      rest = (rest - idx) / shape[d];
      r += idx * wstride[d];
    }
    return r;
  };
}

/** The element weight function of a weight argument. */
export function weightOf(weight: WeightArg | undefined, shape: readonly number[]): (i: number) => number {
  if (weight === undefined) return () => 1;
  if (isTensor(weight)) {
    checkLen('weight', weight.data, size(weight.shape));
    const at = broadcastIndex(weight.shape, shape);
    const d = weight.data;
    return (i) => d[at(i)];
  }
  return broadcastRight('weight', weight, shape);
}

export interface BceBroadcastRefOptions {
  weight?: WeightArg;
  reduction?: LossReduction;
}

/** F.binary_cross_entropy: −w·(t·max(log x, −100) + (1−t)·max(log(1−x), −100)), w broadcast; 'mean' / numel. */
export function binaryCrossEntropy(x: Arr, shape: readonly number[], target: Arr, opts: BceBroadcastRefOptions = {}): number | Ref {
  return bceLossOf(x, shape, target, (s) => weightOf(opts.weight, s), opts.reduction ?? 'mean');
}

export interface BceLogitsBroadcastRefOptions extends BceBroadcastRefOptions {
  /** Length = last dim (or 1): broadcast along the last dim. */
  posWeight?: Arr;
}

/** F.binary_cross_entropy_with_logits: w·((1−t)·x + (1 + (p−1)·t)·softplus(−x)), w broadcast; 'mean' / numel. */
export function binaryCrossEntropyWithLogits(x: Arr, shape: readonly number[], target: Arr, opts: BceLogitsBroadcastRefOptions = {}): number | Ref {
  return bceLogitsLossOf(x, shape, target, (s) => weightOf(opts.weight, s), opts.posWeight, opts.reduction ?? 'mean');
}

// ------------------------------------------------------------------ the torch fixtures of issue 10

export type ExtFile = 'crossEntropyExt' | 'sigmoidFocalLoss' | 'bceBroadcast';
export type ExtOp = 'crossEntropy' | 'sigmoidFocalLoss' | 'binaryCrossEntropy' | 'binaryCrossEntropyWithLogits';
export const EXT_FILES: readonly ExtFile[] = ['bceBroadcast', 'crossEntropyExt', 'sigmoidFocalLoss'];
export const EXT_OPS: readonly ExtOp[] = ['crossEntropy', 'sigmoidFocalLoss', 'binaryCrossEntropy', 'binaryCrossEntropyWithLogits'];

export interface ExtTensor<A> {
  data: A;
  shape: number[];
}

/** One case of test/fixtures/torch-losses: the library call (op, input, target, options) and torch's answer. */
export interface ExtCase {
  file: ExtFile;
  /** The library method. */
  op: ExtOp;
  name: string;
  /** `${file}: ${name}`, unique. */
  id: string;
  input: ExtTensor<Float32Array>;
  /** Class indices (Int32Array) or float targets, bare or as a {data, shape} tensor (`asTensor`). */
  target: Int32Array | Float32Array | ExtTensor<Int32Array | Float32Array>;
  /**
   * Library options as the library names them: grad (true), reduction, gradOutput (Float32Array or a
   * tensor), weight (crossEntropy: Float32Array; BCE: a tensor, broadcast by PyTorch's rules), posWeight
   * (Float32Array), ignoreIndex, labelSmoothing, zLoss, softcap, focalGamma, alpha, gamma.
   */
  options: Record<string, unknown>;
  /** torch's loss: a number for 'mean'/'sum', a float64 tensor for 'none'. */
  loss: number | ExtTensor<Float64Array>;
  /** torch's d loss / d input (for 'none': the vector-Jacobian product with gradOutput, default ones). */
  grad: ExtTensor<Float64Array>;
}

type JsonNum = number | 'NaN' | 'Infinity' | '-Infinity';
interface JsonTensor { data: JsonNum[]; shape: number[] }
interface JsonCase {
  name: string;
  op: ExtOp;
  input: JsonTensor;
  target: JsonTensor & { dtype: 'int32' | 'float32'; asTensor: boolean };
  options: Record<string, unknown>;
  expected: { loss: JsonNum | JsonTensor; grad: JsonTensor };
}

function num(v: JsonNum): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  throw new Error(`fixture: bad number ${JSON.stringify(v)}`);
}

const nums = (a: JsonNum[]) => a.map(num);
const f32t = (t: JsonTensor): ExtTensor<Float32Array> => ({ data: new Float32Array(nums(t.data)), shape: [...t.shape] });
const f64t = (t: JsonTensor): ExtTensor<Float64Array> => ({ data: new Float64Array(nums(t.data)), shape: [...t.shape] });

function floats(v: unknown): Float32Array | ExtTensor<Float32Array> {
  if (Array.isArray(v)) return new Float32Array(nums(v as JsonNum[]));
  if (v && typeof v === 'object' && 'data' in v && 'shape' in v) return f32t(v as JsonTensor);
  throw new Error(`fixture: bad float array ${JSON.stringify(v)}`);
}

export const EXT_FIXTURE_DIR = fileURLToPath(new URL('./fixtures/torch-losses/', import.meta.url));

/** Every case of test/fixtures/torch-losses/*.json (files sorted by name, cases in file order). */
export function extFixtureCases(dir = EXT_FIXTURE_DIR): ExtCase[] {
  const cases: ExtCase[] = [];
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  for (const f of files) {
    const file = f.slice(0, -5) as ExtFile;
    if (!EXT_FILES.includes(file)) throw new Error(`fixture: unknown file ${f}`);
    const json = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')) as { file: string; cases: JsonCase[] };
    if (json.file !== file) throw new Error(`fixture ${f}: "file" is ${json.file}`);
    for (const c of json.cases) {
      if (!EXT_OPS.includes(c.op)) throw new Error(`fixture ${f} ${c.name}: unknown op ${c.op}`);
      const options: Record<string, unknown> = { ...c.options };
      for (const k of ['weight', 'posWeight', 'gradOutput']) if (k in options) options[k] = floats(options[k]);
      const t = c.target;
      const data = t.dtype === 'int32'
        ? new Int32Array(t.data.map((v) => {
          if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`fixture ${c.name}: bad class index ${v}`);
          return v;
        }))
        : new Float32Array(nums(t.data));
      if (data.length !== size(t.shape)) throw new Error(`fixture ${c.name}: target length/shape mismatch`);
      const input = f32t(c.input);
      if (input.data.length !== size(input.shape)) throw new Error(`fixture ${c.name}: input length/shape mismatch`);
      const e = c.expected;
      cases.push({
        file, op: c.op, name: c.name, id: `${file}: ${c.name}`, input,
        target: t.asTensor ? { data, shape: [...t.shape] } : data,
        options,
        loss: typeof e.loss === 'object' ? f64t(e.loss) : num(e.loss),
        grad: f64t(e.grad),
      });
    }
  }
  const ids = new Set<string>();
  for (const c of cases) {
    if (ids.has(c.id)) throw new Error(`fixture: duplicate case ${c.id}`);
    ids.add(c.id);
  }
  return cases;
}

/** The target's data of a case (bare or tensor). */
export function targetData(c: ExtCase): Int32Array | Float32Array {
  return c.target instanceof Int32Array || c.target instanceof Float32Array ? c.target : c.target.data;
}
