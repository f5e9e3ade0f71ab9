/**
 * The op registry: one record per op holding everything op-specific that the facade, both
 * backends, the WGSL interface and the tests read — its kernel code, its row mode and record
 * width, how its batch sums finish per reduction (PyTorch's rules, in float32), how a 'mean'
 * scales its gradient, its CPU formulas; and one record per public method with the options it
 * accepts. The WGSL side sees the codes as named constants generated from this file
 * (src/gpu/interface.ts), so a shader never tests an op by number.
 */
import { ELEMENT_FORMULAS } from './cpu/elementwise.js';
import type { ElementOp, F32Data, GradScale, HostElementJob, LinearJob, Reduction, RowJob, RowOp } from './jobs.js';
import { RowMode } from './jobs.js';
import { numel } from './shapes.js';

const f32 = Math.fround;

export interface RowOpSpec {
  /** The kernel's OP code (WGSL constant OP_<NAME>). */
  readonly code: number;
  /** One output per element (the softmax family) rather than one loss per row. */
  readonly perElement: boolean;
  /** Record components per row that the batch sums add up (1 for ops that have no reduction). */
  records(job: RowJob): number;
  /** What the row's extra accumulators (a, b) hold. */
  mode(job: RowJob): RowMode;
  /** The reduced loss from the record sums. */
  finish(job: RowJob, sums: readonly number[], reduction: Reduction): number;
  /** How a 'mean' scales each row's gradient: PyTorch divides by the loss's own denominator. */
  meanScale(job: RowJob): GradScale;
}

/** 'mean' over the rows of the job (ceProb, entropy): sums[0] / rows. */
const byRows: Pick<RowOpSpec, 'finish' | 'meanScale'> = {
  finish: (job, sums, reduction) => (reduction === 'mean' ? f32(sums[0] / job.layout.rows) : sums[0]),
  meanScale: (job) => ({ kind: 'const', value: f32(1 / job.layout.rows) }),
};
const one = () => 1;
const elementOutput = (code: number, mode: RowMode): RowOpSpec => ({
  code, perElement: true, records: one, mode: () => mode, ...byRows,
});

export const ROW_OPS: Readonly<Record<RowOp, RowOpSpec>> = {
  softmax: elementOutput(0, RowMode.Plain),
  logSoftmax: elementOutput(1, RowMode.Plain),
  entropy: { code: 2, perElement: false, records: one, mode: () => RowMode.Entropy, ...byRows },
  /**
   * Records (nll, smooth, weight of target); 'mean' divides nll and smooth by Σ weight of the
   * non-ignored targets (their count when unweighted); loss = (1−ε)·nll + smooth·(ε/C). With focal
   * γ > 0, nll holds the focal term −w_t·(1 − p_t)^γ·log p_t. With a z-loss the records are
   * (row loss, z, weight of target, 1 per non-ignored row) (the batch sums add 4 at most), and
   * 'mean' divides Σz by the count of non-ignored rows.
   */
  ce: {
    code: 3, perElement: false,
    records: (job) => ((job.zLoss ?? 0) > 0 ? 4 : 3),
    mode: (job) => (job.eps > 0 ? RowMode.Dot : RowMode.Plain),
    finish(job, sums, reduction) {
      const mean = reduction === 'mean';
      if ((job.zLoss ?? 0) > 0) return mean ? f32(f32(sums[0] / sums[2]) + f32(sums[1] / sums[3])) : f32(sums[0] + sums[1]);
      const nll = mean ? f32(sums[0] / sums[2]) : sums[0];
      if (job.eps === 0) return nll;
      const smooth = mean ? f32(sums[1] / sums[2]) : sums[1];
      return f32(f32(f32(1 - job.eps) * nll) + f32(smooth * f32(job.eps / job.layout.C)));
    },
    meanScale: (job) => ({ kind: 'sum', index: 2, zIndex: (job.zLoss ?? 0) > 0 ? 3 : undefined }),
  },
  /** Every row counts: its z-loss (if any) is part of its one record. */
  ceProb: { code: 4, perElement: false, records: one, mode: () => RowMode.Dot, ...byRows },
  /** Records (loss, weight of target); 'mean' divides by Σ weight. */
  nll: {
    code: 5, perElement: false, records: () => 2, mode: () => RowMode.Plain,
    finish: (_job, sums, reduction) => (reduction === 'mean' ? f32(sums[0] / sums[1]) : sums[0]),
    meanScale: () => ({ kind: 'sum', index: 1 }),
  },
  softmaxBackward: elementOutput(6, RowMode.Backward),
  logSoftmaxBackward: elementOutput(7, RowMode.Backward),
};

/**
 * linearCrossEntropy is cross-entropy ('ce', class indices) on the logits hidden·weightᵀ + bias:
 * the row job of `rows` of those logits, `x`, with the chunk's targets. Everything else about the
 * loss (records, finish, gradient) is the 'ce' op's.
 */
