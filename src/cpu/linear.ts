/**
 * linearCrossEntropy on the CPU: the blocked algorithm of src/gpu/linear.ts and shaders/linear.wgsl,
 * operation for operation. Per chunk of rows (planLinear): the chunk's logits (dot products summed
 * in index order, then the bias), the 'ce' row kernels of rows.ts on them (records and row
 * states), then, with gradients, G = d loss/d logits written over the logits and the three
 * products of the backward pass, each a float32 sum continued in index order across chunks.
 */
import { decodeHalf, Half } from '../dtype.js';
import { LossError } from '../errors.js';
import type { F32Data, GradScale, HostLinearJob, HostRowJob, LinearResult, LinearSpec } from '../jobs.js';
import { linearRows, ROW_OPS, scaleAt, zScaleAt } from '../registry.js';
import type { LinearPlan, ReducePlan, RowPlan } from '../plan.js';
import { reduceRecords } from './reduce.js';
import { gradRows, lossRows } from './rows.js';

const f32 = Math.fround;

const floats = (d: F32Data | undefined): Float32Array | undefined => (d instanceof Half ? decodeHalf(d.bits, d.dtype) : (d as Float32Array | undefined));

/** The logits of rows [r0, r0 + n) into z (n × V): Σ_d h·w in order, then + bias. */
function logits(job: HostLinearJob, h: Float32Array, w: Float32Array, b: Float32Array | undefined, r0: number, n: number, z: Float32Array): void {
  const { D, V } = job;
  for (let r = 0; r < n; r++) {
    const hr = (r0 + r) * D;
    for (let v = 0; v < V; v++) {
      const wv = v * D;
      let acc = 0;
      for (let d = 0; d < D; d++) acc = f32(acc + f32(h[hr + d] * w[wv + d]));
      if (b) acc = f32(acc + b[v]);
      if (!Number.isFinite(acc)) {
        throw new LossError(`${job.method}: logit [${r0 + r}, ${v}] of hidden·weightᵀ${b ? ' + bias' : ''} is ${acc}: hidden, weight and bias must give finite logits`);
      }
      z[r * V + v] = acc;
    }
  }
}

/** d hidden (+)= G·w, d weight (+)= Gᵀ·h, d bias (+)= Σ_r G of rows [r0, r0 + n). */
function products(job: HostLinearJob, G: Float32Array, h: Float32Array, w: Float32Array, r0: number, n: number,
  grad: { hidden: Float32Array; weight: Float32Array; bias?: Float32Array }): void {
  const { D, V } = job;
  const dw = grad.weight, db = grad.bias;
  for (let r = 0; r < n; r++) {
    const g = r * V, hr = (r0 + r) * D;
    // Float32Array stores round each sum to float32: a += f32(g·w) is f32(a + f32(g·w)).
    const dh = grad.hidden.subarray(hr, hr + D);
    for (let v = 0; v < V; v++) {
      const gv = G[g + v], wv = v * D;
      for (let d = 0; d < D; d++) dh[d] += f32(gv * w[wv + d]);
    }
    for (let v = 0; v < V; v++) {
      const gv = G[g + v], wv = v * D;
      for (let d = 0; d < D; d++) dw[wv + d] += f32(gv * h[hr + d]);
      if (db) db[v] += gv;
    }
  }
}

/** The scale of rows [r0, r0 + n): their part of the upstream gradient. */
function chunkScale(scale: GradScale, gradOutput: Float32Array | undefined, r0: number, n: number): GradScale {
  return scale.kind === 'output' ? { kind: 'output', gradOutput: gradOutput!.subarray(r0, r0 + n) } : scale;
}

/**
 * @param plan the chunking (the GPU's under an adapter profile)
 * @param rowPlan the row plan of a chunk of `rows` logits rows
 */
export function linearCpu(job: HostLinearJob, spec: LinearSpec, plan: LinearPlan, rowPlan: (rows: number) => RowPlan,
  reducePlan: (n: number, itemBytes: number) => ReducePlan): LinearResult {
  const { N, D, V } = job;
  const h = floats(job.hidden)!, w = floats(job.weight)!, b = floats(job.bias);
  const none = spec.reduction === 'none';
  const K = ROW_OPS.ce.records(linearRows(job, undefined, N, job.target));
  const per = none ? 1 : K;
  const losses = new Float32Array(N * per);
  const stats = new Float64Array(4 * N);
  const sc = spec.grad;
  const gradOutput = sc?.kind === 'output' ? floats(sc.gradOutput) : undefined;
  const grad = sc && { hidden: new Float32Array(N * D), weight: new Float32Array(V * D), bias: b ? new Float32Array(V) : undefined };
  const z = new Float32Array(Math.min(N, plan.rowsPerChunk) * V);

  const chunk = (r0: number, n: number): HostRowJob => {
    const zc = z.subarray(0, n * V);
    logits(job, h, w, b, r0, n, zc);
    return linearRows(job, zc, n, job.target.subarray(r0, r0 + n)) as HostRowJob;
  };
  const backward = (r0: number, n: number, rows: HostRowJob, sums: number[] | undefined) => {
    const s = chunkScale(sc!, gradOutput, r0, n);
    gradRows(rows, stats.subarray(4 * r0), (r) => scaleAt(s, sums, r), (r) => zScaleAt(s, sums, r), rows.x); // G over the logits
    products(job, rows.x, h, w, r0, n, grad!);
  };
  const chunks: [number, number][] = [];
  for (let r0 = 0; r0 < N; r0 += plan.rowsPerChunk) chunks.push([r0, Math.min(plan.rowsPerChunk, N - r0)]);

  for (const [r0, n] of chunks) {
    const rows = chunk(r0, n);
    losses.set(lossRows(rows, rowPlan(n), !none, stats.subarray(4 * r0)), r0 * per);
    if (sc && sc.kind !== 'sum') backward(r0, n, rows, undefined);
  }
  const sums = none ? undefined : reduceRecords(losses, N, K, reducePlan(N, 4 * K));
  // A scale that needs the sums (a 'mean' over device labels): the logits once more, now for G.
  if (sc?.kind === 'sum') for (const [r0, n] of chunks) backward(r0, n, chunk(r0, n), sums);
  return { losses: none ? losses : undefined, sums, grad };
}
