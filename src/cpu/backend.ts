/** The CPU backend: the fallback without an adapter, and the oracle of the GPU tests. */
import { LossError } from '../errors.js';
import type { Backend, ElementJob, GradSpec, HostElementJob, HostRowJob, RowJob } from '../jobs.js';
import { ELEMENT_OPS, ROW_OPS, scaleAt, zScaleAt } from '../registry.js';
import { isDevice } from '../shapes.js';
import { cpuReducePlan, cpuRowPlan, planReduce, planRows } from '../plan.js';
import type { AdapterProfile } from '../plan.js';
import { reduceRecords } from './reduce.js';
import { gradRows, lossRows, normalizeRows } from './rows.js';

/** Every element's value under the op's CPU formula. */
function elementwise(job: HostElementJob): Float32Array {
  const f = ELEMENT_OPS[job.op].value;
  const out = new Float32Array(job.n);
  for (let i = 0; i < job.n; i++) out[i] = f(job, i);
  return out;
}

function host<T extends RowJob | ElementJob>(job: T, spec?: GradSpec): T & (HostRowJob | HostElementJob) {
  const values = [...Object.values(job), spec?.scale.kind === 'output' ? spec.scale.gradOutput : undefined];
  if (values.some(isDevice)) throw new LossError(`${job.method}: device tensors need the webgpu backend; this one is cpu`);
  if (job.device) throw new LossError(`${job.method}: output 'device' needs the webgpu backend; this one is cpu`);
  return job as T & (HostRowJob | HostElementJob);
}

/**
 * @param profile run the plans the WebGPU dispatcher picks for this adapter (the GPU tests' oracle);
 *   without it, the CPU's own fastest plans.
 */
export function cpuBackend(profile?: AdapterProfile): Backend {
  const rowPlan = (job: RowJob) => (profile ? planRows(job.layout.rows, job.layout.C, profile) : cpuRowPlan(job.layout.C));
  const reducePlan = (n: number, itemBytes: number, tile = 1) => (profile ? planReduce(n, itemBytes, profile, tile) : cpuReducePlan(n));
  /** Element-wise batch sums: the GPU reads them in tiles of 4 lanes (see planReduce). */
  const elementTotal = (values: Float32Array) => reduceRecords(values, values.length, 1, reducePlan(values.length, 4, 4))[0];
  return {
    kind: 'cpu',
    async normalize(job) {
      return normalizeRows(host(job) as HostRowJob, rowPlan(job));
    },
    async rowLosses(job) {
      return lossRows(host(job) as HostRowJob, rowPlan(job), false);
    },
    async rowSums(job) {
      const recs = lossRows(host(job) as HostRowJob, rowPlan(job), true);
      const K = ROW_OPS[job.op].records(job);
      return reduceRecords(recs, job.layout.rows, K, reducePlan(job.layout.rows, 4 * K));
    },
    async elementwise(job) {
      return elementwise(host(job) as HostElementJob);
    },
    async elementSum(job) {
      const v = elementwise(host(job) as HostElementJob);
      return elementTotal(v);
    },
    async rowGrad(job, spec) {
      const h = host(job, spec) as HostRowJob;
      const { rows } = job.layout;
      const none = spec.reduction === 'none';
      const stats = new Float64Array(4 * rows);
      const losses = lossRows(h, rowPlan(job), !none, stats);
      const K = ROW_OPS[job.op].records(job);
      const sums = none ? undefined : reduceRecords(losses, rows, K, reducePlan(rows, 4 * K));
      const grad = spec.inPlace ? h.x : new Float32Array(h.x.length);
      gradRows(h, stats, (r) => scaleAt(spec.scale, sums, r), (r) => zScaleAt(spec.scale, sums, r), grad);
      return { losses: none ? losses : undefined, sums, grad };
    },
    async elementGrad(job, spec) {
      const h = host(job, spec) as HostElementJob;
      const values = elementwise(h);
      const none = spec.reduction === 'none';
      const grad = spec.inPlace ? h.x : new Float32Array(job.n);
      const d = ELEMENT_OPS[job.op].grad;
      if (!d) throw new LossError(`${job.method}: no gradient`);
      for (let i = 0; i < job.n; i++) grad[i] = Math.fround(d(h, i) * scaleAt(spec.scale, undefined, i));
      if (none) return { losses: values, grad };
      return { sums: [elementTotal(values)], grad };
    },
    dispose() {},
  };
}
