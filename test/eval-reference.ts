/**
 * An independent float64 reference of the streaming evaluator's metrics (issue 13, `losses.evaluator`), written
 * straight from the definitions; shares no code with src/ (nor with the library's float32 numerics).
 *
 * Batches are plain arrays: logits (N, C) or (N, C, d1, …, dk) in row-major order, classes on dim 1, and labels of
 * shape (N, d1, …, dk) (numbers or bigints). Rows are (n, d1, …, dk) in that order. Every value is taken as the
 * exact double of the float32 (or decoded half) the library sees; every intermediate is a double.
 *
 * Over the non-ignored rows (label ≠ ignoreIndex; `rows` counts all rows, `count` the others):
 * - crossEntropy = mean −log softmax(x)[t]; perplexity = exp(crossEntropy);
 * - rank of t = #{c : x_c > x_t} + #{c < t : x_c = x_t} (descending logits, ties to the lower class index);
 *   accuracy = mean [rank = 0], top${k} = mean [rank < k];
 * - entropy = mean −Σ p log p (a p = 0 contributes 0);
 * - ece = Σ_b (n_b / count)·|acc_b − conf_b|, conf = max p, bin b = (b/B, (b+1)/B], acc_b = mean [rank = 0];
 * - brier = mean Σ_c (p_c − [c = t])².
 * Binary (logits (N) or (N, 1), labels 0/1): bce = mean max(z, 0) − z·y + log(1 + e^−|z|); prediction [p ≥ 0.5]
 * (= [z ≥ 0]); accuracy = mean [prediction = y]; ece with conf = max(p, 1 − p); brier = mean (p − y)².
 *
 * The reference also counts "ambiguous" rows: ones whose float64 confidence lies within `margin` (relative, default
 * 1e-5) of an inner bin edge, where a float32 computation may legitimately pick the neighbouring bin, and binary
 * logits within `margin` of 0 (other than 0 itself), where a float32 sigmoid may round to exactly 0.5. Random tests
 * redraw such rows (test/eval-cases.ts) so that exact agreement of the bins is a fair demand.
 */

export interface EvalRefBatch {
  logits: ArrayLike<number>;
  shape: readonly number[];
  labels: ArrayLike<number | bigint>;
}

export interface EvalRefOptions {
  ignoreIndex?: number;
  topK?: readonly number[];
  calibrationBins?: number;
  binary?: boolean;
  /** Extra bin counts whose edges also make a row ambiguous (default: only calibrationBins). */
  ambiguityBins?: readonly number[];
  /** Relative distance to a bin edge (or to 0 for binary logits) counted as ambiguous. Default 1e-5. */
  margin?: number;
}

/** Per batch: each row's loss (float64), the rank of its target (binary: 0 when predicted right, else 1), ignored flags. */
export interface EvalRefRows {
  loss: Float64Array;
  rank: Int32Array;
  ignored: Uint8Array;
  confidence: Float64Array;
}

export interface EvalRefResult {
  /** The metrics, plus a non-enumerable `meanConfidence` (mean max-probability of the counted rows). */
  metrics: Record<string, number>;
  perBatch: EvalRefRows[];
  /** Rows whose bin or prediction a float32 computation may legitimately decide otherwise. */
  ambiguous: number;
}

function prod(a: readonly number[]): number {
  let n = 1;
  for (const d of a) n *= d;
  return n;
}

