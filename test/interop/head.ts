/**
 * The classifier head of the interop tests (scripts/onnx-head.py, test/fixtures/onnx/head.json) in
 * float64: logits = hidden · W + b, the mean cross-entropy and its gradient d(loss)/d(logits), and the
 * head's backward pass given a gradient, plus the checks the interop tests share. Nothing here
 * imports Node modules or the library.
 */
import head from '../fixtures/onnx/head.json';

export const HEAD = head;
export const { D, C } = head;
export const { N, hidden: HIDDEN, labels: LABELS } = head.example;

/** logits = hidden · W + b in float64 (N×C, row-major). */
export function logits64(hidden: readonly number[] = HIDDEN): number[] {
  const out = new Array<number>(N * C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      let s = head.b[c];
      for (let d = 0; d < D; d++) s += hidden[n * D + d] * head.W[d * C + c];
      out[n * C + c] = s;
    }
  }
  return out;
}

/** The mean cross-entropy of `logits` (N×C) with `labels`, and its gradient, in float64. */
export function crossEntropy64(logits: readonly number[], labels: readonly number[] = LABELS): { loss: number; grad: number[] } {
  let loss = 0;
  const grad = new Array<number>(N * C);
  for (let n = 0; n < N; n++) {
    const row = logits.slice(n * C, (n + 1) * C);
    const m = Math.max(...row);
    const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
    loss += m + Math.log(s) - row[labels[n]];
    for (let c = 0; c < C; c++) grad[n * C + c] = (Math.exp(row[c] - m) / s - (c === labels[n] ? 1 : 0)) / N;
  }
  return { loss: loss / N, grad };
}

/** The head's backward pass given dlogits: dhidden = dlogits · Wᵀ, dW = hiddenᵀ · dlogits, db = Σ_n dlogits. */
export function backward64(dlogits: readonly number[], hidden: readonly number[] = HIDDEN): { dhidden: number[]; dW: number[]; db: number[] } {
  const dhidden = new Array<number>(N * D).fill(0);
  const dW = new Array<number>(D * C).fill(0);
  const db = new Array<number>(C).fill(0);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const g = dlogits[n * C + c];
      db[c] += g;
      for (let d = 0; d < D; d++) {
        dhidden[n * D + d] += g * head.W[d * C + c];
        dW[d * C + c] += hidden[n * D + d] * g;
      }
    }
  }
  return { dhidden, dW, db };
}

/** The largest |a − b| over two arrays of one length (Infinity for a NaN, a null or a length mismatch). */
export function maxDiff(a: readonly (number | null)[], b: readonly number[]): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] ?? NaN) - b[i]);
    m = Math.max(m, Number.isNaN(d) ? Infinity : d);
  }
  return m;
}

/**
 * Tolerances, by the dtype the logits and the gradient are stored in:
 * - `logits` vs the float64 head: float32 rounding of a 16-term dot product, or float16 storage
 *   (|logit| < 4.1: half an ulp is ≤ 2^-9) and float16 accumulation in the runtime's kernel;
 * - `loss`, `grad` vs float64 of the logits the runtime produced: the library's float32 contract
 *   (2e-5·max(1, |loss|)), plus the rounding of a float16 gradient (|g| ≤ 1/N: half an ulp ≤ 2^-17);
 * - `backward` vs float64 of the gradient the library produced: the runtime's float32 matmuls, or
 *   float16 storage and accumulation (|dW| < 1: half an ulp ≤ 2^-12, over sums of 32 terms).
 */
export function tolerances(dtype: 'float32' | 'float16') {
  return dtype === 'float32'
    ? { logits: 1e-5, loss: 2e-5, grad: 1e-6, backward: 1e-5 }
    : { logits: 1e-2, loss: 2e-5, grad: 1e-5, backward: 4e-3 };
}

/** What a scenario gives back (all values read back at its end). */
export interface HeadRun {
  loss: number;
  logits: number[];
  grad: number[];
  dhidden?: number[];
  dW?: number[];
  db?: number[];
}

/**
 * Checks one run against float64: the logits against the head, the loss and gradient against float64
 * of the logits the runtime produced, the backward pass against float64 of the library's gradient.
 * Returns the failures (empty when all hold) and the measured errors.
 */
export function checkHead(run: HeadRun, dtype: 'float32' | 'float16'): { failures: string[]; errors: Record<string, number> } {
  const tol = tolerances(dtype);
  const failures: string[] = [];
  const errors: Record<string, number> = {};
  const check = (name: string, err: number, limit: number) => {
    errors[name] = err;
    if (!(err <= limit)) failures.push(`${name}: error ${err} > ${limit}`);
  };
  check('logits vs float64 head', maxDiff(run.logits, logits64()), tol.logits);
  const ref = crossEntropy64(run.logits);
  check('loss vs float64 of the logits', Math.abs(run.loss - ref.loss), tol.loss * Math.max(1, Math.abs(ref.loss)));
  check('loss vs float64 head', Math.abs(run.loss - crossEntropy64(logits64()).loss), tol.logits);
  check('grad vs float64 of the logits', maxDiff(run.grad, ref.grad), tol.grad);
  if (run.dhidden && run.dW && run.db) {
    const back = backward64(run.grad);
    check('dhidden vs float64 of the grad', maxDiff(run.dhidden, back.dhidden), tol.backward);
    check('dW vs float64 of the grad', maxDiff(run.dW, back.dW), tol.backward);
    check('db vs float64 of the grad', maxDiff(run.db, back.db), tol.backward);
  }
  return { failures, errors };
}
