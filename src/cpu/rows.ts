/**
 * CPU row kernels: the online log-sum-exp of plan.ts, executable with any RowPlan, in float32
 * (every stored value rounded with Math.fround, as the GPU stores it), plus each row op's epilogue.
 * State per lane: m (running max), s (Σ e^(x−m)), a and b (op-specific, see RowMode).
 */
import type { RowPlan } from '../plan.js';
import type { HostRowJob } from '../jobs.js';
import { RowMode } from '../jobs.js';
import { ROW_OPS } from '../registry.js';

const f32 = Math.fround;
const NEG_INF = -Infinity;

/** Coefficient u_c of the 'dot' mode: class weight (CE smoothing) or weight × smoothed target (CE with probabilities). */
interface Coefs {
  mode: RowMode;
  weight: Float32Array | undefined;
  /** Probability targets (same layout as x) or undefined. */
  prob: Float32Array | undefined;
  /** Label smoothing of probability targets: t' = t·keep + add. */
  smooth: boolean;
  /** softmaxBackward (else logSoftmaxBackward) in the Backward mode. */
  softmax: boolean;
  keep: number;
  add: number;
}

/** Rescales state (m, s, a, b) at `o` of `st` to the max M. The entropy state rescales `a` with s. */
function rescale(st: Float64Array, o: number, M: number, mode: RowMode): void {
  const m = st[o];
  if (m === M) return;
  if (m === NEG_INF) {
    // Empty so far (s = 0): a and b hold only -inf/NaN contributions or zeros, which stay as they are.
    st[o] = M;
    return;
  }
  const d = f32(m - M);
  const f = f32(Math.exp(d));
  if (mode === RowMode.Entropy) st[o + 2] = f32(f32(st[o + 2] + f32(d * st[o + 1])) * f);
  else if (mode === RowMode.Dot) st[o + 2] = f32(st[o + 2] + f32(d * st[o + 3]));
  st[o + 1] = f32(st[o + 1] * f);
  st[o] = M;
}

/** max that propagates NaN, as nanMax of common.wgsl. */
function nanMax(a: number, b: number): number {
  return b > a || b !== b ? b : a;
}

/** Folds the tiles of one lane: segment elements [start, end), tiles of `tile` beginning every `step`. */
function foldLane(
  x: Float32Array, base: number, stride: number, start: number, end: number, step: number, tile: number,
  k: Coefs, st: Float64Array, o: number,
): void {
  const mode = k.mode;
  for (let t0 = start; t0 < end; t0 += step) {
    const t1 = Math.min(t0 + tile, end);
    const i0 = base + t0 * stride, i1 = base + t1 * stride;
    if (mode === RowMode.Backward) {
      // a plain sum of dy·y (softmax) or dy (log-softmax); m stays -inf
      let a = st[o + 2];
      const dy = k.prob!;
      for (let i = i0; i < i1; i += stride) a = f32(a + (k.softmax ? f32(dy[i] * x[i]) : dy[i]));
      st[o + 2] = a;
      continue;
    }
    let M = st[o];
    for (let i = i0; i < i1; i += stride) {
      const v = x[i];
      if (v > M || v !== v) M = v; // nanMax
    }
    rescale(st, o, M, mode);
    let s = st[o + 1];
    if (mode === RowMode.Plain) {
      for (let i = i0; i < i1; i += stride) {
        const v = x[i];
        if (v !== NEG_INF) s = f32(s + f32(Math.exp(f32(v - M))));
      }
    } else if (mode === RowMode.Entropy) {
      let a = st[o + 2];
      for (let i = i0; i < i1; i += stride) {
        const v = x[i];
        if (v === NEG_INF) continue;
        const d = f32(v - M), e = f32(Math.exp(d));
        s = f32(s + e);
        a = f32(a + f32(e * d));
      }
      st[o + 2] = a;
    } else {
      let a = st[o + 2], b = st[o + 3];
      for (let c = t0, i = i0; c < t1; c++, i += stride) {
        const v = x[i];
        if (v !== NEG_INF) s = f32(s + f32(Math.exp(f32(v - M))));
        const u = coefAt(k, c, i);
        a = f32(a + (v === NEG_INF ? f32(u * v) : f32(u * f32(v - M))));
        b = f32(b + u);
      }
      st[o + 2] = a;
      st[o + 3] = b;
    }
    st[o + 1] = s;
  }
}

