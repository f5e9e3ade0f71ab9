/**
 * A float64 reference of the gradients of issue 5, written from the formulas of PyTorch 1.13's
 * autograd (and docs/ARCHITECTURE.md, "The plan and the numerics contract" where the contract deliberately differs). Shares no code with src/;
 * the loss values come from the forward reference, test/reference.ts.
 *
 * The class-dim losses follow torch's chain exactly: first the gradient with respect to the
 * log-probabilities (nll_loss backward, the smoothing term masked on ignored rows), then
 * log_softmax's backward dx = dlogp − p·Σ dlogp. So its NaNs and infinities fall where torch's do:
 * a weighted 'mean' whose weights sum to 0 scales by 1/0 (NaN rows where 0·inf meets), a row with a
 * NaN logit gives NaN even when its target is ignored, a −inf logit has p = 0 and a finite gradient.
 *
 * Every function returns `{ loss, grad }`: `loss` as test/reference.ts returns it (number or tensor),
 * `grad` a `{ data: Float64Array, shape }` of the input's shape.
 */
import * as ref from './reference.js';
import type { Arr, LossReduction, Ref } from './reference.js';
import { geometry, normDim, size } from './reference.js';

export interface GradRef {
  loss: number | Ref;
  grad: Ref;
}

/** The upstream gradient of reduction 'none' (default ones). */
export interface UpstreamOptions {
  gradOutput?: Arr;
}

function classGeometry(shape: readonly number[]) {
  if (shape.length === 0) throw new Error('grad reference: input needs a class dim');
  return geometry(shape, shape.length === 1 ? 0 : 1);
}

/** The upstream value of loss element r: gradOutput[r] for 'none' (default 1); 1 for a reduced loss. */
export function upstream(opts: UpstreamOptions, reduction: string, n: number): (r: number) => number {
  if (reduction !== 'none') {
    if (opts.gradOutput !== undefined) throw new Error('grad reference: gradOutput needs reduction none');
    return () => 1;
  }
  const go = opts.gradOutput;
  if (go === undefined) return () => 1;
  if (go.length !== n) throw new Error(`grad reference: gradOutput has ${go.length} elements, expected ${n}`);
  return (r) => go[r];
}

/** Softmax probabilities of row (o, i) in float64; -inf logits give 0, a NaN or +inf in the row gives NaN. */
function rowProbs(x: Arr, g: ReturnType<typeof geometry>, o: number, i: number, p: Float64Array): void {
  let m = -Infinity;
  let bad = false;
  for (let c = 0; c < g.C; c++) {
    const v = x[g.at(o, c, i)];
    if (Number.isNaN(v) || v === Infinity) bad = true;
    if (v > m) m = v;
  }
  if (bad || m === -Infinity) {
    p.fill(NaN, 0, g.C);
    return;
  }
  let s = 0;
  for (let c = 0; c < g.C; c++) s += Math.exp(x[g.at(o, c, i)] - m);
  for (let c = 0; c < g.C; c++) p[c] = Math.exp(x[g.at(o, c, i)] - m) / s;
}

/** log_softmax backward of one row: dx_c = dlogp_c − p_c·Σ dlogp. */
function logSoftmaxRowBackward(dlogp: Float64Array, p: Float64Array, C: number, out: Float64Array, g: ReturnType<typeof geometry>, o: number, i: number): void {
  let S = 0;
  for (let c = 0; c < C; c++) S += dlogp[c];
  for (let c = 0; c < C; c++) out[g.at(o, c, i)] = dlogp[c] - p[c] * S;
}

// ------------------------------------------------------------------ class-dim losses

export type CrossEntropyGradOptions = ref.CrossEntropyRefOptions & UpstreamOptions;

/**
 * F.cross_entropy's gradient. Index targets: dlogp_t = −(1−ε)·w_t·g_nll, dlogp_c −= (ε/C)·w_c·g_smooth
 * (0 on ignored rows), where g is gradOutput[r] ('none'), 1 ('sum'), or for 'mean' 1/Σ w_t over the
 * non-ignored rows (the smoothing part: 1/count of them when unweighted — the same number).
 * Probability targets: dlogp_c = −g·w_c·t'_c, t' = t(1−ε) + ε/C, 'mean' g = 1/rows.
 */
