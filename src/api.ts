/** createLosses and the Losses facade: validates arguments, builds jobs, applies reductions. */
import { cpuBackend } from './cpu/backend.js';
import { LossError } from './errors.js';
import { createWebGpuBackend } from './gpu/backend.js';
import type { WebGpuBackend } from './gpu/backend.js';
import {
  checkIndices, classWeight, dimOf, dropDim, elementWeight, fail, finishElements, finishRows, floatTarget,
  floatTensor, ignoreIndexOf, indexTarget, isDevice, layoutOf, numel, reductionOf, smoothingOf,
} from './ops.js';
import { elementGradScale, rowGradScale } from './ops.js';
import type { Backend, ElementJob, ElementOp, Out, RowJob, RowOp } from './ops.js';
import type {
  BceOptions, BceWithLogitsOptions, CreateLossesOptions, CrossEntropyOptions, DeviceTensor, EntropyOptions, GradOptions,
  HostTensor, KlDivOptions, Losses, NllLossOptions, OutputOptions, SoftmaxOptions, TensorInput,
} from './types.js';

export { LossError };

const LOSS_REDUCTIONS = ['none', 'mean', 'sum'] as const;

type LossOptions = GradOptions & OutputOptions;

/** A per-element result as a host tensor, or a device tensor the caller owns. */
function tensor(out: Out, shape: readonly number[]): HostTensor | DeviceTensor {
  return out instanceof Float32Array ? { data: out, shape: [...shape] } : { buffer: out, shape: [...shape], dtype: 'float32' };
}

function outputOf(method: string, output: unknown): boolean {
  if (output === undefined || output === 'host') return false;
  if (output === 'device') return true;
  fail(method, `output = ${JSON.stringify(output)} must be 'host' or 'device'`);
}

/** The validated gradient options, or undefined without `grad: true`. */
function gradOf(method: string, opts: LossOptions, reduction: string, lossShape: readonly number[], input: unknown) {
  if (opts.grad !== undefined && typeof opts.grad !== 'boolean') fail(method, `grad = ${String(opts.grad)} must be a boolean`);
  if (opts.inPlace !== undefined && typeof opts.inPlace !== 'boolean') fail(method, `inPlace = ${String(opts.inPlace)} must be a boolean`);
  if (!opts.grad) {
    if (opts.gradOutput !== undefined || opts.inPlace) fail(method, 'gradOutput and inPlace need grad: true');
    return undefined;
  }
  if (opts.gradOutput !== undefined && reduction !== 'none') fail(method, `gradOutput needs reduction 'none' (reduction '${reduction}' gives a number, whose upstream gradient is 1)`);
  const gradOutput = opts.gradOutput === undefined ? undefined : floatTarget(method, opts.gradOutput, lossShape, 'gradOutput');
  if (opts.inPlace && opts.output === 'device' && !isDevice(input)) {
    fail(method, "inPlace with output 'device' needs a device input: a host input's gradient is written into its own array");
  }
  return { gradOutput, inPlace: opts.inPlace === true };
}

/** Creates the library on a backend; see CreateLossesOptions. */
export async function createLosses(options: CreateLossesOptions = {}): Promise<Losses> {
  const want = options.backend ?? 'auto';
  if (want !== 'auto' && want !== 'webgpu' && want !== 'cpu') {
    throw new LossError(`createLosses: backend = ${JSON.stringify(want)} must be 'auto', 'webgpu' or 'cpu'`);
  }
  if (want === 'cpu') return facade(cpuBackend(options.profile));
  try {
    return facade(await createWebGpuBackend(options));
  } catch (err) {
    if (want === 'webgpu') throw err instanceof LossError ? err : new LossError(`createLosses: WebGPU is not available (${String(err)})`, { cause: err });
    return facade(cpuBackend());
  }
}