/** st[o] ⊕= st[p]: both rescaled to the common max, then added (commutative bit for bit). */
function merge(st: Float64Array, o: number, p: number, mode: RowMode): void {
  const M = nanMax(st[o], st[p]);
  rescale(st, o, M, mode);
  rescale(st, p, M, mode);
  st[o + 1] = f32(st[o + 1] + st[p + 1]);
  st[o + 2] = f32(st[o + 2] + st[p + 2]);
  st[o + 3] = f32(st[o + 3] + st[p + 3]);
}

/** Halving tree over `count` states (padded to a power of two with empty states) at st[o + 4i]. */
function treeMerge(st: Float64Array, o: number, count: number, mode: RowMode): void {
  let width = 1;
  while (width < count) width *= 2;
  for (let h = width / 2; h >= 1; h /= 2) {
    for (let i = 0; i < h; i++) if (i + h < count) merge(st, o + 4 * i, o + 4 * (i + h), mode);
  }
}

/** Row statistics for row `r` under `plan`; leaves the merged state at st[0..4). */
function rowState(job: HostRowJob, k: Coefs, plan: RowPlan, r: number, st: Float64Array): void {
  const { C, inner } = job.layout;
  const o = Math.floor(r / inner), i = r - o * inner;
  const base = o * C * inner + i;
  const L = plan.lanes, P = plan.splits;
  const one = L === 1 && P === 1;
  for (let p = 0; p < P; p++) {
    const start = p * plan.segment, end = Math.min(C, start + plan.segment);
    const lanes = one ? 0 : P + p * L; // lane slots of this segment
    for (let l = 0; l < L; l++) {
      const q = 4 * (lanes + l);
      st[q] = NEG_INF; st[q + 1] = 0; st[q + 2] = 0; st[q + 3] = 0;
      foldLane(job.x, base, inner, start + l * plan.tile, end, L * plan.tile, plan.tile, k, st, q);
    }
    if (!one) {
      treeMerge(st, 4 * lanes, L, k.mode);
      st.copyWithin(4 * p, 4 * lanes, 4 * lanes + 4);
    }
  }
  if (!one) treeMerge(st, 0, P, k.mode);
}

/** Scratch big enough for any plan: P segment slots followed by L·P lane slots. */
function scratch(plan: RowPlan): Float64Array {
  return new Float64Array(4 * (plan.splits + plan.splits * plan.lanes + 1));
}

function coefs(job: HostRowJob): Coefs {
  const mode = ROW_OPS[job.op].mode(job);
  const eps = job.op === 'ceProb' || job.op === 'ce' ? job.eps : 0;
  return {
    mode,
    weight: job.weight,
    prob: job.op === 'ceProb' || mode === RowMode.Backward ? job.prob : undefined,
    smooth: eps > 0,
    softmax: job.op === 'softmaxBackward',
    keep: f32(1 - eps),
    add: f32(eps / job.layout.C),
  };
}

/** softmax, logSoftmax and their backward passes: one output per element, the input's layout. */
export function normalizeRows(job: HostRowJob, plan: RowPlan): Float32Array {
  const { C, inner, rows } = job.layout;
  const out = new Float32Array(rows * C);
  const st = scratch(plan);
  const k = coefs(job);
  const x = job.x;
  for (let r = 0; r < rows; r++) {
    rowState(job, k, plan, r, st);
    const m = st[0], s = st[1];
    const o = Math.floor(r / inner), base = o * C * inner + (r - o * inner);
    if (job.op === 'softmax') {
      const inv = f32(1 / s);
      for (let c = 0; c < C; c++) {
        const v = x[base + c * inner];
        out[base + c * inner] = f32((v === NEG_INF ? 0 : f32(Math.exp(f32(v - m)))) * inv);
      }
    } else if (job.op === 'softmaxBackward' || job.op === 'logSoftmaxBackward') {
      const a = st[2], dy = job.prob!;
      for (let c = 0, i = base; c < C; c++, i += inner) {
        out[i] = job.op === 'softmaxBackward' ? f32(x[i] * f32(dy[i] - a)) : f32(dy[i] - f32(f32(Math.exp(x[i])) * a));
      }
    } else {
      const ls = f32(Math.log(s));
      for (let c = 0; c < C; c++) out[base + c * inner] = f32(f32(x[base + c * inner] - m) - ls);
    }
  }
  return out;
}

/**
 * Per-row losses. With `records` false: the final per-row loss (reduction 'none').
 * With `records` true: K = ROW_OPS[op].records(job) partial sums per row for the batch reduction.
 */
