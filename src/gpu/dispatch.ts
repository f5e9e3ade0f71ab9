/**
 * The dispatcher: turns a job into buffers, chunks and dispatches, following the plan that
 * plan.ts picks for the shape and adapter (`planRows`, `planReduce`: the one place of the kernel
 * choice), then reads back only the answer. Everything one call needs is encoded in one pass
 * and submitted once; every buffer it took from the pool goes back when the call ends.
 */
import { Half } from '../dtype.js';
import type { FloatDtype, HalfDtype } from '../dtype.js';
import { LossError } from '../errors.js';
import type { ElementJob, F32Data, GradResult, GradSpec, I32Data, Out, RowJob } from '../jobs.js';
import { ELEMENT_OPS, ROW_OPS } from '../registry.js';
import { isDevice } from '../shapes.js';
import { dtypeOf as dataDtype } from '../validate.js';
import { planReduce, planRows } from '../plan.js';
import type { AdapterProfile, ReducePlan, RowPlan } from '../plan.js';
import { R } from '../eval/metrics.js';
import type { BadRow, EvalJob } from '../eval/metrics.js';
import type { Constants, Family, Kernels, Variant } from './kernels.js';
import { F32_OPERANDS, GSCALE, packParams, SLOTS, STORAGE_SLOTS } from './interface.js';
import type { Operands, Params, Slot } from './interface.js';
import type { BufferPool } from './pool.js';

// GPUBufferUsage / GPUMapMode values from the spec (the globals may not exist).
const MAP_READ = 1, COPY_SRC = 4, COPY_DST = 8, STORAGE = 128;
/**
 * Elements per binding offset step: 256 bytes (minStorageBufferOffsetAlignment) hold 128 halves, 64
 * floats, 32 int64s, so every operand of a chunk, whatever its dtype, starts the same number of
 * elements (`delta`) into its binding, and one offset (xOff, tOff) indexes them all.
 */
export const ALIGN = 128;

export interface GpuContext {
  device: GPUDevice;
  /** The largest buffer the library creates (maxBufferSize, or the caller's lower maxBufferBytes). */
  maxBufferBytes: number;
  pool: BufferPool;
  kernels: Kernels;
  profile: AdapterProfile;
  /** The device has the subgroups feature. */
  subgroups: boolean;
  poison: boolean;
}

const SLOTS_BINDING = Object.fromEntries(STORAGE_SLOTS.map((s) => [s, SLOTS[s].binding])) as Record<Slot, number>;
/** Buffers bound by slot name; a slot left out gets a placeholder. */
export type Bindings = Partial<Record<Slot, Range | GPUBuffer>>;

/** A range of a buffer, bound from a 256-byte aligned offset; `delta` elements lead to `start`. */
export interface Range { buffer: GPUBuffer; offset: number; size: number; delta: number }

/** Elements [start, start + count) of `bytes` bytes each, bound in whole 8-byte words where the buffer has them. */
export function range(buffer: GPUBuffer, start: number, count: number, bytes = 4): Range {
  const first = Math.floor(start / ALIGN) * ALIGN;
  const offset = first * bytes;
  const size = Math.min(buffer.size - offset, Math.max(8, Math.ceil(((start - first + count) * bytes) / 8) * 8));
  return { buffer, offset, size: Math.floor(size / 4) * 4, delta: start - first };
}

/** The dtype of an operand (an absent one reads as float32). */
export const dtypeOf = (d: F32Data | undefined): FloatDtype => (d === undefined ? 'float32' : dataDtype(d));
export const bytesOf = (d: F32Data | undefined) => (dtypeOf(d) === 'float32' ? 4 : 2);
export const labelBytes = (t: I32Data | undefined) => (t !== undefined && isDevice(t) && t.dtype === 'int64' ? 8 : 4);

/**
 * Can half operands be read in vec2<u32> tiles? Only where their buffers hold the last tile's
 * whole 8 bytes (ours always do; an app's buffer may end at the last 4-byte word).
 */
export function wholeTiles(n: number, ...ops: (F32Data | undefined)[]): boolean {
  return ops.every((d) => d === undefined || !isDevice(d) || dtypeOf(d) === 'float32' || d.buffer.size >= Math.ceil((2 * n) / 8) * 8);
}

type HostData = Float32Array | Int32Array | Half;

/** Bytes of the buffer a host array is uploaded to (whole 16-byte units). */
const uploadBytes = (data: HostData) => Math.max(Math.ceil((data instanceof Half ? data.bits : data).byteLength / 16) * 16, 16);

/** Writes a host array (half bits as they are) at the start of `b`. */
function write(device: GPUDevice, b: GPUBuffer, data: HostData): void {
  const view = data instanceof Half ? data.bits : data;
  // writeBuffer takes ArrayBuffers only: views of shared memory (WASM heaps, workers) are copied first.
  const src = Object.prototype.toString.call(view.buffer) === '[object ArrayBuffer]' ? view : view.slice();
  const whole = Math.floor(src.byteLength / 4) * 4; // writes are whole words: an odd half goes last, padded
  device.queue.writeBuffer(b, 0, src.buffer, src.byteOffset, whole);
  if (whole < src.byteLength) device.queue.writeBuffer(b, whole, new Uint16Array([(src as Uint16Array)[src.length - 1], 0]));
}

