/**
 * An independent float64 reference of every op, written straight from the formulas (PyTorch 1.13's
 * semantics, and docs/ARCHITECTURE.md, "The plan and the numerics contract" where the contract deliberately differs). Shares no code with src/.
 *
 * Inputs are plain arrays (any ArrayLike<number>) and shapes; every intermediate is a JS double.
 * Reduced losses return a number, everything else `{ data: Float64Array, shape }`.
 */

export type Arr = ArrayLike<number>;
export interface Ref {
  data: Float64Array;
  shape: number[];
}
export type LossReduction = 'none' | 'mean' | 'sum';

export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function normDim(dim: number | undefined, rank: number): number {
  const r = Math.max(rank, 1);
  const d = dim ?? -1;
  if (!Number.isInteger(d) || d < -r || d >= r) throw new Error(`reference: dim ${d} out of range for rank ${rank}`);
  return d < 0 ? d + r : d;
}

/** Row geometry along `dim`: element (o, c, i) is at (o·C + c)·inner + i. */
export function geometry(shape: readonly number[], dim: number) {
  const s = shape.length === 0 ? [1] : shape;
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < dim; i++) outer *= s[i];
  for (let i = dim + 1; i < s.length; i++) inner *= s[i];
  return { outer, C: s[dim], inner, rows: outer * inner, at: (o: number, c: number, i: number) => (o * s[dim] + c) * inner + i };
}

/** log Σ exp over a row; NaN if the row has a NaN or a +inf, -inf if every entry is -inf (torch gives NaN downstream). */
function logSumExp(x: Arr, idx: (c: number) => number, C: number): number {
  let m = -Infinity;
  for (let c = 0; c < C; c++) {
    const v = x[idx(c)];
    if (Number.isNaN(v)) return NaN;
    if (v > m) m = v;
  }
  if (m === Infinity) return NaN; // inf - inf
  if (m === -Infinity) return NaN; // every logit -inf: 0/0 probabilities, as torch
  let s = 0;
  for (let c = 0; c < C; c++) s += Math.exp(x[idx(c)] - m);
  return m + Math.log(s);
}

export function checkLen(name: string, a: Arr, n: number) {
  if (a.length !== n) throw new Error(`reference: ${name} has ${a.length} elements, expected ${n}`);
}

// ------------------------------------------------------------------ softmax, logSoftmax, sigmoid, entropy

function rowsOp(x: Arr, shape: readonly number[], dim: number | undefined, f: (v: number, lse: number) => number): Ref {
  checkLen('x', x, size(shape));
  const d = normDim(dim, shape.length);
  const g = geometry(shape, d);
  const out = new Float64Array(x.length);
  for (let o = 0; o < g.outer; o++) {
    for (let i = 0; i < g.inner; i++) {
      const lse = logSumExp(x, (c) => g.at(o, c, i), g.C);
      for (let c = 0; c < g.C; c++) out[g.at(o, c, i)] = f(x[g.at(o, c, i)], lse);
    }
  }
  return { data: out, shape: [...shape] };
}

export function softmax(x: Arr, shape: readonly number[], opts: { dim?: number } = {}): Ref {
  return rowsOp(x, shape, opts.dim, (v, lse) => Math.exp(v - lse));
}

export function logSoftmax(x: Arr, shape: readonly number[], opts: { dim?: number } = {}): Ref {
  return rowsOp(x, shape, opts.dim, (v, lse) => v - lse);
}

/** σ(v) without overflow. */
export function sigmoidOf(v: number): number {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}

export function sigmoid(x: Arr, shape: readonly number[]): Ref {
  checkLen('x', x, size(shape));
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = sigmoidOf(x[i]);
  return { data: out, shape: [...shape] };
}

/** 'none': the tensor; 'sum': Σ out (in index order); 'mean': Σ out / meanDivisor. */
export function reduce(out: Float64Array, shape: number[], reduction: LossReduction, meanDivisor = out.length): number | Ref {
  if (reduction === 'none') return { data: out, shape };
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i];
  return reduction === 'sum' ? s : s / meanDivisor;
}