export function crossEntropyGrad(x: Arr, shape: readonly number[], target: Arr, opts: CrossEntropyGradOptions = {}): GradRef {
  const { gradOutput, ...fwd } = opts;
  const loss = ref.crossEntropy(x, shape, target, fwd);
  const g = classGeometry(shape);
  const { C, rows } = g;
  const eps = opts.labelSmoothing ?? 0;
  const ignore = opts.ignoreIndex ?? -100;
  const red = opts.reduction ?? 'mean';
  const w = (c: number) => (opts.weight ? opts.weight[c] : 1);
  const go = upstream(opts, red, rows);
  const out = new Float64Array(size(shape));
  const p = new Float64Array(C);
  const dlogp = new Float64Array(C);

  if (!(target instanceof Int32Array)) {
    for (let o = 0; o < g.outer; o++) {
      for (let i = 0; i < g.inner; i++) {
        const r = o * g.inner + i;
        const scale = red === 'mean' ? 1 / rows : go(r);
        for (let c = 0; c < C; c++) dlogp[c] = -scale * w(c) * (target[g.at(o, c, i)] * (1 - eps) + eps / C);
        rowProbs(x, g, o, i, p);
        logSoftmaxRowBackward(dlogp, p, C, out, g, o, i);
      }
    }
    return { loss, grad: { data: out, shape: [...shape] } };
  }

  let wSum = 0;
  for (let r = 0; r < rows; r++) if (target[r] !== ignore) wSum += w(target[r]);
  for (let o = 0; o < g.outer; o++) {
    for (let i = 0; i < g.inner; i++) {
      const r = o * g.inner + i;
      const t = target[r];
      const scale = red === 'mean' ? 1 / wSum : go(r);
      dlogp.fill(0);
      if (t !== ignore) {
        dlogp[t] = -(1 - eps) * (w(t) * scale);
        if (eps > 0) for (let c = 0; c < C; c++) dlogp[c] -= (eps / C) * w(c) * scale;
      }
      rowProbs(x, g, o, i, p);
      logSoftmaxRowBackward(dlogp, p, C, out, g, o, i);
    }
  }
  return { loss, grad: { data: out, shape: [...shape] } };
}

export type NllGradOptions = ref.NllRefOptions & UpstreamOptions;

/** F.nll_loss's gradient: −w_t·g at the target, 0 elsewhere and on ignored rows ('mean': g = 1/Σ w_t). */
export function nllLossGrad(x: Arr, shape: readonly number[], target: Arr, opts: NllGradOptions = {}): GradRef {
  const { gradOutput, ...fwd } = opts;
  const loss = ref.nllLoss(x, shape, target, fwd);
  const g = classGeometry(shape);
  const ignore = opts.ignoreIndex ?? -100;
  const red = opts.reduction ?? 'mean';
  const w = (c: number) => (opts.weight ? opts.weight[c] : 1);
  const go = upstream(opts, red, g.rows);
  let wSum = 0;
  for (let r = 0; r < g.rows; r++) if (target[r] !== ignore) wSum += w(target[r]);
  const out = new Float64Array(size(shape));
  for (let o = 0; o < g.outer; o++) {
    for (let i = 0; i < g.inner; i++) {
      const r = o * g.inner + i;
      const t = target[r];
      if (t === ignore) continue;
      out[g.at(o, t, i)] = -w(t) * (red === 'mean' ? 1 / wSum : go(r));
    }
  }
  return { loss, grad: { data: out, shape: [...shape] } };
}

// ------------------------------------------------------------------ element-wise losses

function broadcastRight(weight: Arr | undefined, shape: readonly number[]): (i: number) => number {
  if (weight === undefined) return () => 1;
  const n = weight.length;
  let p = 1;
  let ok = n === 1;
  for (let k = shape.length - 1; k >= 0 && !ok; k--) {
    p *= shape[k];
    if (p === n) ok = true;
  }
  if (!ok) throw new Error(`grad reference: weight of length ${n} does not cover trailing dims of [${shape}]`);
  return (i) => weight[i % n];
}

function elementScale(reduction: string, shape: readonly number[], opts: UpstreamOptions): (i: number) => number {
  const n = size(shape);
  if (reduction === 'mean') return () => 1 / n;
  if (reduction === 'batchmean') {
    const b = shape.length === 0 ? 1 : shape[0];
    return () => 1 / b;
  }
  return upstream(opts, reduction, n);
}

/** torch's EPSILON of the BCE backward: the float 1e-12 (its denominator is max((1 − x)·x, EPSILON)). */
export const BCE_GRAD_EPS = Math.fround(1e-12);

export type BceGradOptions = ref.BceRefOptions & UpstreamOptions;

/** F.binary_cross_entropy's gradient: g·w·(x − t)/max((1 − x)·x, 1e-12). */
export function binaryCrossEntropyGrad(x: Arr, shape: readonly number[], target: Arr, opts: BceGradOptions = {}): GradRef {
  const { gradOutput, ...fwd } = opts;
  const loss = ref.binaryCrossEntropy(x, shape, target, fwd);
  const w = broadcastRight(opts.weight, shape);
  const g = elementScale(opts.reduction ?? 'mean', shape, opts);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = g(i) * ((x[i] - target[i]) / Math.max((1 - x[i]) * x[i], BCE_GRAD_EPS)) * w(i);
  return { loss, grad: { data: out, shape: [...shape] } };
}