/** A host array in a new buffer the caller owns (the evaluator's staged batches). */
export function upload(device: GPUDevice, data: HostData): GPUBuffer {
  const b = device.createBuffer({ size: uploadBytes(data), usage: STORAGE | COPY_SRC | COPY_DST });
  write(device, b, data);
  return b;
}

/** One call: its buffers, its pass, its readback. */
export class Call {
  private taken: GPUBuffer[] = [];
  private encoder: GPUCommandEncoder;
  private pass: GPUComputePassEncoder;

  constructor(private ctx: GpuContext) {
    this.encoder = ctx.device.createCommandEncoder();
    this.pass = this.encoder.beginComputePass();
  }

  buffer(bytes: number, usage = STORAGE | COPY_SRC | COPY_DST): GPUBuffer {
    const b = this.ctx.pool.acquire(bytes, usage);
    this.taken.push(b);
    return b;
  }

  /** A scratch/output buffer; NaN-filled when poisoning (tests check every element gets written). */
  output(floats: number): GPUBuffer {
    const b = this.buffer(floats * 4);
    if (this.ctx.poison) this.ctx.device.queue.writeBuffer(b, 0, new Float32Array(b.size / 4).fill(NaN));
    return b;
  }

  /** A buffer the caller will own (device outputs): not pooled, never released here. */
  owned(floats: number): GPUBuffer {
    const b = this.ctx.device.createBuffer({ size: Math.max(16, Math.ceil(floats / 4) * 16), usage: STORAGE | COPY_SRC | COPY_DST });
    if (this.ctx.poison) this.ctx.device.queue.writeBuffer(b, 0, new Float32Array(b.size / 4).fill(NaN));
    return b;
  }

  /** A host array uploaded (half bits as they are), or the app's device buffer read in place. */
  input(data: F32Data | I32Data): GPUBuffer {
    if (isDevice(data)) return data.buffer;
    const b = this.buffer(uploadBytes(data));
    write(this.ctx.device, b, data);
    return b;
  }

  dispatch(family: Family, entry: string, variant: Variant, constants: Constants, groups: number,
    params: Params, bindings: Bindings): void {
    if (groups === 0) return;
    const maxDim = this.ctx.profile.maxGroupsPerDim;
    const gx = Math.min(groups, maxDim), gy = Math.ceil(groups / gx);
    if (gy > maxDim) throw new LossError(`the batch needs ${groups} workgroups, more than this device can dispatch`);
    const u = this.ctx.kernels.uniform(packParams({ ...params, groupsX: gx }));
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: u } }];
    for (const slot of STORAGE_SLOTS) {
      const b = SLOTS_BINDING[slot], r = bindings[slot];
      if (r === undefined) entries.push({ binding: b, resource: { buffer: this.ctx.kernels.placeholder(b) } });
      else if ('delta' in r) entries.push({ binding: b, resource: { buffer: r.buffer, offset: r.offset, size: r.size } });
      else entries.push({ binding: b, resource: { buffer: r } });
    }
    const pipeline = this.ctx.kernels.pipeline(family, entry, variant, constants);
    this.pass.setPipeline(pipeline);
    // A bind group is kept only where it holds the library's buffers alone: one kept with an app's
    // buffer would keep that buffer's memory alive after the app let go of it.
    const ours = entries.every((e) => {
      const b = (e.resource as GPUBufferBinding).buffer;
      return this.taken.includes(b) || this.ctx.kernels.owns(b);
    });
    this.pass.setBindGroup(0, ours ? this.ctx.kernels.bindGroup(entries) : this.ctx.device.createBindGroup({ layout: this.ctx.kernels.layout, entries }));
    this.pass.dispatchWorkgroups(gx, gy);
  }

  /** Ends the pass, copies `floats` floats of each source to the host through one staging buffer, submits, waits, returns them. */
  async read(sources: { buffer: GPUBuffer; floats: number }[]): Promise<Float32Array[]> {
    this.pass.end();
    const at: number[] = [];
    let bytes = 0;
    for (const { floats } of sources) {
      at.push(bytes);
      bytes += Math.ceil(Math.max(1, floats) / 2) * 8; // each copy starts on 8 bytes, as a mapped range must
    }
    const m = sources.length > 0 ? this.buffer(bytes, MAP_READ | COPY_DST) : undefined;
    sources.forEach(({ buffer, floats }, i) => this.encoder.copyBufferToBuffer(buffer, 0, m!, at[i], Math.max(4, floats * 4)));
    this.ctx.device.queue.submit([this.encoder.finish()]);
    if (!m) return [];
    await m.mapAsync(1 /* GPUMapMode.READ */, 0, bytes);
    const all = m.getMappedRange(0, bytes);
    const out = sources.map(({ floats }, i) => new Float32Array(all.slice(at[i], at[i] + floats * 4)));
    m.unmap();
    return out;
  }

  /** Ends the pass and submits, reading nothing back (the work is ordered before any later call's). */
  async submit(): Promise<void> {
    this.pass.end();
    this.ctx.device.queue.submit([this.encoder.finish()]);
  }

  /** Returns every buffer to the pool. */
  done(): void {
    for (const b of this.taken) this.ctx.pool.release(b);
    this.taken = [];
    this.ctx.kernels.trim();
  }
}