export function lossRows(raw: HostRowJob, plan: RowPlan, records: boolean, stats?: Float64Array): Float32Array {
  const job = capped(raw);
  const { C, rows } = job.layout;
  const K = records ? ROW_OPS[job.op].records(job) : 1;
  const out = new Float32Array(rows * K);
  const st = scratch(plan);
  const k = coefs(job);
  for (let r = 0; r < rows; r++) {
    if (job.op !== 'nll') rowState(job, k, plan, r, st);
    stats?.set(st.subarray(0, 4), 4 * r);
    rowEpilogue(job, r, st, records, out, r * K, C);
  }
  return out;
}

/**
 * d(loss)/dx of each element, from the row states of lossRows and the row scales g, as PyTorch's
 * autograd composes it (same formulas as gradRows in shaders/rows.wgsl), with p = softmax(x):
 * - ce: (w_t·g)·(p_c − [c = t]); with smoothing ε: (1−ε)·that + (ε/C)·(b·p_c − u_c)·g. w_t·g is
 *   formed first, so a zero weight under an infinite scale gives NaN, as in PyTorch;
 * - ceProb: (b·p_c − u_c)·g; nll: −w_t·g at c = t, else 0;
 * - ignored rows: p_c·0 (log-softmax's backward of a zero row), so 0 unless the row is NaN.
 */
export function gradRows(raw: HostRowJob, stats: Float64Array, g: (r: number) => number, zg: (r: number) => number, out: Float32Array): void {
  const job = capped(raw);
  const { C, inner, rows } = job.layout;
  const k = coefs(job);
  const x = job.x, cap = job.softcap ?? 0, zLoss = job.zLoss ?? 0, gamma = job.gamma ?? 0;
  for (let r = 0; r < rows; r++) {
    const o = Math.floor(r / inner), base = o * C * inner + (r - o * inner);
    const t = job.target !== undefined ? job.target[r] : -1;
    const ignored = job.op !== 'ceProb' && t === job.ignoreIndex;
    const scale = g(r);
    const m = stats[4 * r], s = stats[4 * r + 1], inv = f32(1 / s), b = stats[4 * r + 3];
    const wt = ignored || job.op === 'ceProb' ? 0 : job.weight !== undefined ? job.weight[t] : 1;
    let wg = f32(wt * scale);
    const ls = f32(Math.log(s));
    if (gamma > 0 && !ignored && job.op === 'ce') {
      // d/dx_c of −(1 − p_t)^γ·log p_t is −A·(δ_ct − p_c), A = γ·p_t·(1 − p_t)^(γ−1)·log p_t − (1 − p_t)^γ
      // (its limit 0 where p_t = 1)
      const lp = f32(f32(x[base + t * inner] - m) - ls), q = f32(-expm1(lp));
      const A = q === 0 ? 0 : f32(f32(gamma * f32(f32(Math.exp(lp)) * f32(powq(q, gamma - 1) * lp))) - powq(q, gamma));
      wg = f32(wg * f32(-A));
    }
    // z-loss: d(s·lse²)/dx_c = 2·s·lse·p_c, scaled like the row (a 'mean' by the row count)
    const zf = zLoss > 0 && !ignored && job.op !== 'nll' ? f32(f32(f32(2 * zLoss) * f32(m + ls)) * zg(r)) : 0;
    for (let c = 0, i = base; c < C; c++, i += inner) {
      let d: number;
      if (job.op === 'nll') d = !ignored && c === t ? -wg : 0;
      else {
        const v = x[i];
        const p = f32((v === NEG_INF ? 0 : f32(Math.exp(f32(v - m)))) * inv);
        if (ignored) d = f32(p * 0);
        else if (job.op === 'ceProb') d = f32(f32(f32(b * p) - coefAt(k, c, i)) * scale);
        else {
          d = f32(wg * f32(p - (c === t ? 1 : 0)));
          if (job.eps > 0) d = f32(f32(k.keep * d) + f32(f32(k.add * f32(f32(b * p) - coefAt(k, c, i))) * scale));
        }
        if (zf !== 0) d = f32(d + f32(zf * p));
        if (cap > 0) {
          // through the cap: × (1 − tanh²(x/c)), from the input itself
          const v0 = raw.x[i], th = v0 === Infinity || v0 === -Infinity ? 1 : f32(Math.tanh(f32(v0 / cap)));
          d = f32(d * f32(1 - f32(th * th)));
        }
      }
      out[i] = d;
    }
  }
}