/** Categorical(logits).entropy() over `dim`: −Σ p·log p; -inf logits contribute exactly 0. Default reduction 'none'. */
export function entropy(x: Arr, shape: readonly number[], opts: { dim?: number; reduction?: LossReduction } = {}): number | Ref {
  checkLen('x', x, size(shape));
  const d = normDim(opts.dim, shape.length);
  const g = geometry(shape, d);
  const out = new Float64Array(g.outer * g.inner);
  for (let o = 0; o < g.outer; o++) {
    for (let i = 0; i < g.inner; i++) {
      const lse = logSumExp(x, (c) => g.at(o, c, i), g.C);
      let h = 0;
      for (let c = 0; c < g.C; c++) {
        const z = x[g.at(o, c, i)] - lse;
        if (z === -Infinity) continue; // p = 0; Categorical clamps the logit, so p·log p = 0
        h -= Math.exp(z) * z;
      }
      out[o * g.inner + i] = h;
    }
  }
  return reduce(out, shape.filter((_, k) => k !== d), opts.reduction ?? 'none');
}

// ------------------------------------------------------------------ class-dim losses

/** Row geometry of a class-dim loss: the class dim is 0 for a 1-D input, else 1; outShape drops it. */
export function classGeometry(shape: readonly number[]) {
  if (shape.length === 0) throw new Error('reference: input needs a class dim');
  const dim = shape.length === 1 ? 0 : 1;
  return { ...geometry(shape, dim), outShape: shape.filter((_, k) => k !== dim) };
}

/** A class-dim loss's per-class weight w(c) (1 without a weight), its length checked against C. */
export function classWeight(weight: Arr | undefined, C: number): (c: number) => number {
  if (weight) checkLen('weight', weight, C);
  return (c) => (weight ? weight[c] : 1);
}

export interface CrossEntropyRefOptions {
  weight?: Arr;
  ignoreIndex?: number;
  labelSmoothing?: number;
  reduction?: LossReduction;
}

/**
 * F.cross_entropy. `target` is class indices when it is an Int32Array (shape = input shape without
 * the class dim), otherwise probabilities with the input's shape.
 *
 * Index targets, smoothing ε: loss_n = (1−ε)·w[t]·(−logp[t]) + (ε/C)·Σ_c w_c·(−logp_c), 0 when ignored.
 * 'mean': the nll part / Σ w[t_n] (non-ignored); the smoothing part / the same sum when weighted,
 * else / the number of non-ignored targets (torch 1.13's LossNLL.cpp: smooth_loss.sum() / (~ignore_mask).sum()).
 * Probability targets: t' = t(1−ε) + ε/C, loss_n = −Σ_c w_c·t'_c·logp_c; 'mean' / number of rows.
 */