/** Subgroup merges when a lane group's invocations fit in the smallest subgroup; operands as given. */
export function variant(ctx: GpuContext, invocations: number, operands: Partial<Operands> = {}): Variant {
  return {
    ...F32_OPERANDS, ...operands,
    subgroups: ctx.subgroups && invocations > 1 && invocations <= ctx.profile.subgroupSize,
  };
}

/** Floats of one binding (less the alignment lead). */
export function maxFloats(ctx: GpuContext): number {
  return Math.floor(ctx.profile.maxBindingBytes / 4) - ALIGN * 2;
}

type RowOutput = 'normalize' | 'losses' | 'records';

/** The plan of a row job on this adapter; NLL only gathers, one invocation per row. */
export function rowPlanOf(job: RowJob, profile: AdapterProfile): RowPlan {
  if (job.op === 'nll') return { family: 'thread', lanes: 1, unroll: 1, tile: 4, splits: 1, segment: job.layout.C, workgroupSize: 64 };
  return planRows(job.layout.rows, job.layout.C, profile);
}

interface RowEncoding {
  /** Outputs (per element, per row, or records), NaN-poisoned in tests. */
  out: GPUBuffer;
  floats: number;
  /** Bad-label flag of device targets. */
  status: GPUBuffer;
  /**
   * Where the records went: with `blocks`, small rows were folded straight into the batch sums'
   * first pass, and `out` holds its `blocks` K-wide block sums (no records were written).
   */
  blocks?: number;
  /** Encodes `entry` of rows.wgsl for every chunk with extra constants and overrides of bindings. */
  each(entry: string, groupsOf: (rows: number) => number, constants?: Constants,
    bindings?: (s0: number, n: number) => Bindings, params?: Params, over?: Partial<Variant>): void;
  lanesPerRow: (rows: number) => number;
  /** The input on the device (uploaded, or the app's buffer). */
  x: GPUBuffer;
}

/**
 * Encodes the statistics pass of a row job into `call` (plus the split merge and, for softmax,
 * the write pass), chunked by outer slices (C·inner elements, `inner` rows) so that no binding
 * exceeds the device limit. With `keepStats`, every row's merged state stays in `partial`.
 */
/** Where a row job's records (or losses) go and whose labels it reads: rows row0 … of a larger job's (linearCrossEntropy's chunks). */
export interface RowsInto { out: GPUBuffer; status: GPUBuffer; row0: number }

