/**
 * One description per op, shared by both backends: argument validation, the class-dim layout,
 * the jobs the backends execute, and PyTorch's reduction rules (applied on the host, in float32).
 */
import type { DeviceTensor } from './types.js';

const f32 = Math.fround;

/** Host data or a buffer on the device. */
export type F32Data = Float32Array | DeviceTensor;
export type I32Data = Int32Array | DeviceTensor;

/** A tensor seen as rows along one dim: element (o, c, i) sits at o·C·inner + c·inner + i. */
export interface Layout {
  outer: number;
  C: number;
  inner: number;
  /** outer · inner */
  rows: number;
}

export type RowOp = 'softmax' | 'logSoftmax' | 'softmaxBackward' | 'logSoftmaxBackward' | 'entropy' | 'ce' | 'ceProb' | 'nll';

/** An op over rows of the class dim. */
export interface RowJob {
  /** The public method, for messages. */
  method: string;
  op: RowOp;
  x: F32Data;
  layout: Layout;
  /** Class indices, one per row (ce, nll). */
  target?: I32Data;
  /** Probability targets (ceProb), or the upstream gradient dy (backward ops), in x's layout. */
  prob?: F32Data;
  weight?: Float32Array;
  ignoreIndex: number;
  /** Label smoothing. */
  eps: number;
  /** Leave per-element results on the device (WebGPU only). */
  device?: boolean;
}
export type HostRowJob = RowJob & { x: Float32Array; target?: Int32Array; prob?: Float32Array };

/** What a row's extra accumulators (a, b) hold; see plan.ts. */
export const enum RowMode {
  /** only (m, s) */
  Plain = 0,
  /** a = Σ u_c·(x_c − m), b = Σ u_c */
  Dot = 1,
  /** a = Σ e^(x_c − m)·(x_c − m) */
  Entropy = 2,
  /** no (m, s): a = Σ y_c·dy_c (softmaxBackward) or Σ dy_c (logSoftmaxBackward) */
  Backward = 3,
}
export function rowMode(job: RowJob): RowMode {
  if (job.op === 'entropy') return RowMode.Entropy;
  if (job.op === 'softmaxBackward' || job.op === 'logSoftmaxBackward') return RowMode.Backward;
  if (job.op === 'ceProb' || (job.op === 'ce' && job.eps > 0)) return RowMode.Dot;
  return RowMode.Plain;
}

export type ElementOp = 'sigmoid' | 'bce' | 'bceLogits' | 'kl' | 'klLog';

/** An element-wise op over n elements; `weight[i % weight.length]`, `posWeight[i % posWeight.length]`. */
export interface ElementJob {
  method: string;
  op: ElementOp;
  x: F32Data;
  t?: F32Data;
  weight?: Float32Array;
  posWeight?: Float32Array;
  n: number;
  device?: boolean;
}
export type HostElementJob = ElementJob & { x: Float32Array; t?: Float32Array };

/** A per-element result: host data, or a device buffer the caller owns (`device` jobs). */
export type Out = Float32Array | GPUBuffer;

/**
 * How each row's (or element's) gradient is scaled, from PyTorch's reduction rules:
 * by the upstream gradient ('none'), by 1/sums[index] (a weighted 'mean'), or by a constant.
 */
export type GradScale = { kind: 'output'; gradOutput: F32Data } | { kind: 'sum'; index: number } | { kind: 'const'; value: number };

export interface GradSpec {
  reduction: string;
  scale: GradScale;
  /** Write the gradient over the input (its buffer, or its host array). */
  inPlace: boolean;
}

/** The loss (per row or element for 'none', else the fixed-order sums) and d(loss)/d(input). */
export interface GradResult {
  losses?: Out;
  sums?: number[];
  grad: Out;
}

/** What a backend executes. Results are float32; reductions return the K fixed-order sums. */
export interface Backend {
  readonly kind: 'webgpu' | 'cpu';
  /** softmax / logSoftmax: an output per element, in x's layout. */
  normalize(job: RowJob): Promise<Out>;
  /** The final loss of each row (reduction 'none'). */
  rowLosses(job: RowJob): Promise<Out>;
  /** The sums of each record component over all rows (see recordWidth). */
  rowSums(job: RowJob): Promise<number[]>;
  elementwise(job: ElementJob): Promise<Out>;
  elementSum(job: ElementJob): Promise<number>;
  /** Loss and gradient of a row loss (ce, ceProb, nll) in one call. */
  rowGrad(job: RowJob, spec: GradSpec): Promise<GradResult>;
  /** Loss and gradient of an element-wise loss (bce, bceLogits, kl, klLog). */
  elementGrad(job: ElementJob, spec: GradSpec): Promise<GradResult>;
  dispose(): void;
}

