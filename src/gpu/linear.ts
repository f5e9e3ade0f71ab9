/**
 * linearCrossEntropy on the GPU, in one submission. Per chunk of rows of hidden (planLinear):
 * `logits` (shaders/linear.wgsl) writes the chunk's logits into the one scratch, a block of the
 * head at a time; the 'ce' row kernels of rows.wgsl turn them into the rows' records (or losses)
 * and keep each row's state; with gradients, `gradRows` writes G = d loss/d logits over them and
 * `gradHidden`, `gradWeight` and `gradBias` add G's products to the three gradients. The records
 * of all rows are summed once, as crossEntropy sums them. Device memory beyond the operands and
 * results: the scratch (≤ LINEAR_SCRATCH_BYTES, or one row of logits) and O(N + V) records, row
 * states and label copies; the N×V logits never exist.
 */
import { LossError } from '../errors.js';
import type { DeviceTensor } from '../types.js';
import type { F32Data, LinearJob, LinearResult, LinearSpec, RowJob } from '../jobs.js';
import { linearRows, ROW_OPS } from '../registry.js';
import { isDevice } from '../shapes.js';
import { planLinear } from '../plan.js';
import { bytesOf, Call, dtypeOf, encodeRows, encodeRowSums, finish, gradScaleBinding, labelBytes, labelsMessage, range, variant, wholeTiles } from './dispatch.js';
import type { GpuContext, Range } from './dispatch.js';

// GPUBufferUsage / GPUMapMode values from the spec (the globals may not exist).
const MAP_READ = 1, COPY_DST = 8, MAP_READ_MODE = 1;

/** Rows of `width` elements: one buffer, or (host data or results beyond the largest buffer) one per part of `per` rows. */
interface Rows {
  buffers: GPUBuffer[];
  /** Elements of each buffer's rows. */
  sizes: number[];
  /** Rows [r0, r0 + n) of one part. */
  at(r0: number, n: number): Range;
}

function rowsOf(buffers: GPUBuffer[], total: number, per: number, width: number, bytes: number): Rows {
  return {
    buffers,
    sizes: buffers.map((_, p) => (buffers.length === 1 ? total : Math.min(per, total - p * per)) * width),
    at: (r0, n) => (buffers.length === 1 ? range(buffers[0], r0 * width, n * width, bytes) : range(buffers[Math.floor(r0 / per)], (r0 % per) * width, n * width, bytes)),
  };
}

/** An operand of `total` rows: an app's buffer in place, or host data uploaded whole or a part at a time. */
function inputRows(call: Call, ctx: GpuContext, data: F32Data, total: number, width: number, per: number): Rows {
  const bytes = bytesOf(data);
  if (isDevice(data)) return rowsOf([data.buffer], total, per, width, bytes);
  if (total * width * bytes <= ctx.maxBufferBytes) return rowsOf([call.input(data)], total, per, width, bytes);
  const parts: GPUBuffer[] = [];
  for (let r0 = 0; r0 < total; r0 += per) parts.push(call.input(data.subarray(r0 * width, Math.min(total, r0 + per) * width)));
  return rowsOf(parts, total, per, width, bytes);
}

/** A float32 result of `total` rows: the caller's buffer (device output) or ours, whole or a part at a time. */
function outputRows(call: Call, ctx: GpuContext, job: LinearJob, what: string, total: number, width: number, per: number): Rows {
  const floats = total * width;
  if (floats * 4 <= ctx.maxBufferBytes) return rowsOf([job.device ? call.owned(floats) : call.output(Math.max(floats, 4))], total, per, width, 4);
  if (job.device) throw new LossError(`${job.method}: the ${what} gradient (${floats * 4} bytes of float32) exceeds the device's largest buffer; ask for it on the host`);
  const parts: GPUBuffer[] = [];
  for (let r0 = 0; r0 < total; r0 += per) parts.push(call.output(Math.min(per, total - r0) * width));
  return rowsOf(parts, total, per, width, 4);
}

/** Bytes a host result is read back by at a time: its staging copy never holds more. */
const SLICE_BYTES = 16 << 20;

/**
 * A float32 result read back to the host through one staging buffer, a slice at a time: a head's
 * gradient (V·D floats) costs no second copy of itself on the device. Runs after the call's
 * submission, on the same queue.
 */