/**
 * e^v − 1 without cancellation, by a formula WGSL can run too (it has no expm1): the correction
 * (u − 1)·v/log u near 0, plain u − 1 elsewhere (where e^v may be denormal and log u inexact).
 */
export function expm1(v: number): number {
  const u = f32(Math.exp(v));
  if (u === 1) return v;
  if (!(Math.abs(v) < 1)) return f32(u - 1);
  return f32(f32(u - 1) * f32(v / f32(Math.log(u))));
}

/** The softcapped logit c·tanh(v/c) (±c for ±inf, NaN stays NaN). */
export function capOf(v: number, c: number): number {
  if (v === Infinity || v === -Infinity) return v > 0 ? c : -c;
  return f32(c * f32(Math.tanh(f32(v / c))));
}

/** The job as its row kernels see it: softcapped logits in place of x. */
function capped(job: HostRowJob): HostRowJob {
  const c = job.softcap ?? 0;
  if (c === 0) return job;
  const x = new Float32Array(job.x.length);
  for (let i = 0; i < x.length; i++) x[i] = capOf(job.x[i], c);
  return { ...job, x };
}

/** q^γ for q in [0, 1], γ > 0, as WGSL's pow does it (0 at q = 0). */
function powq(q: number, gamma: number): number {
  return q === 0 ? 0 : f32(Math.pow(q, gamma));
}

/** u_c of the dot state at class c, element i (see foldLane). */
function coefAt(k: Coefs, c: number, i: number): number {
  if (k.prob !== undefined) {
    const t = k.prob[i];
    const u = k.smooth ? f32(f32(t * k.keep) + k.add) : t;
    return k.weight !== undefined ? f32(k.weight[c] * u) : u;
  }
  return k.weight !== undefined ? k.weight[c] : 1;
}

/** The epilogue of a row: the same formulas as the WGSL epilogue in shaders/rows.wgsl. */
function rowEpilogue(job: HostRowJob, r: number, st: Float64Array, records: boolean, out: Float32Array, q: number, C: number): void {
  const m = st[0], s = st[1], a = st[2], b = st[3];
  if (job.op === 'entropy') {
    const ls = f32(Math.log(s));
    out[q] = f32(ls - f32(a / s));
    return;
  }
  if (job.op === 'ceProb') {
    const ls = f32(Math.log(s));
    const loss = f32(f32(b * ls) - a);
    const zLoss = job.zLoss ?? 0;
    if (zLoss === 0) out[q] = loss;
    else {
      const lse = f32(m + ls);
      out[q] = f32(loss + f32(zLoss * f32(lse * lse)));
    }
    return;
  }
  const { inner } = job.layout;
  const t = job.target![r];
  const zLoss = job.zLoss ?? 0, gamma = job.gamma ?? 0;
  let nll = 0, wt = 0, smooth = 0, z = 0;
  if (t !== job.ignoreIndex) {
    const o = Math.floor(r / inner), xt = job.x[o * C * inner + (r - o * inner) + t * inner];
    wt = job.weight !== undefined ? job.weight[t] : 1;
    if (job.op === 'nll') nll = f32(-f32(wt * xt));
    else {
      const ls = f32(Math.log(s));
      const lp = f32(f32(xt - m) - ls); // log p_t
      // focal: −w_t·(1 − p_t)^γ·log p_t, with 1 − p_t = −expm1(log p_t)
      nll = gamma > 0 ? f32(-f32(wt * f32(powq(f32(-expm1(lp)), gamma) * lp))) : f32(-f32(wt * lp));
      if (job.eps > 0) smooth = f32(f32(b * ls) - a);
      if (zLoss > 0) {
        const lse = f32(m + ls);
        z = f32(zLoss * f32(lse * lse));
      }
    }
  }
  let loss = nll;
  if (job.op === 'ce' && job.eps > 0) loss = f32(f32(f32(1 - job.eps) * nll) + f32(smooth * f32(job.eps / C)));
  if (records && job.op === 'nll') {
    out[q] = nll;
    out[q + 1] = wt;
  } else if (records && zLoss > 0) {
    out[q] = loss;
    out[q + 1] = z;
    out[q + 2] = wt;
    out[q + 3] = t !== job.ignoreIndex ? 1 : 0;
  } else if (records) {
    out[q] = nll;
    out[q + 1] = smooth;
    out[q + 2] = wt;
  } else out[q] = zLoss > 0 ? f32(loss + z) : loss;
}
