/**
 * Float64 analytic gradients of the losses of issue 10 (test/reference-losses.ts), in the style of
 * test/grad-reference.ts. Shares no code with src/; the loss values come from the forward reference.
 *
 * Class-dim losses follow the chain: the gradient with respect to the log-probabilities of the capped
 * logits y (nll / smoothing / focal), then log_softmax's backward dy = dlogp − p·Σ dlogp, plus the z-loss's
 * d(s·lse²)/dy = 2·s·lse·p, then the softcap's dx = (1 − tanh²(x/c))·dy.
 *
 * Every function returns `{ loss, grad }`: `loss` as the forward reference returns it, `grad` a
 * `{ data: Float64Array, shape }` of the input's shape. For reduction 'none' the gradient is the
 * vector-Jacobian product with `gradOutput` (default ones).
 */
import type { GradRef, UpstreamOptions } from './grad-reference.js';
import { BCE_GRAD_EPS, upstream } from './grad-reference.js';
import type { Arr } from './reference.js';
import { size } from './reference.js';
import * as ext from './reference-losses.js';
import type { ExtCase } from './reference-losses.js';

export type { GradRef, UpstreamOptions };
export { BCE_GRAD_EPS };

// ------------------------------------------------------------------ crossEntropy + zLoss / softcap / focalGamma

export type CrossEntropyExtGradOptions = ext.CrossEntropyExtRefOptions & UpstreamOptions;

/**
 * The gradient of crossEntropyExt. Per row, with g the row's upstream scale of each part
 * ('none': gradOutput[r]; 'sum': 1; 'mean': nll/focal part 1/Σ w_t, smoothing part 1/Σ w_t when
 * weighted else 1/count, z part 1/count; probability targets 1/rows for every part):
 *   dlogp_t = −(1−ε)·w_t·g_main,  dlogp_c −= (ε/C)·w_c·g_smooth;
 *   focal:  dlogp_t = −w_t·g_main·(q^γ − γ·q^(γ−1)·p_t·logp_t), q = 1 − p_t (the second term 0 at logp_t = 0,
 *           its limit);
 *   dy_c = dlogp_c − p_c·Σ dlogp + 2·s·lse·p_c·g_z;   dx_c = (1 − tanh²(x_c/c))·dy_c.
 * Ignored rows get 0 (NaN where their logits hold a NaN, as torch's chain gives).
 */
export function crossEntropyExtGrad(x: Arr, shape: readonly number[], target: Arr, opts: CrossEntropyExtGradOptions = {}): GradRef {
  const { gradOutput, ...fwd } = opts;
  const loss = ext.crossEntropyExt(x, shape, target, fwd);
  const g = ext.classGeometry(shape);
  const { C, rows } = g;
  const index = target instanceof Int32Array;
  const { z, cap, gamma, eps } = ext.extOptions(opts, index);
  const ignore = opts.ignoreIndex ?? -100;
  const red = opts.reduction ?? 'mean';
  const w = (c: number) => (opts.weight ? opts.weight[c] : 1);
  const go = upstream(opts, red, rows);
  const out = new Float64Array(size(shape));
  const y = new Float64Array(C);
  const p = new Float64Array(C);
  const dlogp = new Float64Array(C);

  let wSum = 0;
  let count = 0;
  if (index) {
    for (let r = 0; r < rows; r++) {
      if (target[r] === ignore) continue;
      wSum += w(target[r]);
      count += 1;
    }
  }

  for (let o = 0; o < g.outer; o++) {
    for (let i = 0; i < g.inner; i++) {
      const r = o * g.inner + i;
      const lse = ext.cappedRow(x, g, o, i, cap, y);
      for (let c = 0; c < C; c++) p[c] = Math.exp(y[c] - lse);
      dlogp.fill(0);
      let gz = 0;
      if (!index) {
        const scale = red === 'mean' ? 1 / rows : go(r);
        for (let c = 0; c < C; c++) dlogp[c] = -scale * w(c) * (target[g.at(o, c, i)] * (1 - eps) + eps / C);
        gz = scale;
      } else {
        const t = target[r];
        if (t !== ignore) {
          const gMain = red === 'mean' ? 1 / wSum : go(r);
          const gSmooth = red === 'mean' ? 1 / (opts.weight ? wSum : count) : go(r);
          gz = red === 'mean' ? 1 / count : go(r);
          const lpt = y[t] - lse;
          if (gamma !== undefined) {
            const q = -Math.expm1(lpt);
            const pt = Math.exp(lpt);
            const second = lpt === 0 || gamma === 0 ? 0 : gamma * Math.pow(q, gamma - 1) * pt * lpt;
            dlogp[t] = -w(t) * gMain * (Math.pow(q, gamma) - second);
          } else {
            dlogp[t] = -(1 - eps) * w(t) * gMain;
            if (eps > 0) for (let c = 0; c < C; c++) dlogp[c] -= (eps / C) * w(c) * gSmooth;
          }
        }
      }
      let S = 0;
      for (let c = 0; c < C; c++) S += dlogp[c];
      const zc = z === undefined || gz === 0 ? 0 : 2 * z * lse * gz;
      for (let c = 0; c < C; c++) {
        const k = g.at(o, c, i);
        out[k] = ext.softcapSlope(x[k], cap) * (dlogp[c] - p[c] * S + zc * p[c]);
      }
    }
  }
  return { loss, grad: { data: out, shape: [...shape] } };
}

