/**
 * The streaming evaluator's arithmetic, shared by both backends: each row's record (one pass over
 * its logits), the components the batches accumulate, and the metrics they give. The WGSL in
 * shaders/evaluate.wgsl computes the same records and the same fixed-order compensated sums.
 *
 * A row's record (R floats): counted (0/1), loss, entropy, brier, confidence, rank of the target
 * (−1 when ignored). Components (each a Kahan triple (sum, c, special) kept in float32, in this
 * order): count, loss, entropy, brier, hits@k for each k, then per confidence bin: rows, correct,
 * confidence. Infinite and NaN values (and sums that overflow) go to `special`, as in reduce.wgsl.
 *
 * Confident rows keep their precision: a row's sums leave out one maximal element (whose term is
 * exactly 1), r = Σe − 1 and w = Σe² − 1, so log Σe = log1p(r) and 1 − p_t is r/Σe when the
 * target is maximal; Brier is (1 − p_t)² + Σ_{c≠t} p_c², never Σp² − 2p_t + 1.
 */
import { log1p } from '../cpu/elementwise.js';
import { decodeTable, Half } from '../dtype.js';
import type { F32Data, Layout } from '../jobs.js';

const f32 = Math.fround;

/** Floats per row record. */
export const R = 8;

export interface EvalJob {
  method: string;
  x: F32Data;
  layout: Layout;
  /** Class indices (Int32Array or a device tensor), or 0/1 labels of a binary evaluator. */
  target: Int32Array | F32Data;
  ignoreIndex: number;
  binary: boolean;
  /** k of each hits component, 1 (accuracy) first. */
  ks: readonly number[];
  bins: number;
}

/** Number of accumulated components. */
export const componentsOf = (ks: readonly number[], bins: number) => 4 + ks.length + 3 * bins;

/** Which bin a confidence in (0, 1] falls in: (i/B, (i+1)/B]. */
export function binOf(conf: number, bins: number): number {
  const b = Math.ceil(f32(conf * bins)) - 1;
  return Math.min(bins - 1, Math.max(0, b));
}

/** Component j's value for the row record at rec[o …]. */
export function componentValue(rec: Float32Array, o: number, j: number, ks: readonly number[], bins: number): number {
  const counted = rec[o], rank = rec[o + 5];
  if (j < 4) return j === 0 ? counted : rec[o + j];
  j -= 4;
  if (j < ks.length) return counted !== 0 && rank < ks[j] ? 1 : 0;
  j -= ks.length;
  const b = j % bins, kind = Math.floor(j / bins);
  if (counted === 0 || binOf(rec[o + 4], bins) !== b) return 0;
  return kind === 0 ? 1 : kind === 1 ? (rank === 0 ? 1 : 0) : rec[o + 4];
}

/** A bad row of a batch, found on either backend. */
export interface BadRow { kind: 'label' | 'nan'; row: number }

/** The records of a host batch, in float32 (the CPU backend), and its first bad row if any. */
export function hostRecords(job: EvalJob): { rec: Float32Array; bad?: BadRow } {
  const { C, inner, rows } = job.layout;
  const rec = new Float32Array(rows * R);
  const xs = job.x as Float32Array | Half;
  const table = xs instanceof Half ? decodeTable(xs.dtype) : undefined;
  const bits = xs instanceof Half ? xs.bits : undefined;
  const xv = xs instanceof Half ? undefined : xs;
  const at = (i: number) => (table ? table[bits![i]] : xv![i]);
  const labels = job.target as Int32Array | Float32Array | Half;
  const label = (r: number) => (labels instanceof Half ? decodeTable(labels.dtype)[labels.bits[r]] : labels[r]);
  let bad: BadRow | undefined;
  const flag = (kind: BadRow['kind'], row: number) => {
    if (!bad || row < bad.row) bad = { kind, row };
  };
  for (let r = 0; r < rows; r++) {
    const o = Math.floor(r / inner), base = o * C * inner + (r - o * inner);
    const q = r * R;
    if (job.binary) {
      binaryRecord(at(base), label(r), job.ignoreIndex, rec, q, r, flag);
      continue;
    }
    let m = -Infinity, top = -1, nan = false;
    for (let c = 0; c < C; c++) {
      const v = at(base + c * inner);
      if (v !== v) nan = true;
      else if (v > m) [m, top] = [v, c];
    }
    if (nan) flag('nan', r);
    const t = label(r);
    if (t === job.ignoreIndex) {
      rec[q + 5] = -1;
      continue;
    }
    if (!(t >= 0 && t < C)) {
      flag('label', r);
      continue;
    }
    const xt = at(base + t * inner);
    // The row's sums in float64 (rounded once): the CPU is the evaluator's accurate side; the GPU's
    // float32 lanes and tree stay within the metrics' tolerance of it.
    let rest = 0, a = 0, w = 0, rank = 0;
    for (let c = 0; c < C; c++) {
      const v = at(base + c * inner);
      if (v > xt || (v === xt && c < t)) rank++;
      if (v === -Infinity || c === top) continue;
      const d = f32(v - m), e = f32(Math.exp(d));
      rest += e;
      a += e * d;
      w += e * e;
    }
    rowRecord(rec, q, m, f32(rest), f32(a), f32(w), xt, rank);
  }
  return { rec, bad };
}