export function encodeRows(call: Call, ctx: GpuContext, job: RowJob, output: RowOutput, keepStats = false, into?: RowsInto): RowEncoding {
  const { outer, C, inner, rows } = job.layout;
  const plan = rowPlanOf(job, ctx.profile);
  const spec = ROW_OPS[job.op];
  const K = output === 'records' ? spec.records(job) : 1;
  // A slice's widest binding, in 4-byte words: its elements (outputs), its records, its int64 labels.
  const lb = labelBytes(job.target);
  const slices = Math.floor(maxFloats(ctx) / (inner * Math.max(C, K, lb / 4)));
  if (slices < 1) throw new LossError(`${job.method}: one slice of ${C * inner} elements exceeds the device's largest binding`);
  const floats = output === 'normalize' ? rows * C : rows * K;
  const out = into?.out ?? (job.device && output !== 'records' ? call.owned(floats) : call.output(floats));
  const row0 = into?.row0 ?? 0;
  let status = into?.status;
  if (!status) {
    status = call.buffer(16);
    ctx.device.queue.writeBuffer(status, 0, new Uint32Array(4));
  }
  const x = call.input(job.x);
  const labels = job.target !== undefined ? call.input(job.target) : undefined;
  const prob = job.prob !== undefined ? call.input(job.prob) : undefined;
  const weight = job.weight !== undefined ? call.input(job.weight) : undefined;
  const chunkSlices = Math.min(outer, slices);
  const partial = plan.splits > 1 || keepStats ? call.output(rows * plan.splits * 4) : undefined;
  const invocations = plan.lanes / plan.unroll; // per lane group
  // vec4 tiles need contiguous rows with starts and segments on multiples of 4.
  const v = variant(ctx, invocations, {
    vec4: inner === 1 && C % 4 === 0 && plan.segment % 4 === 0 && wholeTiles(rows * C, job.x, job.prob),
    x: dtypeOf(job.x), y: dtypeOf(job.prob),
  });
  const base: Constants = {
    WG: plan.workgroupSize, LANES: invocations, UNROLL: plan.unroll, MODE: spec.mode(job), OP: spec.code, PER_ELEMENT: spec.perElement,
    K, RECORDS: output === 'records', HAS_WEIGHT: weight !== undefined, KEEP_STATS: keepStats, LABELS64: lb === 8,
    SOFTCAP: (job.softcap ?? 0) > 0, ZLOSS: (job.zLoss ?? 0) > 0, FOCAL: (job.gamma ?? 0) > 0,
  };
  const eps = job.op === 'ce' || job.op === 'ceProb' ? job.eps : 0;
  const lanesPerRow = (nRows: number) => Math.ceil((nRows * plan.splits * invocations) / plan.workgroupSize);
  const each: RowEncoding['each'] = (entry, groupsOf, constants = {}, extra, params = {}, over = {}) => {
    for (let s0 = 0; s0 < outer; s0 += chunkSlices) {
      const n = Math.min(chunkSlices, outer - s0);
      const r0 = s0 * inner, nRows = n * inner;
      const xr = range(x, s0 * C * inner, n * C * inner, bytesOf(job.x));
      const or = output === 'normalize' || entry === 'gradRows' ? range(out, s0 * C * inner, n * C * inner) : range(out, (row0 + r0) * K, nRows * K);
      const lr = labels && range(labels, row0 + r0, nRows, lb);
      const pr = partial && range(partial, r0 * plan.splits * 4, nRows * plan.splits * 4);
      const bindings: Bindings = {
        x: xr, labels: lr, y: prob && range(prob, s0 * C * inner, n * C * inner, bytesOf(job.prob)),
        weight, out: or, partial: pr, status, ...extra?.(s0, n),
      };
      call.dispatch('rows', entry, { ...v, ...over }, { ...base, ...constants }, groupsOf(nRows), {
        rows: nRows, C, inner, segment: plan.segment, splits: plan.splits,
        xOff: xr.delta, tOff: (row0 + r0) % ALIGN, oOff: or.delta, pOff: (pr?.delta ?? 0) / 4, ignoreIndex: job.ignoreIndex,
        keep: Math.fround(1 - eps), add: Math.fround(eps / C), eps,
        zLoss: job.zLoss ?? 0, softcap: job.softcap ?? 0, gamma: job.gamma ?? 0, ...params,
      }, bindings);
    }
  };
  // Rows of one invocation each (small C) fold straight into the batch sums' first pass, in its
  // order (src/plan.ts), so no records are written and read again: a batch whose sums fit one
  // block takes one dispatch. The row plan and the sums' plan are the same as unfused.
  const sums = output === 'records' && !into && plan.family === 'thread' && plan.unroll === 1 && chunkSlices >= outer
    ? planReduce(rows, K * 4, ctx.profile) : undefined;
  if (sums) {
    const blockSums = call.output(sums.groups * K);
    each('rowSums', () => sums.groups, { WG: sums.lanes }, () => ({ out: blockSums }),
      { blockLen: sums.blockLen, firstBlock: 0, blocks: sums.groups, oOff: 0 }, { subgroups: variant(ctx, sums.lanes).subgroups });
    return { out: blockSums, floats: sums.groups * K, blocks: sums.groups, status, each, lanesPerRow, x };
  }
  each('main', lanesPerRow);
  if (plan.splits > 1) {
    each('mergeRows', (nRows) => Math.ceil(nRows / plan.workgroupSize));
    if (output === 'normalize') each('writeRows', lanesPerRow);
  }
  return { out, floats, status, each, lanesPerRow, x };
}

/** Binds the source of items [start, start + count) of a reduction or a map. */
type Binder = (start: number, count: number) => { params: Params; bindings: Bindings };

/**
 * Encodes the fixed-order sums of n items (K floats each) of `family`'s source into `call`:
 * pass 1 writes one K-wide sum per block; when there are several blocks, pass 2 sums those.
 * Returns the buffer whose first K floats hold the sums.
 */
