/**
 * CPU element-wise formulas, one pair per op (read through the registry): the same float32
 * operations, in the same order, as the op's functions in shaders/elementwise.wgsl.
 */
import type { ElementOp, HostElementJob } from '../jobs.js';

const f32 = Math.fround;
const BCE_EPS = f32(1e-12);

/** log(1 + v) without cancellation, by a formula WGSL can run too (it has no log1p). */
export function log1p(v: number): number {
  const u = f32(1 + v);
  return u === 1 ? v : f32(Math.log(u) * f32(v / f32(u - 1)));
}

function weighted(job: HostElementJob, i: number, v: number): number {
  const w = job.weight;
  if (w === undefined) return v;
  const div = job.weightDiv ?? 1, shift = job.weightShift ?? 0;
  return f32(v * w[(div === 1 ? i + shift : Math.floor((i + shift) / div)) % w.length]);
}

const sigmoid = (x: number) => f32(1 / f32(1 + f32(Math.exp(-x))));

/** BCE-with-logits of one element, unweighted (the bceLogits formula without posWeight). */
function bceLogitsTerm(x: number, t: number): number {
  const L = log1p(f32(Math.exp(-Math.abs(x))));
  return f32((x >= 0 ? f32(f32(1 - t) * x) : f32(-f32(t * x))) + L);
}

/** q^γ for q in [0, 1], γ ≥ 0 (1 at γ = 0, 0 at q = 0 otherwise). */
function powOf(q: number, gamma: number): number {
  return gamma === 0 ? 1 : q === 0 ? 0 : f32(Math.pow(q, gamma));
}

/** α·t + (1 − α)·(1 − t), or 1 when α < 0. */
function alphaOf(job: HostElementJob, t: number): number {
  const a = job.alpha!;
  return a < 0 ? 1 : f32(f32(a * t) + f32(f32(1 - a) * f32(1 - t)));
}

export interface ElementFormula {
  /** Element i's value: a probability for sigmoid, a loss otherwise. */
  value(job: HostElementJob, i: number): number;
  /** d(loss_i)/dx_i before the reduction's scale (PyTorch autograd's formula). */
  grad?(job: HostElementJob, i: number): number;
}

export const ELEMENT_FORMULAS: Readonly<Record<ElementOp, ElementFormula>> = {
  sigmoid: { value: (job, i) => sigmoid(job.x[i]) },
  bce: {
    // PyTorch: (t − 1)·max(log1p(−x), −100) − t·max(log x, −100), then × weight.
    value(job, i) {
      const x = job.x[i], t = job.t![i];
      const l1 = Math.max(log1p(-x), -100), l0 = Math.max(f32(Math.log(x)), -100);
      return weighted(job, i, f32(f32(f32(t - 1) * l1) - f32(t * l0)));
    },
    // (x − t)/max((1 − x)·x, 1e-12)·w
    grad(job, i) {
      const x = job.x[i], t = job.t![i];
      return weighted(job, i, f32(f32(x - t) / Math.max(f32(f32(1 - x) * x), BCE_EPS)));
    },
  },
  bceLogits: {
    // PyTorch's (1 − t)·x + lw·softplus(−x), lw = 1 + (p − 1)·t, rearranged so that no two large
    // terms cancel: softplus(−x) = max(−x, 0) + L with L = log1p(e^−|x|), and for x < 0
    // (1 − t)·x − lw·x = −p·t·x. Both terms are then ≥ 0.
    value(job, i) {
      const x = job.x[i], t = job.t![i];
      const L = log1p(f32(Math.exp(-Math.abs(x))));
      const pw = job.posWeight;
      const p = pw === undefined ? 1 : pw[i % pw.length];
      const lw = pw === undefined ? 1 : f32(f32(f32(p - 1) * t) + 1);
      const lin = x >= 0 ? f32(f32(1 - t) * x) : f32(-f32(f32(p * t) * x));
      return weighted(job, i, f32(lin + f32(lw * L)));
    },
    // ((p·t + 1 − t)·σ(x) − p·t)·w; σ(x) − t without posWeight
    grad(job, i) {
      const sig = sigmoid(job.x[i]), t = job.t![i];
      const pw = job.posWeight;
      if (pw === undefined) return weighted(job, i, f32(sig - t));
      const pt = f32(pw[i % pw.length] * t);
      return weighted(job, i, f32(f32(f32(f32(pt + 1) - t) * sig) - pt));
    },
  },
  kl: {
    // PyTorch 1.13's kl_div: xlogy(t, t) − t·x, with xlogy(t, t) = 0 at t = 0 (either sign) and
    // t·log t elsewhere (NaN for t < 0 or NaN). So t = 0 contributes 0 at a finite x but NaN at
    // x = ±inf (0·inf), and a negative target gives NaN.
    value(job, i) {
      const x = job.x[i], t = job.t![i];
      const xlogy = t === 0 ? 0 : f32(t * f32(Math.log(t)));
      return f32(xlogy - f32(t * x));
    },
    // the gradient of −t·x alone (xlogy(t, t) does not depend on x), for any t
    grad: (job, i) => -job.t![i],
  },
  sigmoidFocal: {
    // torchvision: ce·(1 − p_t)^γ·α_t, p = σ(x), ce = BCE-with-logits, p_t = p·t + (1 − p)·(1 − t).
    value(job, i) {
      const x = job.x[i], t = job.t![i];
      const p = sigmoid(x), ce = bceLogitsTerm(x, t);
      const q = Math.max(0, f32(1 - f32(f32(p * t) + f32(f32(1 - p) * f32(1 - t)))));
      return f32(f32(ce * powOf(q, job.gamma!)) * alphaOf(job, t));
    },
    // α_t·((p − t)·q^γ − ce·γ·q^(γ−1)·(2t − 1)·p·(1 − p)), the second term 0 where q = 0
    grad(job, i) {
      const x = job.x[i], t = job.t![i], gamma = job.gamma!;
      const p = sigmoid(x), ce = bceLogitsTerm(x, t);
      const q = Math.max(0, f32(1 - f32(f32(p * t) + f32(f32(1 - p) * f32(1 - t)))));
      const first = f32(f32(p - t) * powOf(q, gamma));
      const second = gamma === 0 || q === 0 ? 0
        : f32(f32(f32(ce * f32(gamma * powOf(q, gamma - 1))) * f32(f32(2 * t) - 1)) * f32(p * f32(1 - p)));
      return f32(f32(first - second) * alphaOf(job, t));
    },
  },
  klLog: {
    value: (job, i) => f32(f32(Math.exp(job.t![i])) * f32(job.t![i] - job.x[i])),
    grad: (job, i) => -f32(Math.exp(job.t![i])),
  },
};
