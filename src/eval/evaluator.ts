/**
 * The streaming evaluator: batches of logits and labels in, every metric of src/eval/metrics.ts
 * out. Each batch is one pass over its logits (a row record each) and one fixed-order compensated
 * accumulation into pairs that stay with the backend (device buffers on WebGPU); `result()` reads
 * them once. A rejected batch leaves the accumulated pairs as they were.
 */
import { Half } from '../dtype.js';
import { LossError } from '../errors.js';
import type { F32Data, Layout } from '../jobs.js';
import { isDevice, layoutOf } from '../shapes.js';
import type { EvaluationResult, Evaluator, EvaluatorOptions } from '../types.js';
import {
  booleanOf, fail, floatTarget, floatTensor, ignoreIndexOf, indexTarget, isI32, looksLikeIndices, optionsOf, show,
} from '../validate.js';
import { accumulate, componentsOf, hostRecords, metricsOf, R, W } from './metrics.js';
import type { BadRow, EvalJob } from './metrics.js';

const M = 'evaluator';

/** What runs a batch: the CPU's arrays, or the WebGPU backend's kernels and device pairs. */
export interface EvalEngine {
  /** Adds the batch unless it has a bad row (then the pairs are unchanged). */
  add(job: EvalJob, perRow: boolean, device: boolean): Promise<{ bad?: BadRow; loss?: Float32Array | GPUBuffer; rank?: Int32Array | GPUBuffer }>;
  /**
   * Takes the batch's host operands now (the caller may refill its arrays at once): the WebGPU
   * engine uploads them, so a batch's upload overlaps the batches before it; `release` after `add`.
   */
  stage(job: EvalJob): { job: EvalJob; release(): void };
  /** The triples (sum, c, special) of every component. */
  read(): Promise<Float32Array>;
  dispose(): void;
}

export function cpuEngine(ks: readonly number[], bins: number): EvalEngine {
  let acc = new Float32Array(W * componentsOf(ks, bins));
  return {
    async add(job, perRow, device) {
      if (device) fail(M, "output 'device' needs the webgpu backend; this one is cpu");
      if ([job.x, job.target].some(isDevice)) fail(M, 'device tensors need the webgpu backend; this one is cpu');
      const { rec, bad } = hostRecords(job);
      if (bad) return { bad };
      const next = acc.slice();
      accumulate(next, rec, job.layout.rows, ks, bins);
      acc = next;
      if (!perRow) return {};
      const rows = job.layout.rows;
      const loss = new Float32Array(rows), rank = new Int32Array(rows);
      for (let r = 0; r < rows; r++) {
        loss[r] = rec[r * R + 1];
        rank[r] = rec[r * R + 5];
      }
      return { loss, rank };
    },
    stage(job) {
      const copy = <T>(d: T): T => (ArrayBuffer.isView(d) || d instanceof Half ? (d as unknown as Float32Array).slice() as unknown as T : d);
      return { job: { ...job, x: copy(job.x), target: copy(job.target) }, release() {} };
    },
    async read() {
      return acc.slice();
    },
    dispose() {},
  };
}

function positiveInteger(name: string, v: unknown, fallback: number, max: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) fail(M, `${name} = ${show(v)} must be an integer in [1, ${max}]`);
  return v;
}