export function crossEntropy(x: Arr, shape: readonly number[], target: Arr, opts: CrossEntropyRefOptions = {}): number | Ref {
  checkLen('input', x, size(shape));
  const g = classGeometry(shape);
  const { C } = g;
  const eps = opts.labelSmoothing ?? 0;
  const ignore = opts.ignoreIndex ?? -100;
  const red = opts.reduction ?? 'mean';
  const w = classWeight(opts.weight, C);
  const rows = g.outer * g.inner;
  const out = new Float64Array(rows);

  if (!(target instanceof Int32Array)) {
    checkLen('target', target, x.length);
    for (let o = 0; o < g.outer; o++) {
      for (let i = 0; i < g.inner; i++) {
        const lse = logSumExp(x, (c) => g.at(o, c, i), C);
        let l = 0;
        for (let c = 0; c < C; c++) {
          const k = g.at(o, c, i);
          const tp = target[k] * (1 - eps) + eps / C;
          l -= w(c) * tp * (x[k] - lse);
        }
        out[o * g.inner + i] = l;
      }
    }
    return reduce(out, g.outShape, red, rows);
  }

  checkLen('target', target, rows);
  let nllSum = 0;
  let smoothSum = 0;
  let wSum = 0;
  let count = 0;
  for (let o = 0; o < g.outer; o++) {
    for (let i = 0; i < g.inner; i++) {
      const r = o * g.inner + i;
      const t = target[r];
      if (t === ignore) {
        out[r] = 0;
        continue;
      }
      if (!(t >= 0 && t < C)) throw new Error(`reference: target[${r}] = ${t} out of range`);
      const lse = logSumExp(x, (c) => g.at(o, c, i), C);
      const nll = -w(t) * (x[g.at(o, t, i)] - lse);
      let smooth = 0;
      if (eps > 0) for (let c = 0; c < C; c++) smooth -= w(c) * (x[g.at(o, c, i)] - lse);
      out[r] = eps > 0 ? (1 - eps) * nll + (eps / C) * smooth : nll;
      nllSum += nll;
      smoothSum += smooth;
      wSum += w(t);
      count += 1;
    }
  }
  if (red !== 'mean') return reduce(out, g.outShape, red);
  const nllMean = nllSum / wSum;
  if (eps === 0) return nllMean;
  const smoothMean = smoothSum / (opts.weight ? wSum : count);
  return (1 - eps) * nllMean + (eps / C) * smoothMean;
}

export interface NllRefOptions {
  weight?: Arr;
  ignoreIndex?: number;
  reduction?: LossReduction;
}

/** F.nll_loss: −w[t]·x[n, t], 0 when ignored; 'mean' / Σ w[t_n] over non-ignored n. */
export function nllLoss(x: Arr, shape: readonly number[], target: Arr, opts: NllRefOptions = {}): number | Ref {
  checkLen('input', x, size(shape));
  const g = classGeometry(shape);
  const ignore = opts.ignoreIndex ?? -100;
  const w = classWeight(opts.weight, g.C);
  const rows = g.outer * g.inner;
  checkLen('target', target, rows);
  const out = new Float64Array(rows);
  let wSum = 0;
  for (let o = 0; o < g.outer; o++) {
    for (let i = 0; i < g.inner; i++) {
      const r = o * g.inner + i;
      const t = target[r];
      if (t === ignore) continue;
      if (!(t >= 0 && t < g.C)) throw new Error(`reference: target[${r}] = ${t} out of range`);
      out[r] = -w(t) * x[g.at(o, t, i)];
      wSum += w(t);
    }
  }
  return reduce(out, g.outShape, opts.reduction ?? 'mean', wSum);
}

// ------------------------------------------------------------------ element-wise losses

/** Element weights broadcast from the right: element i uses weight[i mod weight.length]. */
export function broadcastRight(name: string, weight: Arr | undefined, shape: readonly number[]): (i: number) => number {
  if (weight === undefined) return () => 1;
  const n = weight.length;
  let p = 1;
  let ok = n === 1;
  for (let k = shape.length - 1; k >= 0 && !ok; k--) {
    p *= shape[k];
    if (p === n) ok = true;
  }
  if (!ok) throw new Error(`reference: ${name} of length ${n} does not cover trailing dims of [${shape}]`);
  return (i) => weight[i % n];
}

export interface BceRefOptions {
  /** Element weights; its length is the size of some trailing dims of the input (or 1). */
  weight?: Arr;
  reduction?: LossReduction;
}

/** F.binary_cross_entropy: −w·(t·max(log x, −100) + (1−t)·max(log(1−x), −100)); 'mean' / numel. */
export function binaryCrossEntropy(x: Arr, shape: readonly number[], target: Arr, opts: BceRefOptions = {}): number | Ref {
  return bceLossOf(x, shape, target, (s) => broadcastRight('weight', opts.weight, s), opts.reduction ?? 'mean');
}

/** Makes (and checks) the element weights w(i) for an input shape; called after the input and target lengths are checked. */
export type WeightsOf = (shape: readonly number[]) => (i: number) => number;

