/**
 * The dispatcher: turns a job into buffers, chunks and dispatches, following the plan that
 * plan.ts picks for the shape and adapter (`planRows`, `planReduce`: the one place of the kernel
 * choice), then reads back only the answer. Everything one call needs is encoded in one pass
 * and submitted once; every buffer it took from the pool goes back when the call ends.
 */
import { LossError } from '../errors.js';
import { isDevice, recordWidth, rowMode } from '../ops.js';
import type { ElementJob, F32Data, I32Data, RowJob } from '../ops.js';
import { planReduce, planRows } from '../plan.js';
import type { AdapterProfile, ReducePlan, RowPlan } from '../plan.js';
import type { Constants, Family, Kernels, Variant } from './kernels.js';
import type { BufferPool } from './pool.js';

// GPUBufferUsage / GPUMapMode values from the spec (the globals may not exist).
const MAP_READ = 1, COPY_SRC = 4, COPY_DST = 8, UNIFORM = 64, STORAGE = 128;
const ALIGN = 64; // floats per 256-byte binding offset alignment

export interface GpuContext {
  device: GPUDevice;
  pool: BufferPool;
  kernels: Kernels;
  profile: AdapterProfile;
  /** The device has the subgroups feature. */
  subgroups: boolean;
  poison: boolean;
}

/** Values of the Params uniform of common.wgsl (unset fields are 0). */
interface Params {
  rows?: number; C?: number; inner?: number; segment?: number; splits?: number;
  xOff?: number; tOff?: number; oOff?: number; itemBase?: number; blockLen?: number;
  firstBlock?: number; blocks?: number; wLen?: number; pwLen?: number;
  ignoreIndex?: number; keep?: number; add?: number; eps?: number;
}
const U32_FIELDS = ['rows', 'C', 'inner', 'segment', 'splits', 'groupsX', 'xOff', 'tOff', 'oOff', 'itemBase',
  'blockLen', 'firstBlock', 'blocks', 'wLen', 'pwLen'] as const;

/** A range of a buffer, bound from a 256-byte aligned offset; `delta` elements lead to `start`. */
interface Range { buffer: GPUBuffer; offset: number; size: number; delta: number }

function range(buffer: GPUBuffer, start: number, count: number): Range {
  const first = Math.floor(start / ALIGN) * ALIGN;
  const offset = first * 4;
  const size = Math.min(buffer.size - offset, Math.max(4, (start - first + count) * 4));
  return { buffer, offset, size, delta: start - first };
}

/** One call: its buffers, its pass, its readback. */
class Call {
  private taken: GPUBuffer[] = [];
  private encoder: GPUCommandEncoder;
  private pass: GPUComputePassEncoder;
  private dummies = new Map<number, GPUBuffer>();

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

  /** A host array uploaded, or the app's device buffer read in place. */
  input(data: F32Data | I32Data | Float32Array): GPUBuffer {
    if (isDevice(data)) return data.buffer;
    const b = this.buffer(Math.max(data.byteLength, 4));
    this.ctx.device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
    return b;
  }

  /** A placeholder for a binding the kernel does not use (one per binding: writable ones may not alias). */
  dummy(binding: number): GPUBuffer {
    let b = this.dummies.get(binding);
    if (!b) {
      b = this.buffer(16);
      this.dummies.set(binding, b);
    }
    return b;
  }