async function readSlices(ctx: GpuContext, rows: Rows): Promise<Float32Array> {
  const all = new Float32Array(rows.sizes.reduce((a, b) => a + b, 0));
  const staging = ctx.pool.acquire(Math.min(SLICE_BYTES, Math.max(16, all.byteLength)), MAP_READ | COPY_DST);
  try {
    let o = 0;
    for (const [p, buffer] of rows.buffers.entries()) {
      for (let at = 0; at < rows.sizes[p] * 4; at += SLICE_BYTES) {
        const bytes = Math.min(SLICE_BYTES, rows.sizes[p] * 4 - at);
        const enc = ctx.device.createCommandEncoder();
        enc.copyBufferToBuffer(buffer, at, staging, 0, bytes);
        ctx.device.queue.submit([enc.finish()]);
        await staging.mapAsync(MAP_READ_MODE, 0, bytes);
        all.set(new Float32Array(staging.getMappedRange(0, bytes)), o);
        staging.unmap();
        o += bytes / 4;
      }
    }
  } finally {
    ctx.pool.release(staging);
  }
  return all;
}

export async function runLinear(ctx: GpuContext, job: LinearJob, spec: LinearSpec): Promise<LinearResult> {
  const call = new Call(ctx);
  const owned: GPUBuffer[] = [];
  return finish(call, async () => {
    const { N, D, V } = job;
    // Every buffer of the plan is also within the largest buffer the library may create.
    const profile = { ...ctx.profile, maxBindingBytes: Math.min(ctx.profile.maxBindingBytes, ctx.maxBufferBytes) };
    const plan = planLinear(N, V, D, profile);
    if (4 * V > profile.maxBindingBytes - 512) throw new LossError(`${job.method}: one row of ${V} logits exceeds the device's largest binding`);
    if (plan.vocabPerBlock === 0) throw new LossError(`${job.method}: one row of weight (D = ${D}) exceeds the device's largest binding`);
    const none = spec.reduction === 'none';
    const sc = spec.grad;
    const C = plan.rowsPerChunk, B = plan.vocabPerBlock;

    // Operands, uploaded now (the caller may refill its arrays once the call returns).
    const hidden = inputRows(call, ctx, job.hidden, N, D, C);
    const weight = inputRows(call, ctx, job.weight, V, D, B);
    const bias = job.bias && call.input(job.bias);
    const target: DeviceTensor = { buffer: call.input(job.target), shape: [N], dtype: labelBytes(job.target) === 8 ? 'int64' : 'int32' };
    const status = call.buffer(16);
    ctx.device.queue.writeBuffer(status, 0, new Uint32Array(4));
    const all = linearRows(job, undefined, N, target);
    const K = ROW_OPS.ce.records(all);
    const losses = none && job.device ? call.owned(N) : call.output(N * (none ? 1 : K));
    const z = call.output(Math.min(N, C) * V);
    const grad = sc && {
      hidden: outputRows(call, ctx, job, 'hidden', N, D, C),
      weight: outputRows(call, ctx, job, 'weight', V, D, B),
      bias: bias && outputRows(call, ctx, job, 'bias', V, 1, V),
    };
    if (job.device) owned.push(...[losses, ...(grad ? [grad.hidden, grad.weight, grad.bias].flatMap((g) => g?.buffers ?? []) : [])].filter((b) => b !== undefined));

    // Operand dtypes in the linear kernels: x hidden, y weight, scale bias; 16-byte tiles along D where rows allow.
    const vec4 = D > 0 && D % 4 === 0 && wholeTiles(N * D, job.hidden) && wholeTiles(V * D, job.weight);
    const v = variant(ctx, 1, { vec4, x: dtypeOf(job.hidden), y: dtypeOf(job.weight), scale: dtypeOf(job.bias) });
    const blocks: [number, number][] = [];
    for (let v0 = 0; v0 < V; v0 += B) blocks.push([v0, Math.min(B, V - v0)]);
    const chunks: [number, number][] = [];
    for (let r0 = 0; r0 < N; r0 += C) chunks.push([r0, Math.min(C, N - r0)]);
    const tiles = (a: number, b: number) => Math.ceil(a / 32) * Math.ceil(b / 32);

    const logits = (r0: number, n: number) => {
      const h = hidden.at(r0, n);
      for (const [v0, nv] of blocks) {
        const w = weight.at(v0, nv), b = bias && range(bias, v0, nv, bytesOf(job.bias));
        call.dispatch('linear', 'logits', v, { HAS_BIAS: b !== undefined }, tiles(n, nv),
          { rows: n, C: nv, D, ldz: V, xOff: h.delta, yOff: w.delta, sOff: b?.delta ?? 0, oOff: v0 },
          { x: h, y: w, scale: b, out: range(z, 0, n * V), status });
      }
      return linearRows(job, { buffer: z, shape: [n, V] } as DeviceTensor, n, target) as RowJob;
    };
    const scale = sc && gradScaleBinding(call, { reduction: spec.reduction, scale: sc, inPlace: true }, undefined);
    const backward = (i: number, r0: number, n: number, enc: ReturnType<typeof encodeRows>, sums: GPUBuffer | undefined) => {
      const s = sums ? gradScaleBinding(call, { reduction: spec.reduction, scale: sc!, inPlace: true }, sums) : scale!;
      // G over the chunk's logits.
      enc.each('gradRows', enc.lanesPerRow, { GSCALE: s.GSCALE, IN_PLACE: true }, (s0, m) => ({
        out: range(z, s0 * V, m * V), scale: s.bind(r0 + s0, m), x: undefined,
      }), s.params, { scale: s.scale });
      const g = range(z, 0, n * V), h = hidden.at(r0, n), dh = grad!.hidden.at(r0, n);
      blocks.forEach(([v0, nv], b) => {
        const w = weight.at(v0, nv);
        call.dispatch('linear', 'gradHidden', v, { ACCUMULATE: b > 0 }, tiles(n, D),
          { rows: n, C: nv, D, ldz: V, yOff: w.delta, gOff: g.delta + v0, oOff: dh.delta }, { y: w, weight: g, out: dh });
        const dw = grad!.weight.at(v0, nv);
        call.dispatch('linear', 'gradWeight', v, { ACCUMULATE: i > 0 }, tiles(nv, D),
          { rows: n, C: nv, D, ldz: V, xOff: h.delta, gOff: g.delta + v0, oOff: dw.delta }, { x: h, weight: g, out: dw });
        if (grad!.bias) {
          const db = grad!.bias.at(0, V);
          call.dispatch('linear', 'gradBias', v, { ACCUMULATE: i > 0 }, Math.ceil(nv / 64),
            { rows: n, C: nv, ldz: V, gOff: g.delta + v0, oOff: db.delta + v0 }, { weight: g, out: db });
        }
      });
    };

    const encs = chunks.map(([r0, n], i) => {
      const enc = encodeRows(call, ctx, logits(r0, n), none ? 'losses' : 'records', sc !== undefined, { out: losses, status, row0: r0 });
      if (sc && sc.kind !== 'sum') backward(i, r0, n, enc, undefined);
      return enc;
    });
    const sums = none ? undefined : encodeRowSums(call, ctx, all, losses);
    // A scale that needs the sums (a 'mean' over device labels): the logits once more, now for G.
    if (sc?.kind === 'sum') {
      chunks.forEach(([r0, n], i) => {
        logits(r0, n);
        backward(i, r0, n, encs[i], sums);
      });
    }

    const reads = [
      { buffer: status, floats: 2 },
      ...(none ? (job.device ? [] : [{ buffer: losses, floats: N }]) : [{ buffer: sums!, floats: K }]),
    ];
    const data = await call.read(reads);
    const flags = new Uint32Array(data[0].buffer);
    if (flags[1] !== 0) throw new LossError(`${job.method}: hidden·weightᵀ${job.bias ? ' + bias' : ''} holds a logit that is not finite: hidden, weight and bias must give finite logits`);
    if (flags[0] !== 0 && isDevice(job.target)) throw new LossError(labelsMessage(all));
    owned.length = 0; // the results are the caller's now
    const lossOut = none ? (job.device ? losses : data[1]) : undefined;
    const sumsOut = none ? undefined : Array.from(data[1]);
    const take = async (rows: Rows | undefined) => (rows === undefined ? undefined : job.device ? rows.buffers[0] : readSlices(ctx, rows));
    const g = grad && { hidden: (await take(grad.hidden))!, weight: (await take(grad.weight))!, bias: await take(grad.bias) };
    return { losses: lossOut, sums: sumsOut, grad: g };
  }).catch((err: unknown) => {
    for (const b of owned) b.destroy();
    throw err;
  });
}
