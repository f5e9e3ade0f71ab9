// Float64 references and the error every measurement records.
//
// max_rel_err:
// - a loss (a number): |value − ref| / |ref|;
// - softmax / logSoftmax (a tensor): max over elements of |value − ref| / max(1, |ref|), i.e. the
//   absolute error of a probability and the relative error of a log-probability below −1;
// - a floor (a sum of the inputs, or a copy): |sum − ref| / Σ|inputs|, or 0 when the copy is exact;
// - a loss with its gradient ({ loss, grad }): the larger of the loss's error and the gradient's, the
//   gradient's being the max over elements of |g − ref| / max(|ref|, 1/(N·C)) (relative, with |ref|
//   floored at the gradient of a uniform row, so probabilities far below 1/C are held absolutely).
// - half-precision cases (cases.mjs HALF_OPS): the reference is taken on the logits as rounded to the
//   dtype (decoded to float32), so a loss keeps the float32-accumulation tolerance; a half output
//   (softmaxF16) is decoded and its error is the softmax error less half an ulp of the dtype at the
//   reference (the output's own rounding), i.e. what the computation adds to a correctly rounded result;
//   the floors read the half bits as 32-bit words and return their sum modulo 2^32 (error 0 when it is
//   exact, 1 when not), or copy the words (0 when exact).
// Tolerances follow the numerics contract (docs/ARCHITECTURE.md): losses 2e-5 (relative), probabilities 1e-6, log-probabilities 2e-5.

import { baseOp, CE_Z, dtypeOf } from './cases.mjs';
import { fromHalfBits, halfBitsOf, halfUlp } from './half.mjs';
/** Neumaier-compensated float64 sum of term(0) … term(n − 1). */
function sumOf(n, term) {
  let s = 0, c = 0;
  for (let i = 0; i < n; i++) {
    const v = term(i);
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? (s - t) + v : (v - t) + s;
    s = t;
  }
  return s + c;
}

/** Neumaier-compensated float64 sum of f(values[i]). */
export function sum64(values, f = (v) => v) {
  return sumOf(values.length, (i) => f(values[i]));
}

/** log Σ e^x over the row of C logits at offset o, in float64. */
function rowLse(x, o, C) {
  let m = -Infinity;
  for (let j = 0; j < C; j++) if (x[o + j] > m) m = x[o + j];
  let e = 0;
  for (let j = 0; j < C; j++) e += Math.exp(x[o + j] - m);
  return m + Math.log(e);
}

/** Mean cross-entropy over rows of (N, C) logits with class-index targets, in float64. */
export function crossEntropyRef(x, t, N, C) {
  return sumOf(N, (i) => rowLse(x, i * C, C) - x[i * C + t[i]]) / N;
}

/** Mean cross-entropy of the logits capped at c·tanh(x/c), plus s·lse² per row (float64). */
export function crossEntropyZRef(x, t, N, C, { zLoss, softcap }) {
  const row = new Float64Array(C);
  return sumOf(N, (i) => {
    for (let j = 0; j < C; j++) row[j] = softcap * Math.tanh(x[i * C + j] / softcap);
    const lse = rowLse(row, 0, C);
    return lse - row[t[i]] + zLoss * lse * lse;
  }) / N;
}

/**
 * max |grad − ref| / max(|ref|, 1/(N·C)) of a mean cross-entropy gradient against the float64
 * (softmax(x) − onehot(t)) / N, computed row by row (no N·C float64 array held).
 */
export function ceGradError(x, t, N, C, grad) {
  if (!grad || grad.length !== N * C) return Infinity;
  const small = 1 / (N * C);
  let worst = 0;
  for (let i = 0; i < N; i++) {
    const o = i * C;
    const lse = rowLse(x, o, C);
    for (let j = 0; j < C; j++) {
      const ref = (Math.exp(x[o + j] - lse) - (j === t[i] ? 1 : 0)) / N;
      const err = Math.abs(grad[o + j] - ref) / Math.max(Math.abs(ref), small);
      if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
    }
  }
  return worst;
}

/** Mean BCE-with-logits, float64: max(x, 0) − x·y + log(1 + e^−|x|). */
export function bceWithLogitsRef(x, y) {
  return sumOf(x.length, (i) => Math.max(x[i], 0) - x[i] * y[i] + Math.log1p(Math.exp(-Math.abs(x[i])))) / x.length;
}

