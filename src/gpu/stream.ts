/**
 * Host inputs larger than one device buffer. A job whose host operands exceed `unitFloats` is cut
 * into sub-jobs of whole row slices (row ops) or element ranges (element ops), run one after the
 * other through the single-call backend; per-element results land in one host array, and the
 * sub-jobs' fixed-order sums are added in their fixed order (in float64, rounded once), so the
 * answer is reproducible for a given device and differs from an unsplit run only by that last sum.
 * The host operands are copied when the call is made: later chunks are uploaded after awaits, and
 * the caller may refill its arrays as soon as the call returns.
 */
import { LossError } from '../errors.js';
import type { Backend, ElementJob, F32Data, GradResult, GradSpec, I32Data, Out, RowJob } from '../jobs.js';
import { Half } from '../dtype.js';
import { ROW_OPS } from '../registry.js';
import { isDevice } from '../shapes.js';
import { elementWindows, rowWindows } from '../windows.js';
import type { Cut } from '../windows.js';

const f32 = Math.fround;

/** A host operand copied now (also turns SharedArrayBuffer-backed views into plain ones). */
function snap<T extends F32Data | I32Data | undefined>(d: T): T {
  return (d === undefined || isDevice(d) ? d : d.slice()) as T;
}

/** Views of the copies. */
const view: Cut = (d, a, b) => (d as Float32Array | Half).subarray(a, b);

function hostArray(job: RowJob | ElementJob, out: Out[]): Float32Array[] {
  if (out.some((o) => !(o instanceof Float32Array))) throw new LossError(`${job.method}: internal error: a streamed chunk returned a device buffer`);
  return out as Float32Array[];
}

/** Sums of each component over the chunks, added in chunk order in float64 and rounded once. */
function addSums(parts: number[][]): number[] {
  return parts[0].map((_, k) => f32(parts.reduce((acc, p) => acc + p[k], 0)));
}

function concat(parts: Float32Array[], total: number, into: Float32Array<ArrayBufferLike> = new Float32Array(total)): Float32Array<ArrayBufferLike> {
  let o = 0;
  for (const p of parts) {
    into.set(p, o);
    o += p.length;
  }
  return into;
}