/**
 * A row's record from its max m, r = Σe − 1, a = Σe·(x − m), w = Σe² − 1 (e = e^(x − m)), the
 * target's logit and rank (the same formulas as evalRecord in shaders/evaluate.wgsl).
 */
export function rowRecord(rec: Float32Array, q: number, m: number, r: number, a: number, w: number, xt: number, rank: number): void {
  const ls = log1p(r), s = f32(1 + r), inv = f32(1 / s);
  const top = xt === m;
  const et = xt === -Infinity ? 0 : f32(Math.exp(f32(xt - m)));
  const rest = top ? r : f32(s - et); // Σ_{c≠t} e_c
  const others = top ? w : f32(f32(w + 1) - f32(et * et)); // Σ_{c≠t} e_c²
  rec[q] = 1;
  rec[q + 1] = xt === -Infinity ? Infinity : f32(f32(m - xt) + ls);
  rec[q + 2] = f32(ls - f32(a * inv));
  rec[q + 3] = f32(f32(f32(rest * rest) + others) * f32(inv * inv));
  rec[q + 4] = inv;
  rec[q + 5] = rank;
}

/** σ(v) = 1/(1 + e^−v). */
const sigmoid = (v: number) => f32(1 / f32(1 + f32(Math.exp(-v))));

/** A binary row: BCE with logits, the 0.5 decision (x ≥ 0), confidence σ(|x|), Brier from σ of ±x (no 1 − p). */
function binaryRecord(x: number, y: number, ignoreIndex: number, rec: Float32Array, q: number, r: number,
  flag: (kind: BadRow['kind'], row: number) => void): void {
  if (x !== x) flag('nan', r);
  if (y === ignoreIndex) {
    rec[q + 5] = -1;
    return;
  }
  if (y !== 0 && y !== 1) {
    flag('label', r);
    return;
  }
  const L = log1p(f32(Math.exp(-Math.abs(x))));
  const miss = y === 1 ? sigmoid(-x) : sigmoid(x); // |p − y|
  rec[q] = 1;
  rec[q + 1] = f32((x >= 0 ? f32(f32(1 - y) * x) : f32(-f32(y * x))) + L);
  rec[q + 3] = f32(miss * miss);
  rec[q + 4] = sigmoid(Math.abs(x));
  rec[q + 5] = (x >= 0 ? 1 : 0) === y ? 0 : 1;
}

/** Floats of accumulated state a component. */
export const W = 3;

/** Adds a batch's records to the Kahan triples `acc`, component by component, rows in order. */
export function accumulate(acc: Float32Array, rec: Float32Array, rows: number, ks: readonly number[], bins: number): void {
  const n = componentsOf(ks, bins);
  for (let j = 0; j < n; j++) {
    let sum = acc[W * j], c = acc[W * j + 1], spec = acc[W * j + 2];
    for (let r = 0; r < rows; r++) {
      const v = componentValue(rec, r * R, j, ks, bins);
      if (v === 0) continue; // adding 0 changes nothing (as on the GPU)
      if (!Number.isFinite(v)) {
        spec = f32(spec + v);
        continue;
      }
      const y = f32(v - c), t = f32(sum + y);
      if (!Number.isFinite(t)) { // overflow: set aside, start again
        spec = f32(spec + t);
        sum = 0;
        c = 0;
        continue;
      }
      c = f32(f32(t - sum) - y);
      sum = t;
    }
    acc[W * j] = sum;
    acc[W * j + 1] = c;
    acc[W * j + 2] = spec;
  }
}

/** The metrics from the accumulated triples (totals (sum − c) + special, in float64). */
export function metricsOf(acc: Float32Array, rows: number, ks: readonly number[], bins: number, binary: boolean): { rows: number; count: number } & Record<string, number> {
  const total = (j: number) => acc[W * j] - acc[W * j + 1] + acc[W * j + 2];
  const count = total(0);
  const mean = (j: number) => total(j) / count;
  let ece = 0;
  const b0 = 4 + ks.length;
  for (let b = 0; b < bins; b++) ece += Math.abs(total(b0 + bins + b) - total(b0 + 2 * bins + b));
  ece /= count;
  if (binary) return { rows, count, bce: mean(1), accuracy: mean(4), ece, brier: mean(3) };
  const out: { rows: number; count: number } & Record<string, number> = {
    rows, count, crossEntropy: mean(1), perplexity: Math.exp(mean(1)), accuracy: mean(4),
  };
  ks.forEach((k, i) => {
    if (i > 0) out[`top${k}`] = mean(4 + i);
  });
  Object.assign(out, { entropy: mean(2), ece, brier: mean(3) });
  return out;
}