function encodeReduce(call: Call, ctx: GpuContext, family: 'reduceRecords' | 'reduceElements', n: number, K: number,
  plan: ReducePlan, bind: Binder, sourceConstants: Constants = {}, tiled = false, sourceOperands: Partial<Operands> = {}): GPUBuffer {
  const { groups: G, blockLen } = plan;
  const invocations = plan.lanes / (tiled ? 4 : 1);
  const v = variant(ctx, invocations, { ...sourceOperands, vec4: tiled && n % 4 === 0 && (sourceOperands.vec4 ?? true) });
  const constants: Constants = { WG: invocations, LANES: invocations, K, TILED: tiled };
  const sums = call.output(G * K);
  const perChunk = Math.max(1, Math.floor(maxFloats(ctx) / (blockLen * K)));
  for (let b0 = 0; b0 < G; b0 += perChunk) {
    const blocks = Math.min(perChunk, G - b0);
    const start = Math.min(n, b0 * blockLen), end = Math.min(n, (b0 + blocks) * blockLen);
    const { params, bindings } = bind(start, Math.max(end - start, 1));
    call.dispatch(family, 'reduce', v, { ...constants, ...sourceConstants }, blocks,
      { ...params, rows: n, blockLen, firstBlock: b0, blocks, itemBase: start, oOff: b0 * K }, { ...bindings, out: sums });
  }
  return encodeFinalSums(call, ctx, sums, G, K, plan.finalLanes);
}

/** The batch sums' second pass, over the G block sums of the first (none when G is 1): the buffer of the K sums. */
function encodeFinalSums(call: Call, ctx: GpuContext, sums: GPUBuffer, G: number, K: number, lanes: number): GPUBuffer {
  if (G === 1) return sums;
  const total = call.output(K);
  call.dispatch('reduceRecords', 'reduce', variant(ctx, lanes), { WG: lanes, LANES: lanes, K, TILED: false }, 1,
    { rows: G, blockLen: G, firstBlock: 0, blocks: 1, itemBase: 0, xOff: 0, oOff: 0 }, { y: sums, out: total });
  return total;
}

/** Runs a call's work and always returns its buffers to the pool. */
export async function finish<T>(call: Call, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    call.done();
  }
}

/** Submits, then reads back `outs` (device outputs are not read) and the status word if asked. */
async function collect(call: Call, outs: { buffer: GPUBuffer; floats: number; device?: boolean }[],
  status: GPUBuffer | undefined, message: string): Promise<Out[]> {
  const reads = outs.filter((o) => !o.device);
  const data = await call.read(status ? [...reads, { buffer: status, floats: 1 }] : reads);
  if (status && new Uint32Array(data[data.length - 1].buffer)[0] !== 0) throw new LossError(message);
  let k = 0;
  return outs.map((o) => (o.device ? o.buffer : data[k++]));
}

export function labelsMessage(job: RowJob): string {
  return `${job.method}: target holds a class index out of range [0, ${job.layout.C}) that is not ignoreIndex`;
}

export async function runRows(ctx: GpuContext, job: RowJob, output: 'normalize' | 'losses'): Promise<Out> {
  const call = new Call(ctx);
  return finish(call, async () => {
    const { out, floats, status } = encodeRows(call, ctx, job, output);
    const [data] = await collect(call, [{ buffer: out, floats, device: job.device }], isDevice(job.target) ? status : undefined, labelsMessage(job));
    return data;
  });
}

/** Encodes the batch sums of a row job's records (or the rest of them, after fused rows); returns the buffer of the K sums. */
export function encodeRowSums(call: Call, ctx: GpuContext, job: RowJob, records: GPUBuffer, blocks?: number): GPUBuffer {
  const K = ROW_OPS[job.op].records(job);
  const rows = job.layout.rows;
  if (blocks !== undefined) return encodeFinalSums(call, ctx, records, blocks, K, planReduce(rows, K * 4, ctx.profile).finalLanes);
  return encodeReduce(call, ctx, 'reduceRecords', rows, K, planReduce(rows, K * 4, ctx.profile), (start, count) => {
    const r = range(records, start * K, count * K);
    return { params: { xOff: r.delta }, bindings: { y: r } };
  });
}

export async function runRowSums(ctx: GpuContext, job: RowJob): Promise<number[]> {
  const call = new Call(ctx);
  return finish(call, async () => {
    const { out, status, blocks } = encodeRows(call, ctx, job, 'records');
    const total = encodeRowSums(call, ctx, job, out, blocks);
    const [sums] = await collect(call, [{ buffer: total, floats: ROW_OPS[job.op].records(job) }], isDevice(job.target) ? status : undefined, labelsMessage(job));
    return Array.from(sums as Float32Array);
  });
}

/** The GSCALE specialisation, its params, and what binding 8 holds, for a gradient pass. */
export function gradScaleBinding(call: Call, spec: GradSpec, sums: GPUBuffer | undefined) {
  const sc = spec.scale;
  const f32: FloatDtype = 'float32';
  if (sc.kind === 'const') return { GSCALE: GSCALE.const, params: { gscale: sc.value }, scale: f32, bind: () => undefined };
  if (sc.kind === 'sum') return { GSCALE: GSCALE.sum, params: { scaleIdx: sc.index, zScaleIdx: sc.zIndex ?? sc.index }, scale: f32, bind: () => sums };
  const go = call.input(sc.gradOutput);
  const bytes = bytesOf(sc.gradOutput);
  return { GSCALE: GSCALE.output, params: {}, scale: dtypeOf(sc.gradOutput), bind: (start: number, count: number) => range(go, start, count, bytes) };
}