/** Builds an evaluator over `engine` (made once the options are known). */
export function createEvaluator(options: unknown, engineOf: (ks: readonly number[], bins: number) => EvalEngine): Evaluator {
  const o = optionsOf(M, options, ['ignoreIndex', 'topK', 'calibrationBins', 'binary']);
  const ignoreIndex = ignoreIndexOf(M, o.ignoreIndex);
  const binary = booleanOf(M, 'binary', o.binary);
  const bins = positiveInteger('calibrationBins', o.calibrationBins, 15, 1000);
  const topK = o.topK === undefined ? [] : o.topK;
  if (!Array.isArray(topK)) fail(M, `topK = ${show(topK)} must be an array of integers ≥ 1`);
  const ks = [1, ...(topK as unknown[]).map((k, i) => positiveInteger(`topK[${i}]`, k, 1, 2 ** 31 - 1))];
  if (binary && ks.length > 1) fail(M, 'topK has no meaning for a binary evaluator');
  const engine = engineOf(ks, bins);
  let rows = 0, batches = 0, classes: number | undefined, disposed = false;
  let queue: Promise<unknown> = Promise.resolve();

  /** Calls run one after another (each batch's pairs are the next one's input). */
  function serial<T>(body: () => Promise<T>): Promise<T> {
    const p = queue.then(body);
    queue = p.catch(() => undefined);
    return p;
  }

  function jobOf(batch: number, logits: unknown, labels: unknown): EvalJob {
    const m = `${M}.add (batch ${batch})`;
    const t = floatTensor(m, 'logits', logits);
    let layout: Layout, labelShape: number[];
    if (binary) {
      if (t.shape.length > 2 || (t.shape.length === 2 && t.shape[1] !== 1)) fail(m, `binary logits must have shape (N) or (N, 1), got [${t.shape}]`);
      const n = t.shape[0] ?? 1;
      layout = { outer: n, C: 1, inner: 1, rows: n };
      labelShape = t.shape;
    } else {
      if (t.shape.length < 2) fail(m, `logits must have shape (N, C) or (N, C, d1, …), got [${t.shape}]`);
      layout = layoutOf(t.shape, 1);
      labelShape = t.shape.filter((_, i) => i !== 1);
      if (layout.C === 0) fail(m, 'logits have no classes');
    }
    let target: Int32Array | F32Data;
    if (binary && !looksLikeIndices(labels)) target = floatTarget(m, labels, labelShape, 'labels');
    else {
      const idx = indexTarget(m, labels, labelShape);
      target = isDevice(idx) || isI32(idx) ? idx : Int32Array.from(idx, (v) => (v >= -(2n ** 31n) && v < 2n ** 31n ? Number(v) : ignoreIndex === -1 ? -2 : -1));
    }
    return { method: m, x: t.data, layout, target, ignoreIndex, binary, ks, bins };
  }

  return {
    add(logits, labels, addOptions) {
      if (disposed) return Promise.reject(new LossError(`${M}.add: this evaluator was disposed`));
      const batch = batches++;
      let job: EvalJob, perRow: boolean, device: boolean;
      try {
        const a = optionsOf(`${M}.add`, addOptions, ['perRow', 'output']);
        perRow = booleanOf(`${M}.add`, 'perRow', a.perRow);
        if (a.output !== undefined && a.output !== 'host' && a.output !== 'device') fail(`${M}.add`, `output = ${show(a.output)} must be 'host' or 'device'`);
        device = a.output === 'device';
        if (device && !perRow) fail(`${M}.add`, "output 'device' is for perRow results");
        job = jobOf(batch, logits, labels);
      } catch (err) {
        return Promise.reject(err);
      }
      let staged: ReturnType<EvalEngine['stage']>;
      try {
        staged = engine.stage(job);
      } catch (err) {
        return Promise.reject(err);
      }
      job = staged.job;
      return serial(async () => {
       try {
        // The class count is fixed by the first non-empty batch accepted (a rejected one leaves no trace).
        const counts = !binary && job.layout.rows > 0;
        if (counts && classes !== undefined && job.layout.C !== classes) fail(`${M}.add (batch ${batch})`, `logits have ${job.layout.C} classes, earlier batches ${classes}`);
        // An empty batch costs nothing, whatever its class count (the engines are not asked).
        const res = job.layout.rows === 0 ? { loss: new Float32Array(0), rank: new Int32Array(0) } : await engine.add(job, perRow, device);
        if (device && job.layout.rows === 0) fail(`${M}.add (batch ${batch})`, "an empty batch has no per-row device buffers; use output 'host'");
        if (res.bad) {
          const what = res.bad.kind === 'nan' ? 'the logits hold NaN' : binary ? 'the label is not 0, 1 or ignoreIndex' : `the label is out of range [0, ${job.layout.C}) and not ignoreIndex`;
          throw new LossError(`${M}.add: batch ${batch}, row ${res.bad.row}: ${what}`);
        }
        rows += job.layout.rows;
        if (counts) classes ??= job.layout.C;
        if (!perRow) return undefined;
        const shape = [job.layout.rows];
        const asTensor = (d: Float32Array | Int32Array | GPUBuffer, dtype: 'float32' | 'int32') =>
          d instanceof Float32Array || d instanceof Int32Array ? { data: d, shape } : { buffer: d, shape, dtype };
        return { loss: asTensor(res.loss!, 'float32'), rank: asTensor(res.rank!, 'int32') } as never;
       } finally {
        staged.release();
       }
      });
    },
    result() {
      if (disposed) return Promise.reject(new LossError(`${M}.result: this evaluator was disposed`));
      return serial(async () => metricsOf(await engine.read(), rows, ks, bins, binary) as EvaluationResult);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      engine.dispose();
    },
  };
}
