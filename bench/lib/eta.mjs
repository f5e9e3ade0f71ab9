// The runner's ETA: what every measurement of this run should cost, predicted from an earlier run's
// rows (bench/results/*.json: median and timed runs per environment, implementation, mode and case),
// then scaled by how this run's finished measurements compared with their predictions.

import { baseOp, isHalf, parseShape } from './cases.mjs';

const OVERHEAD_MS = 300; // per measurement: preparing inputs, reading back, the correctness check
const CASE_MS_PER_ELEMENT = 1e-4; // per case: the seeded inputs and the float64 reference
const HALF_CASE_FACTOR = 3; // a half-precision case also rounds its logits to the dtype (bench/lib/half.mjs)
const BROWSER_START_MS = 15_000; // Vite, Chromium, the page loading TF.js and ONNX Runtime

const numel = (shape) => parseShape(shape).reduce((a, b) => a * b, 1);
const keyOf = (r) => `${r.env}|${r.impl}|${r.device}|${r.mode}|${r.op}|${r.shape}`;

/** "2m05s" */
export function minutes(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** Wall time of one measurement whose calls take `median` ms, as timing.mjs's measure() spends it. */
function measurementMs(median, { runs, minRuns, budgetMs }) {
  const timed = Math.min(runs, Math.max(minRuns, Math.ceil(budgetMs / median)));
  return (timed + (median < budgetMs / 10 ? 2 : 1)) * median + OVERHEAD_MS;
}

/** Whether an earlier float32 row stands for a measurement of the half op `op` (only this library, the floors and ONNX Runtime Web's resident Softmax run those). */
const runsHalf = (r, op) => r.role === 'floor' || r.impl === 'webgpu-losses' || (op === 'softmaxF16' && r.impl === 'ort-web-webgpu' && r.mode === 'resident');

/**
 * The earlier rows for a case in one environment: the same case, else the same op at its nearest
 * size, else any op at the nearest size, with medians scaled by the element count. A half-precision op
 * without rows of its own is predicted from its float32 op's rows (of the implementations that run it).
 */
function priorRows(previous, env, c) {
  const n = numel(c.shape);
  const mine = previous.filter((r) => r.env === env && r.median_ms > 0);
  const exact = mine.filter((r) => r.op === c.op && r.shape === c.shape);
  if (exact.length) return exact;
  if (isHalf(c.op) && !mine.some((r) => r.op === c.op)) {
    return priorRows(previous.filter((r) => runsHalf(r, c.op)), env, { ...c, op: baseOp(c.op) }).map((r) => ({ ...r, op: c.op }));
  }
  const pool = mine.some((r) => r.op === c.op) ? mine.filter((r) => r.op === c.op) : mine;
  if (!pool.length) return [];
  const near = pool.reduce((a, b) => (Math.abs(Math.log(numel(b.shape) / n)) < Math.abs(Math.log(numel(a.shape) / n)) ? b : a));
  const scale = n / numel(near.shape);
  return pool.filter((r) => r.op === near.op && r.shape === near.shape).map((r) => ({ ...r, op: c.op, shape: c.shape, median_ms: r.median_ms * scale }));
}

/**
 * @param cases    the run's cases; @param envs ['node', 'browser'] or one of them
 * @param timing   the run's timing; @param only the --impls filter (floors always run)
 * @param previous rows of earlier runs
 * Returns { predictedMs, done(row), text() }: predictedMs is the whole run at the earlier run's
 * speed; call done() as each row finishes; text() is "ETA 2m05s" (or '' without an earlier run).
 */
export function createEta({ cases, envs, timing, only, previous }) {
  const expected = new Map();
  let total = envs.includes('browser') ? BROWSER_START_MS : 0;
  for (const env of envs) {
    for (const c of cases) {
      const rows = priorRows(previous, env, c)
        .filter((r) => r.role === 'floor' || !only?.length || only.includes(r.impl) || only.includes(`${r.impl}:${r.device}`));
      for (const r of rows) {
        const ms = measurementMs(r.median_ms, timing) + (CASE_MS_PER_ELEMENT * (isHalf(c.op) ? HALF_CASE_FACTOR : 1) * numel(c.shape)) / rows.length;
        expected.set(keyOf(r), ms);
        total += ms;
      }
    }
  }
  const start = Date.now();
  let predictedDone = 0;
  let browserStarted = false;
  return {
    predictedMs: total,
    done(row) {
      if (row.env === 'browser' && !browserStarted) { browserStarted = true; predictedDone += BROWSER_START_MS; }
      predictedDone += expected.get(keyOf(row)) ?? 0;
    },
    text() {
      if (!expected.size) return '';
      // The first measurements carry one-off costs (shader compiles, the floors' tuning): the
      // earlier run's speed stands until 5 % of the predicted work is done.
      const speed = predictedDone >= 0.05 * total ? (Date.now() - start) / predictedDone : 1;
      return `ETA ${minutes(speed * (total - predictedDone))}`;
    },
  };
}
