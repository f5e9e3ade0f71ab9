/** CPU element-wise ops: the same float32 formulas as shaders/elementwise.wgsl. */
import type { HostElementJob } from '../ops.js';

const f32 = Math.fround;

/** log(1 + v) without cancellation, by a formula WGSL can run too (it has no log1p). */
export function log1p(v: number): number {
  const u = f32(1 + v);
  return u === 1 ? v : f32(Math.log(u) * f32(v / f32(u - 1)));
}

/** The value of element i (a probability for sigmoid, a loss otherwise). */
export function elementValue(job: HostElementJob, i: number): number {
  const x = job.x[i];
  switch (job.op) {
    case 'sigmoid':
      return f32(1 / f32(1 + f32(Math.exp(-x))));
    case 'bce': {
      const t = job.t![i];
      // PyTorch: (t − 1)·max(log1p(−x), −100) − t·max(log x, −100), then × weight.
      const l1 = Math.max(log1p(-x), -100), l0 = Math.max(f32(Math.log(x)), -100);
      return weighted(job, i, f32(f32(f32(t - 1) * l1) - f32(t * l0)));
    }
    case 'bceLogits': {
      // PyTorch's (1 − t)·x + lw·softplus(−x), lw = 1 + (p − 1)·t, rearranged so that no two large
      // terms cancel: softplus(−x) = max(−x, 0) + L with L = log1p(e^−|x|), and for x < 0
      // (1 − t)·x − lw·x = −p·t·x. Both terms are then ≥ 0.
      const t = job.t![i];
      const L = log1p(f32(Math.exp(-Math.abs(x))));
      const pw = job.posWeight;
      const p = pw === undefined ? 1 : pw[i % pw.length];
      const lw = pw === undefined ? 1 : f32(f32(f32(p - 1) * t) + 1);
      const lin = x >= 0 ? f32(f32(1 - t) * x) : f32(-f32(f32(p * t) * x));
      return weighted(job, i, f32(lin + f32(lw * L)));
    }
    case 'kl': {
      // PyTorch 1.13's kl_div: xlogy(t, t) − t·x, with xlogy(t, t) = 0 at t = 0 (either sign) and
      // t·log t elsewhere (NaN for t < 0 or NaN). So t = 0 contributes 0 at a finite x but NaN at
      // x = ±inf (0·inf), and a negative target gives NaN.
      const t = job.t![i];
      const xlogy = t === 0 ? 0 : f32(t * f32(Math.log(t)));
      return f32(xlogy - f32(t * x));
    }
    case 'klLog': {
      const t = job.t![i];
      return f32(f32(Math.exp(t)) * f32(t - x));
    }
  }
}

function weighted(job: HostElementJob, i: number, v: number): number {
  const w = job.weight;
  return w === undefined ? v : f32(v * w[i % w.length]);
}

export function elementwise(job: HostElementJob): Float32Array {
  const out = new Float32Array(job.n);
  for (let i = 0; i < job.n; i++) out[i] = elementValue(job, i);
  return out;
}

const BCE_EPS = f32(1e-12);

/**
 * d(loss_i)/dx_i before the reduction's scale (PyTorch autograd's formulas; same as gradMap in
 * shaders/elementwise.wgsl): BCE (x − t)/max((1 − x)·x, 1e-12)·w; BCE with logits
 * ((p·t + 1 − t)·σ(x) − p·t)·w, σ(x) − t without posWeight; KL −t (any t), −e^t for log targets.
 */
export function elementGrad(job: HostElementJob, i: number): number {
  const x = job.x[i], t = job.t![i];
  switch (job.op) {
    case 'bce': {
      const d = f32(f32(x - t) / Math.max(f32(f32(1 - x) * x), BCE_EPS));
      return weighted(job, i, d);
    }
    case 'bceLogits': {
      const sig = f32(1 / f32(1 + f32(Math.exp(-x))));
      const pw = job.posWeight;
      if (pw === undefined) return weighted(job, i, f32(sig - t));
      const pt = f32(pw[i % pw.length] * t);
      return weighted(job, i, f32(f32(f32(f32(pt + 1) - t) * sig) - pt));
    }
    case 'kl':
      return -t; // PyTorch 1.13: the gradient of −t·x alone (xlogy(t, t) does not depend on x)
    case 'klLog':
      return -f32(Math.exp(t));
    default:
      throw new Error(`no gradient for ${job.op}`);
  }
}