/** The gradient as the caller wants it: the device buffer, the host input overwritten (inPlace), or a new array. */
function gradOut(job: RowJob | ElementJob, spec: GradSpec, grad: Out): Out {
  if (grad instanceof Float32Array && spec.inPlace && !isDevice(job.x)) {
    (job.x as Float32Array).set(grad);
    return job.x as Float32Array;
  }
  return grad;
}

export async function runRowGrad(ctx: GpuContext, job: RowJob, spec: GradSpec): Promise<GradResult> {
  const call = new Call(ctx);
  return finish(call, async () => {
    const { C, inner, rows } = job.layout;
    const none = spec.reduction === 'none';
    const enc = encodeRows(call, ctx, job, none ? 'losses' : 'records', true);
    const sums = none ? undefined : encodeRowSums(call, ctx, job, enc.out, enc.blocks);
    const grad = spec.inPlace ? enc.x : job.device ? call.owned(rows * C) : call.output(rows * C);
    const sc = gradScaleBinding(call, spec, sums);
    enc.each('gradRows', enc.lanesPerRow, { GSCALE: sc.GSCALE, IN_PLACE: spec.inPlace }, (s0, n) => ({
      out: range(grad, s0 * C * inner, n * C * inner), scale: sc.bind(s0 * inner, n * inner), ...(spec.inPlace ? { x: undefined } : {}),
    }), sc.params, { scale: sc.scale });
    const K = ROW_OPS[job.op].records(job);
    const outs = [
      none ? { buffer: enc.out, floats: rows, device: job.device } : { buffer: sums!, floats: K },
      { buffer: grad, floats: rows * C, device: job.device },
    ];
    const [losses, g] = await collect(call, outs, isDevice(job.target) ? enc.status : undefined, labelsMessage(job));
    return none ? { losses, grad: gradOut(job, spec, g) } : { sums: Array.from(losses as Float32Array), grad: gradOut(job, spec, g) };
  });
}

/** Weights then posWeight, one buffer (binding 4). */
function elementWeights(job: ElementJob): Float32Array | undefined {
  if (!job.weight && !job.posWeight) return undefined;
  const w = job.weight ?? new Float32Array(0), pw = job.posWeight ?? new Float32Array(0);
  const both = new Float32Array(w.length + pw.length);
  both.set(w);
  both.set(pw, w.length);
  return both;
}

/** An element job's operands on the device; `status` flags device BCE inputs outside [0, 1]. */
function elementBinder(call: Call, ctx: GpuContext, job: ElementJob): { bind: Binder; status: GPUBuffer; x: GPUBuffer } {
  const x = call.input(job.x);
  const t = job.t !== undefined ? call.input(job.t) : undefined;
  const weights = elementWeights(job);
  const w = weights && call.input(weights);
  const status = call.buffer(16);
  ctx.device.queue.writeBuffer(status, 0, new Uint32Array(4));
  const base = {
    wLen: job.weight?.length ?? 0, pwLen: job.posWeight?.length ?? 0, count: job.n, wDiv: job.weightDiv ?? 1, wShift: job.weightShift ?? 0,
    alpha: job.alpha ?? 0, gamma: job.gamma ?? 0,
  };
  const bind: Binder = (start, count) => {
    const xr = range(x, start, count, bytesOf(job.x));
    return { params: { ...base, xOff: xr.delta, itemBase: start }, bindings: { x: xr, y: t && range(t, start, count, bytesOf(job.t)), weight: w, status } };
  };
  return { bind, status, x };
}

/** vec4 operands when whole tiles of 4 fill the element count (bindings then hold whole vec4s). */
function elementOperands(job: ElementJob): Partial<Operands> {
  return { vec4: job.n % 4 === 0 && wholeTiles(job.n, job.x, job.t), x: dtypeOf(job.x), y: dtypeOf(job.t) };
}

/** Encodes an element-wise entry of elementwise.wgsl (a tile of 4 per invocation) into `out`, chunk by chunk. */
function encodeMap(call: Call, ctx: GpuContext, job: ElementJob, bind: Binder, entry: string, out: GPUBuffer,
  constants: Constants = {}, extra: (start: number, count: number) => Bindings = () => ({}), params: Params = {}, scale: FloatDtype = 'float32'): void {
  const chunk = Math.floor(maxFloats(ctx) / 4) * 4;
  const WG = 64;
  for (let s = 0; s < job.n; s += chunk) {
    const n = Math.min(chunk, job.n - s);
    const b = bind(s, n);
    const or = range(out, s, n);
    call.dispatch('elementwise', entry, variant(ctx, 1, { ...elementOperands(job), scale }), { WG, OP: ELEMENT_OPS[job.op].code, ...constants }, Math.ceil(n / 4 / WG),
      { ...b.params, ...params, rows: n, oOff: or.delta }, { ...b.bindings, out: or, ...extra(s, n) });
  }
}