export function linearRows<X extends F32Data | undefined>(job: LinearJob, x: X, rows: number, target: LinearJob['target']): RowJob & { x: X } {
  return {
    method: job.method, op: 'ce', x: x as F32Data, layout: { outer: rows, C: job.V, inner: 1, rows }, target,
    ignoreIndex: job.ignoreIndex, eps: job.eps, zLoss: job.zLoss, softcap: job.softcap,
  } as RowJob & { x: X };
}

export interface ElementOpSpec {
  /** The kernel's OP code (WGSL constant OP_<NAME>). */
  readonly code: number;
  /** The CPU formula of element i: a probability for sigmoid, a loss otherwise (same float32 order as the WGSL). */
  value(job: HostElementJob, i: number): number;
  /** d(loss_i)/dx_i before the reduction's scale, or undefined for an op without a gradient. */
  grad?(job: HostElementJob, i: number): number;
}

export const ELEMENT_OPS: Readonly<Record<ElementOp, ElementOpSpec>> = {
  sigmoid: { code: 0, ...ELEMENT_FORMULAS.sigmoid },
  bce: { code: 1, ...ELEMENT_FORMULAS.bce },
  bceLogits: { code: 2, ...ELEMENT_FORMULAS.bceLogits },
  kl: { code: 3, ...ELEMENT_FORMULAS.kl },
  klLog: { code: 4, ...ELEMENT_FORMULAS.klLog },
  sigmoidFocal: { code: 5, ...ELEMENT_FORMULAS.sigmoidFocal },
};

/** 'mean' divides by the element count, 'batchmean' by the first dim. */
export function finishElements(sum: number, reduction: Reduction, shape: readonly number[]): number {
  if (reduction === 'mean') return f32(sum / numel(shape));
  if (reduction === 'batchmean') return f32(sum / batchOf(shape));
  return sum;
}

function batchOf(shape: readonly number[]): number {
  return shape.length === 0 ? 1 : shape[0];
}

/** How each row's gradient is scaled under `reduction` (the upstream gradient for 'none'). */
export function rowGradScale(job: RowJob, reduction: Reduction, gradOutput: F32Data | undefined): GradScale {
  if (reduction === 'none') return { kind: 'output', gradOutput: gradOutput ?? new Float32Array(job.layout.rows).fill(1) };
  if (reduction === 'sum') return { kind: 'const', value: 1 };
  return ROW_OPS[job.op].meanScale(job);
}

export function elementGradScale(reduction: Reduction, shape: readonly number[], gradOutput: F32Data | undefined): GradScale {
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

/** The scale of the z-loss part of row i: as the row's, except that a 'mean' divides by the row count. */
export function zScaleAt(scale: GradScale, sums: readonly number[] | undefined, i: number): number {
  if (scale.kind === 'sum' && scale.zIndex !== undefined) return f32(1 / sums![scale.zIndex]);
  return scaleAt(scale, sums, i);
}

// ---------------------------------------------------------------- public methods

const GRAD = ['grad', 'gradOutput', 'inPlace', 'output', 'outputDtype'] as const;
const LOSS: readonly Reduction[] = ['none', 'mean', 'sum'];

export interface MethodSpec {
  /** Every option key the method accepts; any other rejects (a typo must never give the default answer). */
  readonly options: readonly string[];
  readonly reductions: readonly Reduction[];
  readonly defaultReduction: Reduction;
}

const method = (options: readonly string[], reductions: readonly Reduction[] = LOSS, defaultReduction: Reduction = 'mean'): MethodSpec =>
  ({ options, reductions, defaultReduction });

export const METHODS = {
  softmax: method(['dim', 'output', 'outputDtype'], ['none'], 'none'),
  logSoftmax: method(['dim', 'output', 'outputDtype'], ['none'], 'none'),
  softmaxBackward: method(['dim', 'output', 'outputDtype'], ['none'], 'none'),
  logSoftmaxBackward: method(['dim', 'output', 'outputDtype'], ['none'], 'none'),
  sigmoid: method(['output', 'outputDtype'], ['none'], 'none'),
  crossEntropy: method(['weight', 'ignoreIndex', 'labelSmoothing', 'zLoss', 'softcap', 'focalGamma', 'reduction', ...GRAD]),
  nllLoss: method(['weight', 'ignoreIndex', 'reduction', ...GRAD]),
  binaryCrossEntropy: method(['weight', 'reduction', ...GRAD]),
  binaryCrossEntropyWithLogits: method(['weight', 'posWeight', 'reduction', ...GRAD]),
  klDiv: method(['reduction', 'logTarget', ...GRAD], [...LOSS, 'batchmean']),
  sigmoidFocalLoss: method(['alpha', 'gamma', 'reduction', ...GRAD]),
  entropy: method(['dim', 'reduction', 'output', 'outputDtype'], LOSS, 'none'),
  linearCrossEntropy: method(['bias', 'ignoreIndex', 'labelSmoothing', 'zLoss', 'softcap', 'reduction', 'grad', 'gradOutput', 'output', 'outputDtype']),
} as const satisfies Record<string, MethodSpec>;

export type MethodName = keyof typeof METHODS;