// ------------------------------------------------------------------ sigmoidFocalLoss

export type SigmoidFocalGradOptions = ext.SigmoidFocalRefOptions & UpstreamOptions;

/**
 * d/dx of alpha_t·ce·q^γ (q = 1 − p_t): alpha_t·((σ(x) − t)·q^γ + ce·γ·q^(γ−1)·dq/dx) with
 * dq/dx = σ(x)·σ(−x)·(1 − 2t); the second term is 0 where q = 0 (its limit) or γ = 0.
 */
export function sigmoidFocalLossGrad(x: Arr, shape: readonly number[], target: Arr, opts: SigmoidFocalGradOptions = {}): GradRef {
  const { gradOutput, ...fwd } = opts;
  const loss = ext.sigmoidFocalLoss(x, shape, target, fwd);
  const { alpha, gamma } = ext.sigmoidFocalParams(opts);
  const red = opts.reduction ?? 'mean';
  const n = size(shape);
  const go = red === 'mean' ? () => 1 / n : upstream(opts, red, n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = target[i];
    const { s, sm, ce, q, at } = ext.sigmoidFocalTerms(x[i], t, alpha);
    const dq = s * sm * (1 - 2 * t);
    const second = gamma === 0 || q === 0 ? 0 : ce * gamma * Math.pow(q, gamma - 1) * dq;
    out[i] = go(i) * at * ((s - t) * Math.pow(q, gamma) + second);
  }
  return { loss, grad: { data: out, shape: [...shape] } };
}

// ------------------------------------------------------------------ BCE with a broadcast weight

function elementScale(reduction: string, n: number, opts: UpstreamOptions): (i: number) => number {
  return reduction === 'mean' ? () => 1 / n : upstream(opts, reduction, n);
}

export type BceBroadcastGradOptions = ext.BceBroadcastRefOptions & UpstreamOptions;

/** F.binary_cross_entropy's gradient: g·w·(x − t)/max((1 − x)·x, 1e-12), w broadcast. */
export function binaryCrossEntropyGrad(x: Arr, shape: readonly number[], target: Arr, opts: BceBroadcastGradOptions = {}): GradRef {
  const { gradOutput, ...fwd } = opts;
  const loss = ext.binaryCrossEntropy(x, shape, target, fwd);
  const w = ext.weightOf(opts.weight, shape);
  const g = elementScale(opts.reduction ?? 'mean', x.length, opts);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = g(i) * w(i) * ((x[i] - target[i]) / Math.max((1 - x[i]) * x[i], BCE_GRAD_EPS));
  return { loss, grad: { data: out, shape: [...shape] } };
}

export type BceLogitsBroadcastGradOptions = ext.BceLogitsBroadcastRefOptions & UpstreamOptions;

/** F.binary_cross_entropy_with_logits's gradient: g·w·((p·t + 1 − t)·σ(x) − p·t), w broadcast (p = posWeight). */
export function binaryCrossEntropyWithLogitsGrad(x: Arr, shape: readonly number[], target: Arr, opts: BceLogitsBroadcastGradOptions = {}): GradRef {
  const { gradOutput, ...fwd } = opts;
  const loss = ext.binaryCrossEntropyWithLogits(x, shape, target, fwd);
  const w = ext.weightOf(opts.weight, shape);
  const pw = ext.posWeightOf(opts.posWeight, shape);
  const g = elementScale(opts.reduction ?? 'mean', x.length, opts);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const t = target[i];
    const pt = pw(i) * t;
    out[i] = g(i) * w(i) * ((pt + 1 - t) * ext.sigmoidOf(x[i]) - pt);
  }
  return { loss, grad: { data: out, shape: [...shape] } };
}

// ------------------------------------------------------------------ a fixture case through the references

/** The reference's options for a case: the library's options with typed arrays/tensors unwrapped where needed. */
export function referenceOptions(c: Pick<ExtCase, 'op' | 'options'>): Record<string, unknown> {
  const { grad: _grad, ...o } = c.options;
  const data = (v: unknown) => (v === undefined ? undefined : ArrayBuffer.isView(v) ? v : (v as { data: Arr }).data);
  const out: Record<string, unknown> = { ...o, gradOutput: data(o.gradOutput) };
  if (o.posWeight !== undefined) out.posWeight = data(o.posWeight);
  // crossEntropy's weight is per class (a bare array); BCE's stays a tensor (broadcast) or a bare array (trailing)
  if (c.op === 'crossEntropy' && o.weight !== undefined) out.weight = data(o.weight);
  return out;
}

/** The float64 `{ loss, grad }` of a fixture case's call (input, target, options). */
export function extCaseReference(c: ExtCase): GradRef {
  const t = ext.targetData(c);
  const o = referenceOptions(c) as never;
  const { data, shape } = c.input;
  switch (c.op) {
    case 'crossEntropy': return crossEntropyExtGrad(data, shape, t, o);
    case 'sigmoidFocalLoss': return sigmoidFocalLossGrad(data, shape, t, o);
    case 'binaryCrossEntropy': return binaryCrossEntropyGrad(data, shape, t, o);
    case 'binaryCrossEntropyWithLogits': return binaryCrossEntropyWithLogitsGrad(data, shape, t, o);
  }
}