function facade(backend: Backend & Partial<Pick<WebGpuBackend, 'profile' | 'device' | 'stats'>>): Losses {
  // Empty tensors never reach a device: the CPU gives PyTorch's answer (NaN means, empty outputs).
  const cpu = backend.kind === 'cpu' ? backend : cpuBackend();
  const on = (n: number): Backend => (n === 0 ? cpu : backend);

  /** Runs a row loss (ce, ceProb, nll, entropy): per row for 'none', reduced, or with its gradient. */
  async function rows(job: RowJob, reduction: string, outShape: number[], inShape: readonly number[], opts: LossOptions): Promise<unknown> {
    job.device = outputOf(job.method, opts.output);
    const g = gradOf(job.method, opts, reduction, outShape, job.x);
    const be = on(job.layout.rows * job.layout.C);
    if (g) {
      const res = await be.rowGrad(job, { reduction, scale: rowGradScale(job, reduction, g.gradOutput), inPlace: g.inPlace });
      const loss = reduction === 'none' ? tensor(res.losses!, outShape) : finishRows(job, res.sums!, reduction);
      return { loss, grad: tensor(res.grad, inShape) };
    }
    if (reduction === 'none') return tensor(await be.rowLosses(job), outShape);
    return finishRows(job, await be.rowSums(job), reduction);
  }

  async function elements(job: ElementJob, reduction: string, shape: readonly number[], opts: LossOptions): Promise<unknown> {
    job.device = outputOf(job.method, opts.output);
    const g = gradOf(job.method, opts, reduction, shape, job.x);
    const be = on(job.n);
    if (g) {
      const res = await be.elementGrad(job, { reduction, scale: elementGradScale(reduction, shape, g.gradOutput), inPlace: g.inPlace });
      const loss = reduction === 'none' ? tensor(res.losses!, shape) : finishElements(res.sums![0], reduction, shape);
      return { loss, grad: tensor(res.grad, shape) };
    }
    if (reduction === 'none') return tensor(await be.elementwise(job), shape);
    return finishElements(await be.elementSum(job), reduction, shape);
  }

  /** softmax, logSoftmax and their backward passes: one output per element. */
  async function normalize(method: RowOp, x: TensorInput, dy: unknown, options: SoftmaxOptions = {}): Promise<never> {
    const t = floatTensor(method, method.endsWith('Backward') ? 'y' : 'x', x);
    const layout = layoutOf(t.shape, dimOf(method, options.dim, t.shape.length));
    const job: RowJob = {
      method, op: method, x: t.data, layout, ignoreIndex: -100, eps: 0,
      prob: dy === undefined ? undefined : floatTarget(method, dy, t.shape, 'dy'),
      device: outputOf(method, options.output),
    };
    return tensor(await on(numel(t.shape)).normalize(job), t.shape) as never;
  }

  /** input of a class-dim loss: (C), (N, C) or (N, C, d1, …); returns its layout along dim 1 (dim 0 for 1-D). */
  function classInput(method: string, input: TensorInput) {
    const t = floatTensor(method, 'input', input);
    if (t.shape.length === 0) fail(method, 'input must have a class dim: shape (C), (N, C) or (N, C, d1, …)');
    const dim = t.shape.length === 1 ? 0 : 1;
    const layout = layoutOf(t.shape, dim);
    if (layout.C === 0) fail(method, `input.shape[${dim}] = 0: there must be at least one class`);
    return { ...t, layout, outShape: dropDim(t.shape, dim) };
  }

  /** The arguments every class-dim loss shares. */
  function classLoss(method: string, input: TensorInput, options: NllLossOptions) {
    const x = classInput(method, input);
    return {
      x,
      reduction: reductionOf(method, options.reduction, LOSS_REDUCTIONS, 'mean'),
      weight: classWeight(method, options.weight, x.layout.C),
      ignoreIndex: ignoreIndexOf(method, options.ignoreIndex),
    };
  }

  function elementJob(method: string, op: ElementOp, input: TensorInput, target: unknown, options: BceWithLogitsOptions) {
    const t = floatTensor(method, 'input', input);
    const job: ElementJob = {
      method, op, x: t.data, t: floatTarget(method, target, t.shape), n: numel(t.shape),
      weight: elementWeight(method, 'weight', options.weight, t.shape),
    };
    return { job, shape: t.shape };
  }

  return {
    backend: backend.kind,
    get profile() { return backend.profile; },
    get device() { return backend.device; },
    stats: backend.stats && (() => backend.stats!()),

    softmax: (x, options) => normalize('softmax', x, undefined, options),
    logSoftmax: (x, options) => normalize('logSoftmax', x, undefined, options),
    softmaxBackward: (y, dy, options) => normalize('softmaxBackward', y, dy, options),
    logSoftmaxBackward: (y, dy, options) => normalize('logSoftmaxBackward', y, dy, options),

    async sigmoid(x, options) {
      const t = floatTensor('sigmoid', 'x', x);
      const job: ElementJob = { method: 'sigmoid', op: 'sigmoid', x: t.data, n: numel(t.shape) };
      return (await elements(job, 'none', t.shape, { output: options?.output })) as never;
    },

    async crossEntropy(input, target, options: CrossEntropyOptions = {}) {
      const m = 'crossEntropy';
      const { x, reduction, weight, ignoreIndex } = classLoss(m, input, options);
      const eps = smoothingOf(m, options.labelSmoothing);
      const isIndex = target instanceof Int32Array || (typeof target === 'object' && target !== null &&
        ((isDevice(target) && target.dtype === 'int32') || ('data' in target && target.data instanceof Int32Array)));
      let job: RowJob;
      if (isIndex) {
        const idx = indexTarget(m, target, x.outShape);
        checkIndices(m, idx, x.layout.C, ignoreIndex);
        job = { method: m, op: 'ce', x: x.data, layout: x.layout, target: idx, weight, ignoreIndex, eps };
      } else {
        job = { method: m, op: 'ceProb', x: x.data, layout: x.layout, prob: floatTarget(m, target, x.shape), weight, ignoreIndex, eps };
      }
      return rows(job, reduction, x.outShape, x.shape, options) as never;
    },

    async nllLoss(input, target, options: NllLossOptions = {}) {
      const m = 'nllLoss';
      const { x, reduction, weight, ignoreIndex } = classLoss(m, input, options);
      const idx = indexTarget(m, target, x.outShape);
      checkIndices(m, idx, x.layout.C, ignoreIndex);
      const job: RowJob = { method: m, op: 'nll', x: x.data, layout: x.layout, target: idx, weight, ignoreIndex, eps: 0 };
      return rows(job, reduction, x.outShape, x.shape, options) as never;
    },

    async binaryCrossEntropy(input, target, options: BceOptions = {}) {
      const m = 'binaryCrossEntropy';
      const reduction = reductionOf(m, options.reduction, LOSS_REDUCTIONS, 'mean');
      const { job, shape } = elementJob(m, 'bce', input, target, options);
      if (!isDevice(job.x)) {
        const x = job.x;
        for (let i = 0; i < x.length; i++) {
          if (!(x[i] >= 0 && x[i] <= 1)) fail(m, `input[${i}] = ${x[i]} is outside [0, 1]`);
        }
      }
      return elements(job, reduction, shape, options) as never;
    },

    async binaryCrossEntropyWithLogits(input, target, options: BceWithLogitsOptions = {}) {
      const m = 'binaryCrossEntropyWithLogits';
      const reduction = reductionOf(m, options.reduction, LOSS_REDUCTIONS, 'mean');
      const { job, shape } = elementJob(m, 'bceLogits', input, target, options);
      const pw = options.posWeight;
      if (pw !== undefined) {
        const last = shape.length === 0 ? 1 : shape[shape.length - 1];
        if (!(pw instanceof Float32Array) || (pw.length !== last && pw.length !== 1)) {
          fail(m, `posWeight has length ${pw instanceof Float32Array ? pw.length : String(pw)}, expected the last dim ${last} (or 1)`);
        }
        job.posWeight = pw;
      }
      return elements(job, reduction, shape, options) as never;
    },

    async klDiv(input, target, options: KlDivOptions = {}) {
      const m = 'klDiv';
      const reduction = reductionOf(m, options.reduction, [...LOSS_REDUCTIONS, 'batchmean'], 'mean');
      if (options.logTarget !== undefined && typeof options.logTarget !== 'boolean') fail(m, `logTarget = ${String(options.logTarget)} must be a boolean`);
      const { job, shape } = elementJob(m, options.logTarget ? 'klLog' : 'kl', input, target, {});
      return elements(job, reduction, shape, options) as never;
    },

    async entropy(logits, options: EntropyOptions = {}) {
      const m = 'entropy';
      const t = floatTensor(m, 'logits', logits);
      const dim = dimOf(m, options.dim, t.shape.length);
      const reduction = reductionOf(m, options.reduction, LOSS_REDUCTIONS, 'none');
      const layout = layoutOf(t.shape, dim);
      const job: RowJob = { method: m, op: 'entropy', x: t.data, layout, ignoreIndex: -100, eps: 0 };
      return rows(job, reduction, dropDim(t.shape, dim), t.shape, { output: options.output }) as never;
    },

    dispose() {
      backend.dispose();
    },
  };
}