  dispatch(family: Family, entry: string, variant: Variant, constants: Constants, groups: number,
    params: Params, bindings: Partial<Record<number, Range | GPUBuffer>>): void {
    if (groups === 0) return;
    const maxDim = this.ctx.profile.maxGroupsPerDim;
    const gx = Math.min(groups, maxDim), gy = Math.ceil(groups / gx);
    if (gy > maxDim) throw new LossError(`the batch needs ${groups} workgroups, more than this device can dispatch`);
    const u = this.buffer(80, UNIFORM | COPY_DST);
    const raw = new ArrayBuffer(80);
    const ints = new Uint32Array(raw), floats = new Float32Array(raw);
    const values: Record<string, number | undefined> = { ...params, groupsX: gx };
    U32_FIELDS.forEach((k, i) => (ints[i] = values[k] ?? 0));
    new Int32Array(raw)[15] = params.ignoreIndex ?? 0;
    floats[16] = -Infinity;
    floats[17] = params.keep ?? 1;
    floats[18] = params.add ?? 0;
    floats[19] = params.eps ?? 0;
    this.ctx.device.queue.writeBuffer(u, 0, raw);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: u } }];
    for (let b = 1; b <= 7; b++) {
      const r = bindings[b];
      if (r === undefined) entries.push({ binding: b, resource: { buffer: this.dummy(b) } });
      else if ('delta' in r) entries.push({ binding: b, resource: { buffer: r.buffer, offset: r.offset, size: r.size } });
      else entries.push({ binding: b, resource: { buffer: r } });
    }
    const pipeline = this.ctx.kernels.pipeline(family, entry, variant, constants);
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, this.ctx.device.createBindGroup({ layout: this.ctx.kernels.layout, entries }));
    this.pass.dispatchWorkgroups(gx, gy);
  }

  /** Ends the pass, copies `floats` floats of each source to the host, submits, waits, returns them. */
  async read(sources: { buffer: GPUBuffer; floats: number }[]): Promise<Float32Array[]> {
    this.pass.end();
    const staged = sources.map(({ buffer, floats }) => {
      const bytes = Math.max(4, floats * 4);
      const m = this.buffer(bytes, MAP_READ | COPY_DST);
      this.encoder.copyBufferToBuffer(buffer, 0, m, 0, bytes);
      return { m, floats };
    });
    this.ctx.device.queue.submit([this.encoder.finish()]);
    return Promise.all(staged.map(async ({ m, floats }) => {
      await m.mapAsync(1 /* GPUMapMode.READ */, 0, Math.max(4, floats * 4));
      const data = new Float32Array(m.getMappedRange(0, Math.max(4, floats * 4)).slice(0, floats * 4));
      m.unmap();
      return data;
    }));
  }

  /** Returns every buffer to the pool. */
  done(): void {
    for (const b of this.taken) this.ctx.pool.release(b);
    this.taken = [];
  }
}

/** Subgroup merges when a lane group's invocations fit in the smallest subgroup; vec4 reads where rows allow. */
function variant(ctx: GpuContext, invocations: number, vec4 = false): Variant {
  return { subgroups: ctx.subgroups && invocations > 1 && invocations <= ctx.profile.subgroupSize, vec4 };
}

function maxFloats(ctx: GpuContext): number {
  return Math.floor(ctx.profile.maxBindingBytes / 4) - ALIGN;
}

const OP_CODES = { softmax: 0, logSoftmax: 1, entropy: 2, ce: 3, ceProb: 4, nll: 5 } as const;

type RowOutput = 'normalize' | 'losses' | 'records';

/** The plan of a row job on this adapter; NLL only gathers, one invocation per row. */
export function rowPlanOf(job: RowJob, profile: AdapterProfile): RowPlan {
  if (job.op === 'nll') return { family: 'thread', lanes: 1, unroll: 1, tile: 4, splits: 1, segment: job.layout.C, workgroupSize: 64 };
  return planRows(job.layout.rows, job.layout.C, profile);
}

/**
 * Encodes a row job into `call`, chunked by outer slices (C·inner elements, `inner` rows) so that
 * no binding exceeds the device limit. Returns the output buffer and its length in floats.
 */