function checkedStatus(job: ElementJob, status: GPUBuffer): GPUBuffer | undefined {
  return job.op === 'bce' && isDevice(job.x) ? status : undefined;
}
const OUTSIDE = (job: ElementJob) => `${job.method}: input holds values outside [0, 1] (or NaN)`;

export async function runElementwise(ctx: GpuContext, job: ElementJob): Promise<Out> {
  const call = new Call(ctx);
  return finish(call, async () => {
    const { bind, status } = elementBinder(call, ctx, job);
    const out = job.device ? call.owned(job.n) : call.output(job.n);
    encodeMap(call, ctx, job, bind, 'map', out);
    return (await collect(call, [{ buffer: out, floats: job.n, device: job.device }], checkedStatus(job, status), OUTSIDE(job)))[0];
  });
}

/** The batch sum of an element-wise loss, read in tiles of 4 lanes (see planReduce). */
function encodeElementSum(call: Call, ctx: GpuContext, job: ElementJob, bind: Binder): GPUBuffer {
  return encodeReduce(call, ctx, 'reduceElements', job.n, 1, planReduce(job.n, 4, ctx.profile, 4), bind, { OP: ELEMENT_OPS[job.op].code }, true, elementOperands(job));
}

export async function runElementSum(ctx: GpuContext, job: ElementJob): Promise<number> {
  const call = new Call(ctx);
  return finish(call, async () => {
    const { bind, status } = elementBinder(call, ctx, job);
    const total = encodeElementSum(call, ctx, job, bind);
    return ((await collect(call, [{ buffer: total, floats: 1 }], checkedStatus(job, status), OUTSIDE(job)))[0] as Float32Array)[0];
  });
}

/** Element-wise loss and gradient: the loss pass (map or sums), then the gradient pass. */
export async function runElementGrad(ctx: GpuContext, job: ElementJob, spec: GradSpec): Promise<GradResult> {
  const call = new Call(ctx);
  return finish(call, async () => {
    const { bind, status, x } = elementBinder(call, ctx, job);
    const none = spec.reduction === 'none';
    let losses: GPUBuffer;
    if (none) {
      losses = job.device ? call.owned(job.n) : call.output(job.n);
      encodeMap(call, ctx, job, bind, 'map', losses);
    } else losses = encodeElementSum(call, ctx, job, bind);
    const grad = spec.inPlace ? x : job.device ? call.owned(job.n) : call.output(job.n);
    const sc = gradScaleBinding(call, spec, undefined);
    encodeMap(call, ctx, job, bind, 'gradMap', grad, { GSCALE: sc.GSCALE, IN_PLACE: spec.inPlace },
      (s, n) => ({ scale: sc.bind(s, n), ...(spec.inPlace ? { x: undefined } : {}) }), sc.params, sc.scale);
    const outs = [{ buffer: losses, floats: none ? job.n : 1, device: none && job.device }, { buffer: grad, floats: job.n, device: job.device }];
    const [l, g] = await collect(call, outs, checkedStatus(job, status), OUTSIDE(job));
    return none ? { losses: l, grad: gradOut(job, spec, g) } : { sums: [(l as Float32Array)[0]], grad: gradOut(job, spec, g) };
  });
}

/**
 * Half-precision device results: the n float32 values of `src` (a device result, or a host one
 * uploaded) rounded to `dtype` bits in a new buffer the caller owns, or over `into` (an in-place
 * gradient); a device `src` is destroyed once the work is submitted.
 */
export async function runPack(ctx: GpuContext, src: GPUBuffer | Float32Array, n: number, dtype: HalfDtype, into?: GPUBuffer): Promise<GPUBuffer> {
  const call = new Call(ctx);
  return finish(call, async () => {
    const from = src instanceof Float32Array ? call.input(src) : src;
    const words = Math.ceil(n / 2);
    const dst = into ?? call.owned(words);
    const chunk = Math.floor(maxFloats(ctx) / 4) * 4; // even: every chunk starts on a word
    const WG = 64;
    for (let s = 0; s < n; s += chunk) {
      const count = Math.min(chunk, n - s);
      const yr = range(from, s, count), or = range(dst, s / 2, Math.ceil(count / 2));
      call.dispatch('pack', 'pack', variant(ctx, 1, { outBits: true }), { WG, BF16: dtype === 'bfloat16' }, Math.ceil(count / 2 / WG),
        { count, xOff: yr.delta, oOff: or.delta }, { y: yr, out: or });
    }
    await call.submit();
    if (!(src instanceof Float32Array)) src.destroy();
    return dst;
  });
}

/**
 * One evaluator batch (src/eval/): the row records (one pass over the logits), then the batch's
 * records added to the pairs `from` into the pairs `to`; reads back only the status words (the
 * first bad rows) and, with `perRow` on the host, each row's loss and rank.
 */
