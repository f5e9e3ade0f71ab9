/**
 * What the facade hands a backend: row jobs (ops over rows of the class dim) and element jobs,
 * gradient specifications, results, and the Backend interface both backends implement.
 */
import type { Half, HalfDtype } from './dtype.js';
import type { EvalEngine } from './eval/evaluator.js';
import type { DeviceTensor } from './types.js';

/** Float data: host float32, host half bits, or a buffer on the device (of any float dtype). */
export type F32Data = Float32Array | Half | DeviceTensor;
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
  /** Cross-entropy extras (0 = off): z-loss s·lse², logit softcap c·tanh(x/c), focal γ. */
  zLoss?: number;
  softcap?: number;
  gamma?: number;
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

export type ElementOp = 'sigmoid' | 'bce' | 'bceLogits' | 'kl' | 'klLog' | 'sigmoidFocal';

/** Reductions of every loss ('batchmean' is klDiv's). */
export type Reduction = 'none' | 'mean' | 'sum' | 'batchmean';

/**
 * An element-wise op over n elements. Element i's weight is
 * `weight[⌊(i + weightShift) / weightDiv⌋ % weight.length]` (any PyTorch broadcast of a weight tensor
 * reduces to this), its posWeight `posWeight[i % posWeight.length]` (broadcast along the last dim).
 */
export interface ElementJob {
  method: string;
  op: ElementOp;
  x: F32Data;
  t?: F32Data;
  weight?: Float32Array;
  /** Elements that share one weight (default 1). */
  weightDiv?: number;
  /** Added to i before dividing (default 0): where a streamed chunk starts in its weight's period. */
  weightShift?: number;
  posWeight?: Float32Array;
  /** sigmoidFocal: α (negative: no α weighting) and γ. */
  alpha?: number;
  gamma?: number;
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
export type GradScale =
  | { kind: 'output'; gradOutput: F32Data }
  /** 1/sums[index]; the z-loss part of a row (if any) by 1/sums[zIndex]. */
  | { kind: 'sum'; index: number; zIndex?: number }
  | { kind: 'const'; value: number };

export interface GradSpec {
  reduction: Reduction;
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

/**
 * linearCrossEntropy: cross-entropy with class indices (the 'ce' row op) of the logits
 * hidden·weightᵀ + bias, computed a chunk of rows at a time (planLinear) and never whole.
 */
export interface LinearJob {
  method: string;
  /** (N, D) */
  hidden: F32Data;
  /** (V, D) */
  weight: F32Data;
  /** (V) */
  bias?: F32Data;
  N: number;
  D: number;
  V: number;
  target: I32Data;
  ignoreIndex: number;
  eps: number;
  zLoss: number;
  softcap: number;
  device?: boolean;
}
export type HostLinearJob = LinearJob & { hidden: Float32Array | Half; weight: Float32Array | Half; bias?: Float32Array | Half; target: Int32Array };

/** How a linear job's rows are scaled; without one, no gradient. A 'sum' scale makes the backend sweep the logits twice. */
export interface LinearSpec {
  reduction: Reduction;
  grad?: GradScale;
}

export interface LinearResult {
  /** Per-row losses ('none') or the K record sums. */
  losses?: Out;
  sums?: number[];
  grad?: { hidden: Out; weight: Out; bias?: Out };
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
  /**
   * Device results in half precision (WebGPU only): the n float32 values of `src` rounded to nearest
   * even into a new buffer the caller owns, or into `into`; a device `src` is destroyed.
   */
  pack?(src: GPUBuffer | Float32Array, n: number, dtype: HalfDtype, into?: GPUBuffer): Promise<GPUBuffer>;
  /** Loss (and gradients) of a linear job. */
  linear(job: LinearJob, spec: LinearSpec): Promise<LinearResult>;
  /** The streaming evaluator's engine on this backend (WebGPU; the CPU's is src/eval/evaluator.ts cpuEngine). */
  evalEngine?(ks: readonly number[], bins: number): EvalEngine;
  dispose(): void;
}