export type BceLogitsGradOptions = ref.BceLogitsRefOptions & UpstreamOptions;

/** F.binary_cross_entropy_with_logits's gradient: g·w·((p·t + 1 − t)·σ(x) − p·t) (p = posWeight, default 1). */
export function binaryCrossEntropyWithLogitsGrad(x: Arr, shape: readonly number[], target: Arr, opts: BceLogitsGradOptions = {}): GradRef {
  const { gradOutput, ...fwd } = opts;
  const loss = ref.binaryCrossEntropyWithLogits(x, shape, target, fwd);
  const w = broadcastRight(opts.weight, shape);
  const g = elementScale(opts.reduction ?? 'mean', shape, opts);
  const last = shape.length === 0 ? 1 : shape[shape.length - 1];
  const pw = opts.posWeight;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const sig = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
    const t = target[i];
    const pt = (pw ? pw[pw.length === 1 ? 0 : i % last] : 1) * t;
    out[i] = g(i) * ((pt + 1 - t) * sig - pt) * w(i);
  }
  return { loss, grad: { data: out, shape: [...shape] } };
}

export type KlGradOptions = ref.KlRefOptions & UpstreamOptions;

/** F.kl_div's gradient (PyTorch 1.13): −g·t for any t (xlogy(t, t) does not depend on x); log targets −g·e^t. */
export function klDivGrad(x: Arr, shape: readonly number[], target: Arr, opts: KlGradOptions = {}): GradRef {
  const { gradOutput, ...fwd } = opts;
  const loss = ref.klDiv(x, shape, target, fwd);
  const g = elementScale(opts.reduction ?? 'mean', shape, opts);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const t = target[i];
    const d = opts.logTarget ? -Math.exp(t) : -t;
    out[i] = g(i) * d;
  }
  return { loss, grad: { data: out, shape: [...shape] } };
}

// ------------------------------------------------------------------ backward of softmax / log_softmax

function rowsBackward(y: Arr, shape: readonly number[], dy: Arr, dim: number | undefined,
  f: (yv: number, dyv: number, sum: number) => number, term: (yv: number, dyv: number) => number): Ref {
  if (y.length !== size(shape) || dy.length !== y.length) throw new Error('grad reference: y/dy length mismatch');
  const g = geometry(shape, normDim(dim, shape.length));
  const out = new Float64Array(y.length);
  for (let o = 0; o < g.outer; o++) {
    for (let i = 0; i < g.inner; i++) {
      let s = 0;
      for (let c = 0; c < g.C; c++) s += term(y[g.at(o, c, i)], dy[g.at(o, c, i)]);
      for (let c = 0; c < g.C; c++) out[g.at(o, c, i)] = f(y[g.at(o, c, i)], dy[g.at(o, c, i)], s);
    }
  }
  return { data: out, shape: [...shape] };
}

/** softmax's vector-Jacobian product given y = softmax(x): y·(dy − Σ y·dy) along dim. */
export function softmaxBackward(y: Arr, shape: readonly number[], dy: Arr, opts: { dim?: number } = {}): Ref {
  return rowsBackward(y, shape, dy, opts.dim, (yv, d, s) => yv * (d - s), (yv, d) => yv * d);
}

/** log_softmax's vector-Jacobian product given y = log_softmax(x): dy − e^y·Σ dy along dim. */
export function logSoftmaxBackward(y: Arr, shape: readonly number[], dy: Arr, opts: { dim?: number } = {}): Ref {
  return rowsBackward(y, shape, dy, opts.dim, (yv, d, s) => d - Math.exp(yv) * s, (_, d) => d);
}

// ------------------------------------------------------------------ finite differences

/** f summed against the upstream gradient: the scalar whose gradient `grad: true` returns. */
export function scalarOf(loss: number | Ref, gradOutput?: Arr): number {
  if (typeof loss === 'number') return loss;
  let s = 0;
  for (let i = 0; i < loss.data.length; i++) s += (gradOutput ? gradOutput[i] : 1) * loss.data[i];
  return s;
}

/** Central differences of the scalar f at x (float64), step h·max(1, |x_i|). */
export function centralDifferences(f: (x: Float64Array) => number, x: Arr, h = 1e-6): Float64Array {
  const xs = Float64Array.from(x as ArrayLike<number>);
  const out = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i];
    const step = h * Math.max(1, Math.abs(v));
    xs[i] = v + step;
    const fp = f(xs);
    xs[i] = v - step;
    const fm = f(xs);
    xs[i] = v;
    out[i] = (fp - fm) / (2 * step);
  }
  return out;
}

export type { LossReduction };
