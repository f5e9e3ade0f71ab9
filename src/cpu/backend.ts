/** The CPU backend: the fallback without an adapter, and the oracle of the GPU tests. */
import { decodeHalf, Half } from '../dtype.js';
import { LossError } from '../errors.js';
import type { Backend, ElementJob, F32Data, GradScale, GradSpec, HostElementJob, HostLinearJob, HostRowJob, RowJob } from '../jobs.js';
import { ELEMENT_OPS, ROW_OPS, scaleAt, zScaleAt } from '../registry.js';
import { isDevice } from '../shapes.js';
import { cpuReducePlan, cpuRowPlan, planLinear, planReduce, planRows } from '../plan.js';
import type { AdapterProfile, RowPlan } from '../plan.js';
import { elementWindows, rowWindows } from '../windows.js';
import type { Cut } from '../windows.js';
import { linearCpu } from './linear.js';
import { reduceRecords } from './reduce.js';
import { gradRows, lossRows, normalizeRows } from './rows.js';

/**
 * Half-precision operands are decoded a window at a time (about this many elements), never whole:
 * the kernels then run on float32 exactly as for a float32 input holding the decoded values, with
 * the plan of the whole job and one reduction over all rows, so windows never change a bit.
 */
const WINDOW = 1 << 20;

/** An operand's part [a, b) as float32: a view, or the half bits decoded. */
const decoded: Cut = (d, a, b) => (d instanceof Half ? decodeHalf(d.bits.subarray(a, b), d.dtype) : (d as Float32Array).subarray(a, b));

const isHalf = (d: unknown) => d instanceof Half;

/** The operands that may be half: x, probability targets / dy, element targets, the upstream gradient. */
function halfOperands(job: RowJob | ElementJob, spec?: GradSpec): boolean {
  const go = spec?.scale.kind === 'output' ? spec.scale.gradOutput : undefined;
  return [job.x, (job as RowJob).prob, (job as ElementJob).t, go].some(isHalf);
}

/** The scale of a window: its own part of the upstream gradient. */
function windowScale(scale: GradScale, gradOutput: F32Data | undefined): GradScale {
  return scale.kind === 'output' ? { kind: 'output', gradOutput: gradOutput! } : scale;
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

  /** Row windows with float32 operands: the whole job, unless an operand is half. */
  function* rows(job: RowJob, spec?: GradSpec) {
    host(job, spec);
    const go = spec?.scale.kind === 'output' ? spec.scale.gradOutput : undefined;
    const { C, inner, outer } = job.layout;
    const per = halfOperands(job, spec) ? Math.max(1, Math.floor(WINDOW / (C * inner))) : outer;
    for (const w of rowWindows(job, Math.max(per, 1), decoded, go)) yield { ...w, job: w.job as HostRowJob };
  }

  /** Per-row outputs of every window, in one array of K floats a row. */
  function perRow(job: RowJob, plan: RowPlan, records: boolean): Float32Array {
    const K = records ? ROW_OPS[job.op].records(job) : 1;
    const out = new Float32Array(job.layout.rows * K);
    for (const w of rows(job)) out.set(lossRows(w.job, plan, records), w.r0 * K);
    return out;
  }

  /** Element windows with float32 operands: the whole job, unless an operand is half. */
  function* elements(job: ElementJob, spec?: GradSpec) {
    host(job, spec);
    const go = spec?.scale.kind === 'output' ? spec.scale.gradOutput : undefined;
    const per = halfOperands(job, spec) ? WINDOW : Math.max(job.n, 4);
    for (const w of elementWindows(job, per, decoded, go)) yield { ...w, job: w.job as HostElementJob };
  }

  /** Every element's value under the op's CPU formula. */
  function values(job: ElementJob): Float32Array {
    const f = ELEMENT_OPS[job.op].value;
    const out = new Float32Array(job.n);
    for (const { job: h, e0 } of elements(job)) for (let i = 0; i < h.n; i++) out[e0 + i] = f(h, i);
    return out;
  }

  return {
    kind: 'cpu',
    async normalize(job) {
      const plan = rowPlan(job);
      const out = new Float32Array(job.layout.rows * job.layout.C);
      for (const w of rows(job)) out.set(normalizeRows(w.job, plan), w.e0);
      return out;
    },
    async rowLosses(job) {
      return perRow(job, rowPlan(job), false);
    },
    async rowSums(job) {
      const K = ROW_OPS[job.op].records(job);
      return reduceRecords(perRow(job, rowPlan(job), true), job.layout.rows, K, reducePlan(job.layout.rows, 4 * K));
    },
    async elementwise(job) {
      return values(job);
    },
    async elementSum(job) {
      return elementTotal(values(job));
    },
    async rowGrad(job, spec) {
      const plan = rowPlan(job);
      const { rows: n, C } = job.layout;
      const none = spec.reduction === 'none';
      const K = ROW_OPS[job.op].records(job);
      const stats = new Float64Array(4 * n);
      const losses = new Float32Array(n * (none ? 1 : K));
      for (const w of rows(job, spec)) losses.set(lossRows(w.job, plan, !none, stats.subarray(4 * w.r0)), w.r0 * (none ? 1 : K));
      const sums = none ? undefined : reduceRecords(losses, n, K, reducePlan(n, 4 * K));
      const grad = spec.inPlace ? (job.x as Float32Array) : new Float32Array(n * C);
      // Windows of a half input are decoded again rather than kept: memory stays one window.
      for (const w of rows(job, spec)) {
        const sc = windowScale(spec.scale, w.gradOutput);
        gradRows(w.job, stats.subarray(4 * w.r0), (r) => scaleAt(sc, sums, r), (r) => zScaleAt(sc, sums, r), grad.subarray(w.e0, w.e0 + w.job.layout.rows * C));
      }
      return { losses: none ? losses : undefined, sums, grad };
    },
    async elementGrad(job, spec) {
      const none = spec.reduction === 'none';
      const values = new Float32Array(job.n);
      const grad = spec.inPlace ? (job.x as Float32Array) : new Float32Array(job.n);
      const { value: f, grad: d } = ELEMENT_OPS[job.op];
      if (!d) throw new LossError(`${job.method}: no gradient`);
      for (const { job: h, e0, gradOutput } of elements(job, spec)) {
        const sc = windowScale(spec.scale, gradOutput);
        for (let i = 0; i < h.n; i++) values[e0 + i] = f(h, i);
        // In place, x[i] is overwritten: every value is taken first.
        for (let i = 0; i < h.n; i++) grad[e0 + i] = Math.fround(d(h, i) * scaleAt(sc, undefined, i));
      }
      if (none) return { losses: values, grad };
      return { sums: [elementTotal(values)], grad };
    },
    async linear(job, spec) {
      const go = spec.grad?.kind === 'output' ? spec.grad.gradOutput : undefined;
      if ([job.hidden, job.weight, job.bias, job.target, go].some(isDevice)) throw new LossError(`${job.method}: device tensors need the webgpu backend; this one is cpu`);
      if (job.device) throw new LossError(`${job.method}: output 'device' needs the webgpu backend; this one is cpu`);
      const rows = (n: number) => (profile ? planRows(n, job.V, profile) : cpuRowPlan(job.V));
      return linearCpu(job as HostLinearJob, spec, planLinear(job.N, job.V, job.D, profile), rows, reducePlan);
    },
    dispose() {},
  };
}