export async function runEvalBatch(ctx: GpuContext, job: EvalJob, from: GPUBuffer, to: GPUBuffer, perRow: boolean, device: boolean):
  Promise<{ bad?: BadRow; loss?: Float32Array | GPUBuffer; rank?: Int32Array | GPUBuffer }> {
  const call = new Call(ctx);
  return finish(call, async () => {
    const { outer, C, inner, rows } = job.layout;
    const WG = 64;
    const floatLabels = job.binary && !(job.target instanceof Int32Array) && !(isDevice(job.target) && (job.target.dtype === 'int32' || job.target.dtype === 'int64'));
    const lb = floatLabels ? 4 : labelBytes(job.target as I32Data);
    const records = call.output(rows * R);
    const status = call.buffer(16);
    ctx.device.queue.writeBuffer(status, 0, new Uint32Array([0, 0xffffffff, 0xffffffff, 0]));
    const x = call.input(job.x);
    const t = call.input(job.target as F32Data | I32Data);
    const perSlice = inner * Math.max(C, R, lb / 4);
    const slices = Math.floor(maxFloats(ctx) / perSlice);
    if (slices < 1) throw new LossError(`${job.method}: one slice of ${C * inner} logits exceeds the device's largest binding`);
    const operands = { x: dtypeOf(job.x), y: floatLabels ? dtypeOf(job.target as F32Data) : 'float32' as FloatDtype };
    // Invocations a row: a workgroup for long rows (its tree also keeps the sums of 32000 terms
    // accurate); one where rows are short, or many and not long on an emulated adapter (SwiftShader
    // pays for every barrier; its cores are busy with rows anyway).
    const lanes = C < 64 || (ctx.profile.emulated && rows >= 64 && C < 2048) ? 1 : WG;
    for (let s0 = 0; s0 < outer; s0 += slices) {
      const n = Math.min(slices, outer - s0), r0 = s0 * inner, nRows = n * inner;
      const xr = range(x, s0 * C * inner, n * C * inner, bytesOf(job.x));
      const tr = range(t, r0, nRows, floatLabels ? bytesOf(job.target as F32Data) : lb);
      const or = range(records, r0 * R, nRows * R);
      const bindings: Bindings = { x: xr, ...(floatLabels ? { y: tr } : { labels: tr }), out: or, status };
      const params: Params = { rows: nRows, C, inner, xOff: xr.delta, tOff: tr.delta, oOff: or.delta, itemBase: r0, ignoreIndex: job.ignoreIndex };
      if (job.binary) {
        call.dispatch('evaluate', 'evalBinary', variant(ctx, 1, operands), { WG, LABELS64: lb === 8, LABELS_FLOAT: floatLabels }, Math.ceil(nRows / WG), params, bindings);
      } else {
        call.dispatch('evaluate', 'evalRows', variant(ctx, 1, operands), { WG, LANES: lanes, LABELS64: lb === 8 }, Math.ceil((nRows * lanes) / WG), params, bindings);
      }
    }
    // The records of a batch are bound whole here: a batch's rows·32 bytes must fit one binding.
    if (rows * R * 4 > ctx.profile.maxBindingBytes) throw new LossError(`${job.method}: a batch of ${rows} rows is too large for one evaluation pass here; add smaller batches`);
    const ks = call.input(new Float32Array(job.ks));
    call.dispatch('evaluate', 'evalAccumulate', variant(ctx, 1), { WG }, 1,
      { rows, bins: job.bins, nks: job.ks.length, xOff: 0 }, { x: records, y: from, weight: ks, out: to });
    let loss: GPUBuffer | undefined, rank: GPUBuffer | undefined;
    if (perRow) {
      loss = device ? call.owned(rows) : call.output(rows);
      rank = device ? call.owned(rows) : call.output(rows);
      call.dispatch('evaluate', 'evalPerRow', variant(ctx, 1), { WG }, Math.ceil(rows / WG), { rows, xOff: 0, oOff: 0 }, { x: records, out: loss, status: rank });
    }
    const reads = [{ buffer: status, floats: 4 }, ...(perRow && !device ? [{ buffer: loss!, floats: rows }, { buffer: rank!, floats: rows }] : [])];
    const data = await call.read(reads);
    const words = new Uint32Array(data[0].buffer);
    const nanRow = words[2], labelRow = words[1];
    if (nanRow !== 0xffffffff || labelRow !== 0xffffffff) {
      if (device) [loss, rank].forEach((b) => b?.destroy());
      return { bad: nanRow <= labelRow ? { kind: 'nan', row: nanRow } : { kind: 'label', row: labelRow } };
    }
    if (!perRow) return {};
    if (device) return { loss, rank };
    return { loss: data[1], rank: new Int32Array(data[2].buffer) };
  });
}

/** Reads `floats` floats of a buffer back (the evaluator's pairs). */
export async function readFloats(ctx: GpuContext, buffer: GPUBuffer, floats: number): Promise<Float32Array> {
  const call = new Call(ctx);
  return finish(call, async () => (await call.read([{ buffer, floats }]))[0]);
}