export function streamed(single: Backend, unitFloats: () => number): Backend {
  /** Which host operands decide the split: any over the unit while the input is a device tensor cannot be cut. */
  function oversized(job: RowJob | ElementJob, extra?: F32Data): boolean {
    const unit = unitFloats();
    const ops = [job.x, 'target' in job ? job.target : undefined, 'prob' in job ? job.prob : undefined, 't' in job ? job.t : undefined, extra];
    const big = ops.some((d) => d !== undefined && !isDevice(d) && d.length > unit);
    if (!big) return false;
    if (ops.some(isDevice)) {
      throw new LossError(`${job.method}: a host operand of more than ${unit} elements (this device's largest buffer) cannot be combined with device tensors; pass it as a device tensor too`);
    }
    if (job.device) throw new LossError(`${job.method}: output 'device' needs the result in one buffer, larger than this device's largest (${unit * 4} bytes)`);
    return true;
  }

  /** Row sub-jobs of whole outer slices, over copies of the operands. */
  function rowChunks(job: RowJob, gradOutput?: F32Data) {
    const { C, inner } = job.layout;
    const per = Math.floor(unitFloats() / (C * inner));
    if (per < 1) throw new LossError(`${job.method}: one slice of ${C * inner} elements along the class dim exceeds this device's largest buffer`);
    const copy = { ...job, x: snap(job.x), target: snap(job.target), prob: snap(job.prob), weight: job.weight?.slice() };
    return [...rowWindows(copy, per, view, snap(gradOutput))];
  }

  function elementChunks(job: ElementJob, gradOutput?: F32Data) {
    const copy = { ...job, x: snap(job.x), t: snap(job.t), weight: job.weight?.slice(), posWeight: job.posWeight?.slice() };
    return [...elementWindows(copy, Math.floor(unitFloats() / 4) * 4, view, snap(gradOutput))];
  }

  async function each<C, R>(chunks: C[], run: (c: C) => Promise<R>): Promise<R[]> {
    const out: R[] = [];
    for (const c of chunks) out.push(await run(c));
    return out;
  }

  /** The gradient the caller asked for: the input's own array (inPlace) or a new one. */
  function gradInto(job: RowJob | ElementJob, spec: GradSpec, parts: Float32Array[], n: number): Float32Array {
    return concat(parts, n, spec.inPlace ? (job.x as Float32Array) : undefined);
  }

  async function rowGrad(job: RowJob, spec: GradSpec): Promise<GradResult> {
    const sc = spec.scale;
    const chunks = rowChunks(job, sc.kind === 'output' ? sc.gradOutput : undefined);
    const total = job.layout.rows * job.layout.C;
    const sub = { reduction: spec.reduction, inPlace: false };
    if (sc.kind === 'sum') {
      // A weighted mean scales every row by 1/Σw over all rows: sum first, then the gradients.
      const sums = addSums(await each(chunks, (c) => single.rowSums(c.job)));
      const value = f32(1 / sums[sc.index]);
      const parts = await each(chunks, (c) => single.rowGrad(c.job, { ...sub, scale: { kind: 'const', value } }));
      return { sums, grad: gradInto(job, spec, hostArray(job, parts.map((p) => p.grad)), total) };
    }
    const parts = await each(chunks, (c) => single.rowGrad(c.job, { ...sub, scale: sc.kind === 'output' ? { kind: 'output', gradOutput: c.gradOutput! } : sc }));
    const grad = gradInto(job, spec, hostArray(job, parts.map((p) => p.grad)), total);
    if (spec.reduction === 'none') return { losses: concat(hostArray(job, parts.map((p) => p.losses!)), job.layout.rows), grad };
    return { sums: addSums(parts.map((p) => p.sums!)), grad };
  }

  async function elementGrad(job: ElementJob, spec: GradSpec): Promise<GradResult> {
    const sc = spec.scale;
    const chunks = elementChunks(job, sc.kind === 'output' ? sc.gradOutput : undefined);
    const parts = await each(chunks, (c) => single.elementGrad(c.job, {
      reduction: spec.reduction, inPlace: false, scale: sc.kind === 'output' ? { kind: 'output', gradOutput: c.gradOutput! } : sc,
    }));
    const grad = gradInto(job, spec, hostArray(job, parts.map((p) => p.grad)), job.n);
    if (spec.reduction === 'none') return { losses: concat(hostArray(job, parts.map((p) => p.losses!)), job.n), grad };
    return { sums: addSums(parts.map((p) => p.sums!)), grad };
  }

  return {
    kind: single.kind,
    async normalize(job) {
      if (!oversized(job)) return single.normalize(job);
      const parts = await each(rowChunks(job), (c) => single.normalize(c.job));
      return concat(hostArray(job, parts), job.layout.rows * job.layout.C);
    },
    async rowLosses(job) {
      if (!oversized(job)) return single.rowLosses(job);
      return concat(hostArray(job, await each(rowChunks(job), (c) => single.rowLosses(c.job))), job.layout.rows);
    },
    async rowSums(job) {
      if (!oversized(job)) return single.rowSums(job);
      const parts = await each(rowChunks(job), (c) => single.rowSums(c.job));
      return parts.length ? addSums(parts) : new Array<number>(ROW_OPS[job.op].records(job)).fill(0);
    },
    async elementwise(job) {
      if (!oversized(job)) return single.elementwise(job);
      return concat(hostArray(job, await each(elementChunks(job), (c) => single.elementwise(c.job))), job.n);
    },
    async elementSum(job) {
      if (!oversized(job)) return single.elementSum(job);
      return addSums((await each(elementChunks(job), (c) => single.elementSum(c.job))).map((s) => [s]))[0];
    },
    async rowGrad(job, spec) {
      const go = spec.scale.kind === 'output' ? spec.scale.gradOutput : undefined;
      return oversized(job, go) ? rowGrad(job, spec) : single.rowGrad(job, spec);
    },
    async elementGrad(job, spec) {
      const go = spec.scale.kind === 'output' ? spec.scale.gradOutput : undefined;
      return oversized(job, go) ? elementGrad(job, spec) : single.elementGrad(job, spec);
    },
    // Host operands beyond one buffer go up a chunk or block at a time inside the call (src/gpu/linear.ts).
    linear: (job, spec) => single.linear(job, spec),
    pack: single.pack && ((src, n, dtype, into) => single.pack!(src, n, dtype, into)),
    evalEngine: single.evalEngine && ((ks, bins) => single.evalEngine!(ks, bins)),
    dispose: () => single.dispose(),
  };
}
