// Float64 references and the error every measurement records.
//
// max_rel_err:
// - a loss (a number): |value − ref| / |ref|;
// - softmax / logSoftmax (a tensor): max over elements of |value − ref| / max(1, |ref|), i.e. the
//   absolute error of a probability and the relative error of a log-probability below −1;
// - a floor (a sum of the inputs, or a copy): |sum − ref| / Σ|inputs|, or 0 when the copy is exact.
// Tolerances follow DESIGN.md §3: losses 2e-5 (relative), probabilities 1e-6, log-probabilities 2e-5.

/** Neumaier-compensated float64 sum. */
export function sum64(values, f = (v) => v) {
  let s = 0, c = 0;
  for (let i = 0; i < values.length; i++) {
    const v = f(values[i]);
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? (s - t) + v : (v - t) + s;
    s = t;
  }
  return s + c;
}

/** Mean cross-entropy over rows of (N, C) logits with class-index targets, in float64. */
export function crossEntropyRef(x, t, N, C) {
  let s = 0, c = 0;
  for (let i = 0; i < N; i++) {
    const o = i * C;
    let m = -Infinity;
    for (let j = 0; j < C; j++) if (x[o + j] > m) m = x[o + j];
    let e = 0;
    for (let j = 0; j < C; j++) e += Math.exp(x[o + j] - m);
    const v = Math.log(e) + m - x[o + t[i]];
    const u = s + v;
    c += Math.abs(s) >= Math.abs(v) ? (s - u) + v : (v - u) + s;
    s = u;
  }
  return (s + c) / N;
}

/** Mean BCE-with-logits, float64: max(x, 0) − x·y + log(1 + e^−|x|). */
export function bceWithLogitsRef(x, y) {
  let s = 0, c = 0;
  for (let i = 0; i < x.length; i++) {
    const v = Math.max(x[i], 0) - x[i] * y[i] + Math.log1p(Math.exp(-Math.abs(x[i])));
    const u = s + v;
    c += Math.abs(s) >= Math.abs(v) ? (s - u) + v : (v - u) + s;
    s = u;
  }
  return (s + c) / x.length;
}

/** max |out − ref| / max(1, |ref|) for softmax (log = false) or logSoftmax (log = true) of (N, C) rows. */
export function rowsError(x, N, C, out, log) {
  if (!out || out.length !== N * C) return Infinity;
  let worst = 0;
  for (let i = 0; i < N; i++) {
    const o = i * C;
    let m = -Infinity;
    for (let j = 0; j < C; j++) if (x[o + j] > m) m = x[o + j];
    let e = 0;
    for (let j = 0; j < C; j++) e += Math.exp(x[o + j] - m);
    const lse = m + Math.log(e);
    for (let j = 0; j < C; j++) {
      const ref = log ? x[o + j] - lse : Math.exp(x[o + j] - lse);
      const err = Math.abs(out[o + j] - ref) / Math.max(1, Math.abs(ref));
      if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
    }
  }
  return worst;
}

export function scalarError(value, ref) {
  if (typeof value !== 'number' || Number.isNaN(value)) return Infinity;
  return Math.abs(value - ref) / Math.abs(ref);
}

export const TOLERANCE = { ce: 2e-5, bce: 2e-5, softmax: 1e-6, logSoftmax: 2e-5, floor: 1e-5 };

/**
 * The reference of one case, computed once: `error(op, result)` gives max_rel_err of a result
 * (a number for losses, a Float32Array for softmax/logSoftmax).
 */
export function referenceOf(c, d) {
  let loss;
  if (c.op === 'ce') loss = crossEntropyRef(d.x, d.t, d.N, d.C);
  else if (c.op === 'bce') loss = bceWithLogitsRef(d.x, d.y);
  let floor;
  return {
    loss,
    error(result) {
      if (c.op === 'ce' || c.op === 'bce') return scalarError(result, loss);
      return rowsError(d.x, d.N, d.C, result, c.op === 'logSoftmax');
    },
    /** Floors return the float sums of their inputs ([Σx, Σ(second input)]), or the copy they wrote. */
    floorError(result) {
      if (result instanceof Float32Array) {
        if (result.length !== d.x.length) return Infinity;
        for (let i = 0; i < result.length; i++) if (!Object.is(result[i], d.x[i])) return Infinity;
        return 0;
      }
      floor ??= [d.x, d.t ?? d.y].filter(Boolean).map((a) => ({ s: sum64(a), abs: sum64(a, Math.abs) }));
      let worst = 0;
      for (let k = 0; k < floor.length; k++) {
        const v = result[k];
        const e = typeof v === 'number' ? Math.abs(v - floor[k].s) / Math.max(floor[k].abs, 1e-30) : Infinity;
        worst = Math.max(worst, Number.isNaN(e) ? Infinity : e);
      }
      return worst;
    },
  };
}