/** max |out − ref| / max(1, |ref|) for softmax (log = false) or logSoftmax (log = true) of (N, C) rows. */
export function rowsError(x, N, C, out, log) {
  if (!out || out.length !== N * C) return Infinity;
  let worst = 0;
  for (let i = 0; i < N; i++) {
    const o = i * C;
    const lse = rowLse(x, o, C);
    for (let j = 0; j < C; j++) {
      const ref = log ? x[o + j] - lse : Math.exp(x[o + j] - lse);
      const err = Math.abs(out[o + j] - ref) / Math.max(1, Math.abs(ref));
      if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
    }
  }
  return worst;
}

/**
 * Softmax error of a half-precision output (its bits, or a Float16Array): max over elements of
 * max(0, |out − ref| − ½ulp(ref)) / max(1, |ref|), the out decoded exactly.
 */
export function halfRowsError(x, N, C, bits, dtype) {
  if (!bits || bits.length < N * C) return Infinity;
  const out = fromHalfBits(halfBitsOf(bits, N * C), dtype);
  let worst = 0;
  for (let i = 0; i < N; i++) {
    const o = i * C;
    const lse = rowLse(x, o, C);
    for (let j = 0; j < C; j++) {
      const ref = Math.exp(x[o + j] - lse);
      const d = Math.abs(out[o + j] - ref);
      const err = d === 0 ? 0 : Math.max(0, d - halfUlp(ref, dtype)) / Math.max(1, Math.abs(ref));
      if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
    }
  }
  return worst;
}

/** Σ of 32-bit words modulo 2^32 (what the half floors compute). */
export function wordSum(words) {
  let s = 0;
  for (let i = 0; i < words.length; i++) s = (s + words[i]) % 4294967296;
  return s;
}

export function scalarError(value, ref) {
  if (typeof value !== 'number' || Number.isNaN(value)) return Infinity;
  return Math.abs(value - ref) / Math.abs(ref);
}

export const TOLERANCE = {
  ce: 2e-5, ceZ: 2e-5, ceGrad: 2e-5, bce: 2e-5, softmax: 1e-6, logSoftmax: 2e-5, floor: 1e-5,
  ceF16: 2e-5, ceBf16: 2e-5, softmaxF16: 1e-6, // beyond the output's rounding, for softmaxF16
};

/**
 * The reference of one case, computed once: `error(op, result)` gives max_rel_err of a result
 * (a number for losses, a Float32Array for softmax/logSoftmax, { loss, grad } for 'ceGrad').
 */
export function referenceOf(c, d) {
  const op = baseOp(c.op), dtype = dtypeOf(c.op);
  let loss;
  if (op === 'ce' || op === 'ceGrad') loss = crossEntropyRef(d.x, d.t, d.N, d.C);
  else if (op === 'ceZ') loss = crossEntropyZRef(d.x, d.t, d.N, d.C, CE_Z);
  else if (op === 'bce') loss = bceWithLogitsRef(d.x, d.y);
  let floor;
  return {
    loss,
    error(result) {
      if (op === 'ceGrad') {
        if (!result || typeof result !== 'object') return Infinity;
        return Math.max(scalarError(result.loss, loss), ceGradError(d.x, d.t, d.N, d.C, result.grad));
      }
      if (op === 'ce' || op === 'bce' || op === 'ceZ') return scalarError(result, loss);
      if (dtype !== 'float32') return halfRowsError(d.x, d.N, d.C, result, dtype);
      return rowsError(d.x, d.N, d.C, result, op === 'logSoftmax');
    },
    /**
     * Floors return the float sums of their inputs ([Σx, Σ(second input)]), or the copy they wrote; on
     * half logits, the sum of their 32-bit words modulo 2^32 (exact), or the copied words.
     */
    floorError(result) {
      const src = d.words ?? d.x;
      if (result instanceof Float32Array || result instanceof Uint32Array) {
        if (result.length !== src.length || result.constructor !== src.constructor) return Infinity;
        for (let i = 0; i < result.length; i++) if (!Object.is(result[i], src[i])) return Infinity;
        return 0;
      }
      floor ??= [src, d.t ?? d.y].filter(Boolean).map((a) => (a === d.words ? { words: wordSum(a) } : { s: sum64(a), abs: sum64(a, Math.abs) }));
      let worst = 0;
      for (let k = 0; k < floor.length; k++) {
        const v = result[k];
        const e = typeof v !== 'number' ? Infinity
          : 'words' in floor[k] ? (v === floor[k].words ? 0 : 1)
            : Math.abs(v - floor[k].s) / Math.max(floor[k].abs, 1e-30);
        worst = Math.max(worst, Number.isNaN(e) ? Infinity : e);
      }
      return worst;
    },
  };
}