// ---------------------------------------------------------------- shapes

export function isDevice(x: unknown): x is DeviceTensor {
  return typeof x === 'object' && x !== null && 'buffer' in x && !ArrayBuffer.isView(x);
}

/** Elements of a shape: 0 when any dim is 0, however large the others (an empty tensor costs nothing). */
export function numel(shape: readonly number[]): number {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The rows of `shape` along `dim`. */
export function layoutOf(shape: readonly number[], dim: number): Layout {
  const s = shape.length === 0 ? [1] : shape;
  let outer = 1, inner = 1;
  for (let i = 0; i < dim; i++) outer *= s[i];
  for (let i = dim + 1; i < s.length; i++) inner *= s[i];
  return { outer, C: s[dim], inner, rows: outer * inner };
}

/** `shape` without `dim` (rank-0 and rank-1 inputs give a scalar shape). */
export function dropDim(shape: readonly number[], dim: number): number[] {
  return shape.filter((_, i) => i !== dim);
}

// ---------------------------------------------------------------- reduction rules (PyTorch)

/** Components of a row record, summed over rows for reductions. */
export function recordWidth(op: RowOp): number {
  return op === 'ce' ? 3 : op === 'nll' ? 2 : 1;
}

/**
 * The reduced loss from the record sums, in float32:
 * - ce: records (nll, smooth, weight of target); 'mean' divides both parts by Σ weight of the
 *   non-ignored targets (their count when unweighted); loss = (1−ε)·nll + smooth·(ε/C).
 * - nll: records (loss, weight of target); 'mean' divides by Σ weight.
 * - ceProb, entropy: 'mean' divides by the number of rows.
 */
export function finishRows(job: RowJob, sums: readonly number[], reduction: string): number {
  const rows = job.layout.rows;
  const mean = reduction === 'mean';
  switch (job.op) {
    case 'ce': {
      const nll = mean ? f32(sums[0] / sums[2]) : sums[0];
      if (job.eps === 0) return nll;
      const smooth = mean ? f32(sums[1] / sums[2]) : sums[1];
      return f32(f32(f32(1 - job.eps) * nll) + f32(smooth * f32(job.eps / job.layout.C)));
    }
    case 'nll':
      return mean ? f32(sums[0] / sums[1]) : sums[0];
    default:
      return mean ? f32(sums[0] / rows) : sums[0];
  }
}

/** 'mean' divides by the element count, 'batchmean' by the first dim. */
export function finishElements(sum: number, reduction: string, shape: readonly number[]): number {
  if (reduction === 'mean') return f32(sum / numel(shape));
  if (reduction === 'batchmean') return f32(sum / batchOf(shape));
  return sum;
}

function batchOf(shape: readonly number[]): number {
  return shape.length === 0 ? 1 : shape[0];
}

/** The gradient scale of a row loss: PyTorch divides a 'mean' by the same denominator as the loss. */
export function rowGradScale(job: RowJob, reduction: string, gradOutput: F32Data | undefined): GradScale {
  if (reduction === 'none') return { kind: 'output', gradOutput: gradOutput ?? new Float32Array(job.layout.rows).fill(1) };
  if (reduction === 'sum') return { kind: 'const', value: 1 };
  if (job.op === 'ce') return { kind: 'sum', index: 2 };
  if (job.op === 'nll') return { kind: 'sum', index: 1 };
  return { kind: 'const', value: f32(1 / job.layout.rows) };
}

export function elementGradScale(reduction: string, shape: readonly number[], gradOutput: F32Data | undefined): GradScale {
  if (reduction === 'none') return { kind: 'output', gradOutput: gradOutput ?? new Float32Array(numel(shape)).fill(1) };
  if (reduction === 'mean') return { kind: 'const', value: f32(1 / numel(shape)) };
  if (reduction === 'batchmean') return { kind: 'const', value: f32(1 / batchOf(shape)) };
  return { kind: 'const', value: 1 };
}

/** The scale of row/element i given the reduction sums (float32, the same on both backends). */
export function scaleAt(scale: GradScale, sums: readonly number[] | undefined, i: number): number {
  if (scale.kind === 'const') return scale.value;
  if (scale.kind === 'sum') return f32(1 / sums![scale.index]);
  return (scale.gradOutput as Float32Array)[i];
}