function labelValue(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** Bin index of a confidence in (0, 1]: the b with b/B < conf ≤ (b+1)/B. */
export function binOf(conf: number, B: number): number {
  let b = Math.ceil(conf * B) - 1;
  // conf·B rounds in float64: settle the exact inequality with the edges themselves
  while (b > 0 && conf <= b / B) b--;
  while (b < B - 1 && conf > (b + 1) / B) b++;
  return Math.min(B - 1, Math.max(0, b));
}

function nearEdge(conf: number, bins: readonly number[], margin: number): boolean {
  for (const B of bins) {
    const s = conf * B;
    const r = Math.round(s);
    if (r >= 1 && r <= B - 1 && Math.abs(s - r) <= margin * r) return true;
  }
  return false;
}

/** Numerically careful σ(z) in float64. */
export function sigmoid64(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

interface Row {
  ignored: boolean;
  loss: number;
  rank: number;
  entropy: number;
  conf: number;
  correct: boolean;
  brier: number;
}

/** One class row: x[0..C) as doubles, target t in [0, C). */
export function classRow(x: ArrayLike<number>, t: number): Omit<Row, 'ignored'> {
  const C = x.length;
  let m = -Infinity;
  for (let c = 0; c < C; c++) {
    if (Number.isNaN(x[c])) throw new Error('reference: NaN logit');
    if (x[c] > m) m = x[c];
  }
  if (m === -Infinity || m === Infinity) throw new Error('reference: a row of -inf, or a +inf logit');
  let s = 0;
  for (let c = 0; c < C; c++) s += Math.exp(x[c] - m);
  const logS = Math.log(s);
  const loss = logS - (x[t] - m); // +inf when x_t = -inf
  let plogp = 0;
  let brier = 0;
  for (let c = 0; c < C; c++) {
    const z = x[c] - m;
    const p = Math.exp(z) / s;
    if (p > 0) plogp += p * (z - logS);
    const d = p - (c === t ? 1 : 0);
    brier += d * d;
  }
  let rank = 0;
  for (let c = 0; c < C; c++) if (x[c] > x[t] || (c < t && x[c] === x[t])) rank++;
  return { loss, rank, entropy: -plogp, conf: 1 / s, correct: rank === 0, brier };
}

/** One binary row: logit z, label y ∈ {0, 1}. */
export function binaryRow(z: number, y: number): Omit<Row, 'ignored'> {
  if (Number.isNaN(z)) throw new Error('reference: NaN logit');
  const p = sigmoid64(z);
  const loss = Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
  const pred = z >= 0 ? 1 : 0; // p ≥ 0.5 exactly when z ≥ 0
  const correct = pred === y;
  const conf = sigmoid64(Math.abs(z));
  return { loss, rank: correct ? 0 : 1, entropy: NaN, conf, correct, brier: (p - y) * (p - y) };
}

/** Every metric of the evaluator over `batches`, in float64. */
export function evaluateReference(batches: readonly EvalRefBatch[], opts: EvalRefOptions = {}): EvalRefResult {
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const topK = opts.topK ?? [];
  const B = opts.calibrationBins ?? 15;
  const margin = opts.margin ?? 1e-5;
  const edgeBins = [B, ...(opts.ambiguityBins ?? [])];
  let rows = 0, count = 0, ambiguous = 0;
  let sumLoss = 0, sumEntropy = 0, sumBrier = 0;
  const hits = new Float64Array(topK.length);
  let correctAll = 0;
  const binN = new Float64Array(B), binCorrect = new Float64Array(B), binConf = new Float64Array(B);
  const perBatch: EvalRefRows[] = [];

  for (const batch of batches) {
    const shape = batch.shape;
    let C: number, inner: number, outer: number;
    if (opts.binary) {
      if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) throw new Error(`reference: binary logits must be (N) or (N, 1), got (${shape.join(', ')})`);
      outer = shape[0]; C = 1; inner = 1;
    } else {
      if (shape.length < 2) throw new Error('reference: logits must be (N, C, …)');
      outer = shape[0]; C = shape[1]; inner = prod(shape.slice(2));
    }
    const n = outer * inner;
    if (batch.logits.length !== n * C) throw new Error(`reference: ${batch.logits.length} logits for shape (${shape.join(', ')})`);
    if (batch.labels.length !== n) throw new Error(`reference: ${batch.labels.length} labels for ${n} rows`);
    const out: EvalRefRows = { loss: new Float64Array(n), rank: new Int32Array(n), ignored: new Uint8Array(n), confidence: new Float64Array(n) };
    const x = new Float64Array(C);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const r = o * inner + i;
        rows++;
        const t = labelValue(batch.labels[r]);
        const isIgnored = Number.isInteger(t) && t === ignoreIndex && (typeof batch.labels[r] === 'bigint' || !opts.binary || isIntegerLabels(batch.labels));
        if (isIgnored) {
          out.ignored[r] = 1;
          out.loss[r] = NaN;
          out.rank[r] = -1;
          out.confidence[r] = NaN;
          continue;
        }
        let row: Omit<Row, 'ignored'>;
        if (opts.binary) {
          if (t !== 0 && t !== 1) throw new Error(`reference: batch ${perBatch.length}, row ${r}: binary label ${t}`);
          const z = batch.logits[r];
          row = binaryRow(z, t);
          if (z !== 0 && Math.abs(z) <= margin) ambiguous++;
        } else {
          if (!Number.isInteger(t) || t < 0 || t >= C) throw new Error(`reference: batch ${perBatch.length}, row ${r}: label ${t} out of range`);
          for (let c = 0; c < C; c++) x[c] = batch.logits[(o * C + c) * inner + i];
          row = classRow(x, t);
        }
        if (nearEdge(row.conf, edgeBins, margin)) ambiguous++;
        count++;
        out.loss[r] = row.loss;
        out.rank[r] = row.rank;
        out.confidence[r] = row.conf;
        sumLoss += row.loss;
        sumBrier += row.brier;
        if (!opts.binary) sumEntropy += row.entropy;
        if (row.correct) correctAll++;
        for (let k = 0; k < topK.length; k++) if (row.rank < topK[k]) hits[k]++;
        const b = binOf(row.conf, B);
        binN[b]++;
        binConf[b] += row.conf;
        if (row.correct) binCorrect[b]++;
      }
    }
    perBatch.push(out);
  }

  let ece = 0;
  for (let b = 0; b < B; b++) {
    if (binN[b] === 0) continue;
    ece += (binN[b] / count) * Math.abs(binCorrect[b] / binN[b] - binConf[b] / binN[b]);
  }
  if (count === 0) ece = NaN;
  const metrics: Record<string, number> = { rows, count };
  // The scale of ece's float32 error (not a metric: not enumerable, so never compared as a key). See test/eval-cases.ts.
  let confSum = 0;
  for (let b = 0; b < B; b++) confSum += binConf[b];
  Object.defineProperty(metrics, 'meanConfidence', { value: confSum / count, enumerable: false });
  if (opts.binary) {
    metrics.bce = sumLoss / count;
    metrics.accuracy = correctAll / count;
    metrics.ece = ece;
    metrics.brier = sumBrier / count;
  } else {
    metrics.crossEntropy = sumLoss / count;
    metrics.perplexity = Math.exp(sumLoss / count);
    metrics.accuracy = correctAll / count;
    for (let k = 0; k < topK.length; k++) metrics[`top${topK[k]}`] = hits[k] / count;
    metrics.entropy = sumEntropy / count;
    metrics.ece = ece;
    metrics.brier = sumBrier / count;
  }
  return { metrics, perBatch, ambiguous };
}

/** Binary labels given as integers (Int32Array, BigInt64Array, a plain number array) take ignoreIndex; Float32Array labels do not. */
function isIntegerLabels(labels: ArrayLike<number | bigint>): boolean {
  return !(labels instanceof Float32Array || labels instanceof Float64Array);
}

/** The metric keys `result()` must return for these options, in no particular order. */
export function metricKeys(opts: EvalRefOptions = {}): string[] {
  if (opts.binary) return ['rows', 'count', 'bce', 'accuracy', 'ece', 'brier'];
  return ['rows', 'count', 'crossEntropy', 'perplexity', 'accuracy', ...(opts.topK ?? []).map((k) => `top${k}`), 'entropy', 'ece', 'brier'];
}