/** binaryCrossEntropy given how to make the element weights, reduced (also test/reference-losses.ts's). */
export function bceLossOf(x: Arr, shape: readonly number[], target: Arr, weights: WeightsOf, reduction: LossReduction): number | Ref {
  checkLen('input', x, size(shape));
  checkLen('target', target, x.length);
  const w = weights(shape);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!(v >= 0 && v <= 1)) throw new Error(`reference: input[${i}] = ${v} outside [0, 1]`);
    const t = target[i];
    const lx = Math.max(Math.log(v), -100);
    const l1x = Math.max(Math.log(1 - v), -100);
    out[i] = -w(i) * (t * lx + (1 - t) * l1x);
  }
  return reduce(out, [...shape], reduction);
}

export interface BceLogitsRefOptions extends BceRefOptions {
  /** Length = last dim (or 1): broadcast along the last dim. */
  posWeight?: Arr;
}

/** log(1 + e^z) without overflow. */
export function softplus(z: number): number {
  return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
}

/** posWeight of element i (1 without one): its length is the last dim's (broadcast along it), or 1. */
export function posWeightOf(pw: Arr | undefined, shape: readonly number[]): (i: number) => number {
  if (pw === undefined) return () => 1;
  const last = shape.length === 0 ? 1 : shape[shape.length - 1];
  if (pw.length !== last && pw.length !== 1) throw new Error(`reference: posWeight length ${pw.length} != ${last}`);
  return pw.length === 1 ? () => pw[0] : (i) => pw[i % last];
}

/** F.binary_cross_entropy_with_logits: w·((1−t)·x + (1 + (p−1)·t)·softplus(−x)); 'mean' / numel. */
export function binaryCrossEntropyWithLogits(x: Arr, shape: readonly number[], target: Arr, opts: BceLogitsRefOptions = {}): number | Ref {
  return bceLogitsLossOf(x, shape, target, (s) => broadcastRight('weight', opts.weight, s), opts.posWeight, opts.reduction ?? 'mean');
}

/** binaryCrossEntropyWithLogits given how to make the element weights, reduced (also test/reference-losses.ts's). */
export function bceLogitsLossOf(x: Arr, shape: readonly number[], target: Arr, weights: WeightsOf, posWeight: Arr | undefined,
  reduction: LossReduction): number | Ref {
  checkLen('input', x, size(shape));
  checkLen('target', target, x.length);
  const w = weights(shape);
  const pw = posWeightOf(posWeight, shape);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const t = target[i];
    out[i] = w(i) * ((1 - t) * v + (1 + (pw(i) - 1) * t) * softplus(-v));
  }
  return reduce(out, [...shape], reduction);
}

export interface KlRefOptions {
  reduction?: LossReduction | 'batchmean';
  logTarget?: boolean;
}

/**
 * F.kl_div (input holds log-probabilities):
 * - target: PyTorch 1.13's xlogy(t, t) − t·x, xlogy(t, t) being 0 at t = 0 and t·log t elsewhere
 *   (NaN for t < 0): t = 0 at x = −inf gives NaN (0·−inf), a negative target NaN;
 * - logTarget: e^t·(t − x).
 * 'mean' / numel, 'batchmean' / shape[0], 'sum'.
 */
export function klDiv(x: Arr, shape: readonly number[], target: Arr, opts: KlRefOptions = {}): number | Ref {
  checkLen('input', x, size(shape));
  checkLen('target', target, x.length);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const t = target[i];
    const v = x[i];
    if (opts.logTarget) out[i] = Math.exp(t) * (t - v);
    else out[i] = (t === 0 ? 0 : t * Math.log(t)) - t * v;
  }
  const red = opts.reduction ?? 'mean';
  if (red === 'batchmean') return reduce(out, [...shape], 'mean', shape.length === 0 ? 1 : shape[0]);
  return reduce(out, [...shape], red);
}