function encodeRows(call: Call, ctx: GpuContext, job: RowJob, output: RowOutput): { out: GPUBuffer; floats: number; status: GPUBuffer } {
  const { outer, C, inner, rows } = job.layout;
  const plan = rowPlanOf(job, ctx.profile);
  const K = output === 'records' ? recordWidth(job.op) : 1;
  const perSlice = output === 'normalize' ? C * inner : K * inner;
  const slices = Math.floor(maxFloats(ctx) / Math.max(C * inner, perSlice));
  if (slices < 1) throw new LossError(`${job.method}: one slice of ${C * inner} elements exceeds the device's largest binding`);
  const floats = output === 'normalize' ? rows * C : rows * K;
  const out = call.output(floats);
  const status = call.buffer(16);
  ctx.device.queue.writeBuffer(status, 0, new Uint32Array(4));
  const x = call.input(job.x);
  const labels = job.target !== undefined ? call.input(job.target) : undefined;
  const prob = job.prob !== undefined ? call.input(job.prob) : undefined;
  const weight = job.weight !== undefined ? call.input(job.weight) : undefined;
  const chunkSlices = Math.min(outer, slices);
  const partial = plan.splits > 1 ? call.output(chunkSlices * inner * plan.splits * 4) : undefined;
  // vec4 tiles need contiguous rows with starts and segments on multiples of 4.
  const invocations = plan.lanes / plan.unroll; // per lane group
  const v = variant(ctx, invocations, inner === 1 && C % 4 === 0 && plan.segment % 4 === 0);
  const constants: Constants = {
    WG: plan.workgroupSize, LANES: invocations, UNROLL: plan.unroll, MODE: rowMode(job), OP: OP_CODES[job.op],
    RECORDS: output === 'records', HAS_WEIGHT: weight !== undefined,
  };
  const eps = job.op === 'ce' || job.op === 'ceProb' ? job.eps : 0;
  for (let s0 = 0; s0 < outer; s0 += chunkSlices) {
    const n = Math.min(chunkSlices, outer - s0);
    const r0 = s0 * inner, nRows = n * inner;
    const xr = range(x, s0 * C * inner, n * C * inner);
    const lr = labels && range(labels, r0, nRows);
    const or = output === 'normalize' ? range(out, s0 * C * inner, n * C * inner) : range(out, r0 * K, nRows * K);
    const params: Params = {
      rows: nRows, C, inner, segment: plan.segment, splits: plan.splits,
      xOff: xr.delta, tOff: lr?.delta ?? 0, oOff: or.delta, ignoreIndex: job.ignoreIndex,
      keep: Math.fround(1 - eps), add: Math.fround(eps / C), eps,
    };
    const bindings = {
      1: xr, 2: lr, 3: prob && range(prob, s0 * C * inner, n * C * inner), 4: weight, 5: or, 6: partial, 7: status,
    };
    const laneGroups = nRows * plan.splits;
    const groups = Math.ceil((laneGroups * invocations) / plan.workgroupSize);
    call.dispatch('rows', 'main', v, constants, groups, params, bindings);
    if (plan.splits > 1) {
      call.dispatch('rows', 'mergeRows', v, constants, Math.ceil(nRows / plan.workgroupSize), params, bindings);
      if (output === 'normalize') call.dispatch('rows', 'writeRows', v, constants, groups, params, bindings);
    }
  }
  return { out, floats, status };
}

/** Binds the source of items [start, start + count) of a reduction or a map. */
type Binder = (start: number, count: number) => { params: Params; bindings: Partial<Record<number, Range | GPUBuffer>> };

/**
 * Encodes the fixed-order sums of n items (K floats each) of `family`'s source into `call`:
 * pass 1 writes one K-wide sum per block; when there are several blocks, pass 2 sums those.
 * Returns the buffer whose first K floats hold the sums.
 */
function encodeReduce(call: Call, ctx: GpuContext, family: 'reduceRecords' | 'reduceElements', n: number, K: number,
  plan: ReducePlan, bind: Binder, sourceConstants: Constants = {}): GPUBuffer {
  const G = plan.groups;
  const blockLen = Math.ceil(n / G);
  const v = variant(ctx, plan.lanes);
  const constants: Constants = { WG: plan.lanes, LANES: plan.lanes, K };
  const sums = call.output(G * K);
  const perChunk = Math.max(1, Math.floor(maxFloats(ctx) / (blockLen * K)));
  for (let b0 = 0; b0 < G; b0 += perChunk) {
    const blocks = Math.min(perChunk, G - b0);
    const start = Math.min(n, b0 * blockLen), end = Math.min(n, (b0 + blocks) * blockLen);
    const { params, bindings } = bind(start, Math.max(end - start, 1));
    call.dispatch(family, 'reduce', v, { ...constants, ...sourceConstants }, blocks,
      { ...params, rows: n, blockLen, firstBlock: b0, blocks, itemBase: start, oOff: b0 * K }, { ...bindings, 5: sums });
  }
  if (G === 1) return sums;
  const total = call.output(K);
  call.dispatch('reduceRecords', 'reduce', v, constants, 1,
    { rows: G, blockLen: G, firstBlock: 0, blocks: 1, itemBase: 0, xOff: 0, oOff: 0 }, { 3: sums, 5: total });
  return total;
}

async function finish<T>(call: Call, ctx: GpuContext, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    call.done();
  }
}

/** Rejects with a LossError when a device label was out of range (host labels are checked before). */
function checkStatus(job: RowJob, status: Float32Array | undefined): void {
  if (status && new Uint32Array(status.buffer)[0] !== 0) {
    throw new LossError(`${job.method}: target holds a class index out of range [0, ${job.layout.C}) that is not ignoreIndex`);
  }
}

export async function runRows(ctx: GpuContext, job: RowJob, output: 'normalize' | 'losses'): Promise<Float32Array> {
  const call = new Call(ctx);
  return finish(call, ctx, async () => {
    const { out, floats, status } = encodeRows(call, ctx, job, output);
    const deviceLabels = isDevice(job.target);
    const [data, st] = await call.read(deviceLabels ? [{ buffer: out, floats }, { buffer: status, floats: 1 }] : [{ buffer: out, floats }]);
    checkStatus(job, st);
    return data;
  });
}

export async function runRowSums(ctx: GpuContext, job: RowJob): Promise<number[]> {
  const call = new Call(ctx);
  return finish(call, ctx, async () => {
    const K = recordWidth(job.op);
    const rows = job.layout.rows;
    const { out, status } = encodeRows(call, ctx, job, 'records');
    const total = encodeReduce(call, ctx, 'reduceRecords', rows, K, planReduce(rows, K * 4, ctx.profile), (start, count) => {
      const r = range(out, start * K, count * K);
      return { params: { xOff: r.delta }, bindings: { 3: r } };
    });
    const deviceLabels = isDevice(job.target);
    const [sums, st] = await call.read(deviceLabels ? [{ buffer: total, floats: K }, { buffer: status, floats: 1 }] : [{ buffer: total, floats: K }]);
    checkStatus(job, st);
    return Array.from(sums);
  });
}

const ELEMENT_CODES = { sigmoid: 0, bce: 1, bceLogits: 2, kl: 3, klLog: 4 } as const;

/** Weights then posWeight, one buffer (binding 4). */
function elementWeights(job: ElementJob): Float32Array | undefined {
  if (!job.weight && !job.posWeight) return undefined;
  const w = job.weight ?? new Float32Array(0), pw = job.posWeight ?? new Float32Array(0);
  const both = new Float32Array(w.length + pw.length);
  both.set(w);
  both.set(pw, w.length);
  return both;
}

/** Binds an element job's operands per chunk; `status` flags device BCE inputs outside [0, 1]. */
function elementBinder(call: Call, ctx: GpuContext, job: ElementJob): { bind: Binder; status: GPUBuffer } {
  const x = call.input(job.x);
  const t = job.t !== undefined ? call.input(job.t) : undefined;
  const weights = elementWeights(job);
  const w = weights && call.input(weights);
  const status = call.buffer(16);
  ctx.device.queue.writeBuffer(status, 0, new Uint32Array(4));
  const base = { wLen: job.weight?.length ?? 0, pwLen: job.posWeight?.length ?? 0 };
  const bind: Binder = (start, count) => {
    const xr = range(x, start, count);
    return { params: { ...base, xOff: xr.delta, itemBase: start }, bindings: { 1: xr, 3: t && range(t, start, count), 4: w, 7: status } };
  };
  return { bind, status };
}

/** Reads the result, and the status word when the kernel validated a device input. */
async function readChecked(call: Call, job: ElementJob, result: GPUBuffer, floats: number, status: GPUBuffer): Promise<Float32Array> {
  const check = job.op === 'bce' && isDevice(job.x);
  const [data, st] = await call.read(check ? [{ buffer: result, floats }, { buffer: status, floats: 1 }] : [{ buffer: result, floats }]);
  if (st && new Uint32Array(st.buffer)[0] !== 0) throw new LossError(`${job.method}: input holds values outside [0, 1] (or NaN)`);
  return data;
}

export async function runElementwise(ctx: GpuContext, job: ElementJob): Promise<Float32Array> {
  const call = new Call(ctx);
  return finish(call, ctx, async () => {
    const { bind, status } = elementBinder(call, ctx, job);
    const out = call.output(job.n);
    const chunk = maxFloats(ctx);
    const WG = 64;
    for (let s = 0; s < job.n; s += chunk) {
      const n = Math.min(chunk, job.n - s);
      const { params, bindings } = bind(s, n);
      const or = range(out, s, n);
      call.dispatch('elementwise', 'map', variant(ctx, 1), { WG, OP: ELEMENT_CODES[job.op] }, Math.ceil(n / WG),
        { ...params, rows: n, oOff: or.delta }, { ...bindings, 5: or });
    }
    return readChecked(call, job, out, job.n, status);
  });
}

export async function runElementSum(ctx: GpuContext, job: ElementJob): Promise<number> {
  const call = new Call(ctx);
  return finish(call, ctx, async () => {
    const { bind, status } = elementBinder(call, ctx, job);
    const total = encodeReduce(call, ctx, 'reduceElements', job.n, 1, planReduce(job.n, 4, ctx.profile), bind,
      { OP: ELEMENT_CODES[job.op] });
    return (await readChecked(call, job, total, 1, status))[0];
  });
}
