/**
 * createLosses and the Losses facade: validates and captures arguments at call time, builds jobs,
 * applies reductions. Every rejection of a public method is a LossError (anything else that escapes
 * is wrapped, with the original as `cause`).
 */
import { cpuBackend } from './cpu/backend.js';
import { decodeTable, encodeHalf, FLOAT_DTYPES, Half } from './dtype.js';
import { cpuEngine, createEvaluator } from './eval/evaluator.js';
import type { FloatDtype } from './dtype.js';
import { LossError } from './errors.js';
import { createWebGpuBackend } from './gpu/backend.js';
import type { WebGpuBackend } from './gpu/backend.js';
import type { Backend, ElementJob, ElementOp, F32Data, GradScale, I32Data, LinearJob, Out, Reduction, RowJob, RowOp } from './jobs.js';
import { elementGradScale, finishElements, linearRows, METHODS, ROW_OPS, rowGradScale } from './registry.js';
import type { MethodName } from './registry.js';
import { dropDim, isDevice, layoutOf, numel } from './shapes.js';
import type { AdapterProfile } from './plan.js';
import type { CreateLossesOptions, DeviceTensor, Float16Tensor, HalfTensor, HostTensor, Losses } from './types.js';
import {
  booleanOf, checkIndices, classWeight, dimOf, dtypeOf, elementWeight, fail, floatTarget, floatTensor, ignoreIndexOf, indexTarget,
  isF32, looksLikeIndices, optionsOf, overlaps, reductionOf, show, smoothingOf,
} from './validate.js';

export { LossError };

const CREATE_OPTIONS = ['backend', 'gpu', 'device', 'maxBindingBytes', 'maxBufferBytes', 'profile', 'poison'];
type Opts = Record<string, unknown>;

/** A method's options, checked against the registry (unknown keys reject). */
const optionsFor = (m: MethodName, options: unknown): Opts => optionsOf(m, options, METHODS[m].options);
const reductionFor = (m: MethodName, o: Opts): Reduction => reductionOf(m, o.reduction, METHODS[m].reductions, METHODS[m].defaultReduction);

/** The smallest binding or buffer size accepted: every op still runs, in small chunks. */
const MIN_BYTES = 4096;

// GPUBufferUsage values from the spec (the globals may not exist).
const STORAGE = 128, COPY_SRC = 4, COPY_DST = 8;

function asLossError(method: string, err: unknown): LossError {
  if (err instanceof LossError) return err;
  return new LossError(`${method}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** A finite number option that satisfies `ok`, or its default. */
function numberOption(method: string, name: string, v: unknown, fallback: number, rule: string, ok: (v: number) => boolean): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) fail(method, `${name} = ${show(v)} must be a finite number ${rule === 'finite' ? '' : rule}`.trimEnd());
  return v;
}

function outputOf(method: string, output: unknown): boolean {
  if (output === undefined || output === 'host') return false;
  if (output === 'device') return true;
  fail(method, `output = ${show(output)} must be 'host' or 'device'`);
}

// ---------------------------------------------------------------- createLosses

function sizeOption(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < MIN_BYTES) {
    fail('createLosses', `${name} = ${show(v)} must be an integer number of bytes ≥ ${MIN_BYTES}`);
  }
  return v;
}

function profileOption(v: unknown): AdapterProfile | undefined {
  if (v === undefined) return undefined;
  const m = 'createLosses';
  const p = optionsOf(m, v, ['emulated', 'subgroupSize', 'maxGroupsPerDim', 'maxBindingBytes']);
  if (typeof p.emulated !== 'boolean') fail(m, `profile.emulated = ${show(p.emulated)} must be true or false`);
  const s = p.subgroupSize;
  if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || s > 128 || (s & (s - 1)) !== 0) {
    fail(m, `profile.subgroupSize = ${show(s)} must be 0 (no subgroups) or a power of two up to 128`);
  }
  const g = p.maxGroupsPerDim;
  if (typeof g !== 'number' || !Number.isInteger(g) || g < 1) fail(m, `profile.maxGroupsPerDim = ${show(g)} must be a positive integer`);
  return { emulated: p.emulated, subgroupSize: s, maxGroupsPerDim: g, maxBindingBytes: sizeOption('profile.maxBindingBytes', p.maxBindingBytes)! };
}

function hasMethods(v: unknown, names: string[]): boolean {
  return typeof v === 'object' && v !== null && names.every((n) => typeof (v as Record<string, unknown>)[n] === 'function');
}

function createOptions(options: unknown): CreateLossesOptions {
  const m = 'createLosses';
  const o = optionsOf(m, options, CREATE_OPTIONS);
  const backend = o.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'webgpu' && backend !== 'cpu') fail(m, `backend = ${show(backend)} must be 'auto', 'webgpu' or 'cpu'`);
  if (o.gpu !== undefined && !hasMethods(o.gpu, ['requestAdapter'])) fail(m, `gpu must be a GPU object (navigator.gpu, or create() of the webgpu package), got ${show(o.gpu)}`);
  if (o.device !== undefined) {
    const d = o.device as GPUDevice;
    if (!hasMethods(d, ['createBuffer', 'createComputePipeline', 'pushErrorScope']) || !hasMethods(d.queue, ['writeBuffer', 'submit']) ||
      typeof d.limits !== 'object' || !hasMethods(d.features, ['has'])) {
      fail(m, `device must be a GPUDevice, got ${show(o.device)}`);
    }
  }
  return {
    backend, gpu: o.gpu as GPU | undefined, device: o.device as GPUDevice | undefined,
    maxBindingBytes: sizeOption('maxBindingBytes', o.maxBindingBytes), maxBufferBytes: sizeOption('maxBufferBytes', o.maxBufferBytes),
    profile: profileOption(o.profile), poison: booleanOf(m, 'poison', o.poison),
  };
}

/** Creates the library on a backend; see CreateLossesOptions. */
export async function createLosses(options?: CreateLossesOptions): Promise<Losses> {
  let o: CreateLossesOptions;
  try {
    o = createOptions(options);
  } catch (err) {
    throw asLossError('createLosses', err);
  }
  if (o.backend === 'cpu') return facade(cpuBackend(o.profile));
  try {
    return facade(await createWebGpuBackend(o));
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^createLosses: /, '') : String(err);
    if (o.backend === 'webgpu') throw err instanceof LossError ? err : new LossError(`createLosses: WebGPU is not available (${reason})`, { cause: err });
    return facade(cpuBackend(), reason);
  }
}

// ---------------------------------------------------------------- the facade

type Gpu = Partial<Pick<WebGpuBackend, 'profile' | 'device' | 'stats' | 'lostReason'>>;

/** The dtype of a call's per-element results. */
interface Dtype { dtype: FloatDtype; float16Array: boolean }

/** The runtime's Float16Array (present whenever a Float16Array input was accepted). */
function float16Array(): new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView {
  return (globalThis as unknown as { Float16Array: new (b: ArrayBufferLike, o: number, n: number) => ArrayBufferView }).Float16Array;
}

function facade(backend: Backend & Gpu, fallbackReason?: string): Losses {
  let disposed = false;

  /** A public method: rejects after dispose, and only ever with a LossError. */
  function guard<A extends unknown[]>(method: string, body: (...args: A) => Promise<unknown>): (...args: A) => Promise<never> {
    return (...args: A) => {
      try {
        if (disposed) fail(method, 'this Losses object was disposed');
        const lost = backend.lostReason;
        if (lost !== undefined) fail(method, `the app's GPUDevice was lost (${lost})`);
        return body(...args).catch((err: unknown) => {
          throw asLossError(method, err);
        }) as Promise<never>;
      } catch (err) {
        return Promise.reject(asLossError(method, err));
      }
    };
  }

  /** What per-element results are made of: outputDtype, else the input's dtype (a Float16Array stays one). */
  function dtypeFor(method: string, o: Opts, input: F32Data): Dtype {
    const want = o.outputDtype;
    if (want !== undefined && (typeof want !== 'string' || !FLOAT_DTYPES.includes(want as FloatDtype))) {
      fail(method, `outputDtype = ${show(want)} must be one of ${FLOAT_DTYPES.map((d) => JSON.stringify(d)).join(', ')}`);
    }
    const dtype = (want as FloatDtype | undefined) ?? dtypeOf(input);
    return { dtype, float16Array: dtype === 'float16' && input instanceof Half && input.view !== undefined };
  }

  /**
   * A per-element result (float32, from the backend) as a host tensor, or a device tensor the caller
   * owns, in dtype `d`: half results are rounded to nearest even on the host, or by a kernel on the
   * device. `into`: the half input an in-place gradient overwrites.
   */
  async function tensor(out: Out, shape: readonly number[], d: Dtype, into?: F32Data): Promise<HostTensor | HalfTensor | Float16Tensor | DeviceTensor> {
    const s = [...shape];
    if (d.dtype === 'float32') return out instanceof Float32Array ? { data: out, shape: s } : { buffer: out, shape: s, dtype: 'float32' };
    if (!(out instanceof Float32Array) || isDevice(into)) {
      if (!backend.pack) fail('tensor', 'internal error: half device results without a device');
      const buffer = await backend.pack(out, numel(shape), d.dtype, isDevice(into) ? into.buffer : undefined);
      // An in-place gradient of a device input with host output: in the buffer, and returned as host bits too.
      if (!(out instanceof Float32Array)) return { buffer, shape: s, dtype: d.dtype };
    }
    const bits = encodeHalf(out, d.dtype, into instanceof Half ? into.bits : undefined);
    if (d.float16Array) return { data: (into as Half | undefined)?.view ?? new (float16Array())(bits.buffer, bits.byteOffset, bits.length), shape: s } as unknown as Float16Tensor;
    return { data: bits, shape: s, dtype: d.dtype };
  }

  /** The input itself as the result of an in-place gradient over an empty tensor. */
  function inputTensor(x: F32Data, shape: readonly number[]): HostTensor | HalfTensor | Float16Tensor | DeviceTensor {
    if (isDevice(x)) return { buffer: x.buffer, shape: [...shape], dtype: x.dtype ?? 'float32' };
    if (x instanceof Half) return x.view ? ({ data: x.view, shape: [...shape] } as unknown as Float16Tensor) : { data: x.bits, shape: [...shape], dtype: x.dtype };
    return { data: x, shape: [...shape] };
  }

  /** The result of an empty tensor (no work, whatever its other dims): an empty host array or device buffer. */
  function empty(method: string, device: boolean): Out {
    if (!device) return new Float32Array(0);
    if (!backend.device) fail(method, `output 'device' needs the webgpu backend; this one is ${backend.kind}`);
    return backend.device.createBuffer({ size: 16, usage: STORAGE | COPY_SRC | COPY_DST });
  }

  /** The validated gradient options, or undefined without `grad: true`. */
  function gradOf(method: string, o: Opts, reduction: Reduction, lossShape: readonly number[], input: F32Data, operands: Record<string, unknown>) {
    const grad = booleanOf(method, 'grad', o.grad);
    const inPlace = booleanOf(method, 'inPlace', o.inPlace);
    if (!grad) {
      if (o.gradOutput !== undefined || inPlace) fail(method, 'gradOutput and inPlace need grad: true');
      return undefined;
    }
    if (o.gradOutput !== undefined && reduction !== 'none') fail(method, `gradOutput needs reduction 'none' (reduction '${reduction}' gives a number, whose upstream gradient is 1)`);
    const gradOutput = o.gradOutput === undefined ? undefined : floatTarget(method, o.gradOutput, lossShape, 'gradOutput');
    if (inPlace) {
      if (o.outputDtype !== undefined && o.outputDtype !== dtypeOf(input)) fail(method, `inPlace writes the gradient over the input: outputDtype must be its dtype (${dtypeOf(input)})`);
      if (o.output === 'device' && !isDevice(input)) {
        fail(method, "inPlace with output 'device' needs a device input: a host input's gradient is written into its own array");
      }
      for (const [name, v] of Object.entries({ ...operands, gradOutput })) {
        if (v !== undefined && overlaps(input, v)) fail(method, `inPlace: ${name} shares memory with the input, which the gradient overwrites; pass a copy`);
      }
    }
    return { gradOutput, inPlace };
  }

  /**
   * The backend's gradient spec. A half input's in-place gradient is computed into a float32
   * result and then rounded over the input (tensor's `into`), so the backend never writes in place.
   */
  function backendInPlace(x: F32Data, inPlace: boolean): boolean {
    return inPlace && dtypeOf(x) === 'float32';
  }

  /** Runs a row loss (ce, ceProb, nll, entropy): per row for 'none', reduced, or with its gradient. */
  async function rows(job: RowJob, reduction: Reduction, outShape: number[], inShape: readonly number[], o: Opts): Promise<unknown> {
    job.device = outputOf(job.method, o.output);
    const d = dtypeFor(job.method, o, job.x);
    const g = gradOf(job.method, o, reduction, outShape, job.x, { target: job.target ?? job.prob });
    if (numel(inShape) === 0) {
      const loss = reduction === 'none' ? await tensor(empty(job.method, job.device), outShape, d) : ROW_OPS[job.op].finish(job, new Array<number>(ROW_OPS[job.op].records(job)).fill(0), reduction);
      if (!g) return loss;
      return { loss, grad: g.inPlace ? inputTensor(job.x, inShape) : await tensor(empty(job.method, job.device), inShape, d) };
    }
    if (g) {
      const res = await backend.rowGrad(job, { reduction, scale: rowGradScale(job, reduction, g.gradOutput), inPlace: backendInPlace(job.x, g.inPlace) });
      const loss = reduction === 'none' ? await tensor(res.losses!, outShape, d) : ROW_OPS[job.op].finish(job, res.sums!, reduction);
      return { loss, grad: await tensor(res.grad, inShape, d, g.inPlace ? job.x : undefined) };
    }
    if (reduction === 'none') return tensor(await backend.rowLosses(job), outShape, d);
    return ROW_OPS[job.op].finish(job, await backend.rowSums(job), reduction);
  }

  async function elements(job: ElementJob, reduction: Reduction, shape: readonly number[], o: Opts): Promise<unknown> {
    job.device = outputOf(job.method, o.output);
    const d = dtypeFor(job.method, o, job.x);
    const g = gradOf(job.method, o, reduction, shape, job.x, { target: job.t });
    if (job.n === 0) {
      const loss = reduction === 'none' ? await tensor(empty(job.method, job.device), shape, d) : finishElements(0, reduction, shape);
      if (!g) return loss;
      return { loss, grad: g.inPlace ? inputTensor(job.x, shape) : await tensor(empty(job.method, job.device), shape, d) };
    }
    if (g) {
      const res = await backend.elementGrad(job, { reduction, scale: elementGradScale(reduction, shape, g.gradOutput), inPlace: backendInPlace(job.x, g.inPlace) });
      const loss = reduction === 'none' ? await tensor(res.losses!, shape, d) : finishElements(res.sums![0], reduction, shape);
      return { loss, grad: await tensor(res.grad, shape, d, g.inPlace ? job.x : undefined) };
    }
    if (reduction === 'none') return tensor(await backend.elementwise(job), shape, d);
    return finishElements(await backend.elementSum(job), reduction, shape);
  }

  /** softmax, logSoftmax and their backward passes: one output per element. */
  async function normalize(method: RowOp & MethodName, x: unknown, dy: unknown, options: unknown): Promise<unknown> {
    const o = optionsFor(method, options);
    const backward = method.endsWith('Backward');
    const t = floatTensor(method, backward ? 'y' : 'x', x);
    const layout = layoutOf(t.shape, dimOf(method, o.dim, t.shape.length));
    const job: RowJob = {
      method, op: method, x: t.data, layout, ignoreIndex: -100, eps: 0,
      prob: backward ? floatTarget(method, dy, t.shape, 'dy') : undefined,
      device: outputOf(method, o.output),
    };
    const d = dtypeFor(method, o, t.data);
    if (numel(t.shape) === 0) return tensor(empty(method, job.device === true), t.shape, d);
    return tensor(await backend.normalize(job), t.shape, d);
  }

  /** input of a class-dim loss: (C), (N, C) or (N, C, d1, …); returns its layout along dim 1 (dim 0 for 1-D). */
  function classInput(method: string, input: unknown) {
    const t = floatTensor(method, 'input', input);
    if (t.shape.length === 0) fail(method, 'input must have a class dim: shape (C), (N, C) or (N, C, d1, …)');
    const dim = t.shape.length === 1 ? 0 : 1;
    const layout = layoutOf(t.shape, dim);
    if (layout.C === 0) fail(method, `input.shape[${dim}] = 0: there must be at least one class`);
    return { ...t, layout, outShape: dropDim(t.shape, dim) };
  }

  /** The arguments every class-dim loss shares. */
  function classLoss(method: 'crossEntropy' | 'nllLoss', input: unknown, o: Opts) {
    const x = classInput(method, input);
    return {
      x,
      reduction: reductionFor(method, o),
      weight: classWeight(method, o.weight, x.layout.C),
      ignoreIndex: ignoreIndexOf(method, o.ignoreIndex),
    };
  }

  function elementJob(method: string, op: ElementOp, input: unknown, target: unknown, weight: unknown) {
    const t = floatTensor(method, 'input', input);
    const w = elementWeight(method, 'weight', weight, t.shape);
    const job: ElementJob = {
      method, op, x: t.data, t: floatTarget(method, target, t.shape), n: numel(t.shape), weight: w?.data, weightDiv: w?.div,
    };
    return { job, shape: t.shape };
  }

  /** A (rows, cols) float operand of linearCrossEntropy. */
  function matrix(method: string, arg: string, t: unknown) {
    const m = floatTensor(method, arg, t);
    if (m.shape.length !== 2) fail(method, `${arg} must have 2 dims, got shape [${m.shape.join(', ')}]`);
    return m;
  }

  /** Zeros as a result of dtype `d` (the gradient of a head that saw no rows). */
  async function zeros(method: string, shape: readonly number[], d: Dtype, device: boolean) {
    const n = numel(shape);
    if (!device) return tensor(new Float32Array(n), shape, d);
    if (!backend.device) fail(method, `output 'device' needs the webgpu backend; this one is ${backend.kind}`);
    return tensor(backend.device.createBuffer({ size: Math.max(16, Math.ceil(n / 4) * 16), usage: STORAGE | COPY_SRC | COPY_DST }), shape, d);
  }

  /**
   * A 'mean' over host labels without class weights divides by the count of non-ignored rows,
   * known before any logit: a constant, so the backend needs one sweep over the logits, not two.
   * f32(1/count) is what the sums would give while the count is exact in float32 (< 2^24).
   */
  function knownScale(scale: GradScale, target: I32Data, ignoreIndex: number): GradScale {
    if (scale.kind !== 'sum' || !(target instanceof Int32Array) || target.length >= 2 ** 24) return scale;
    let count = 0;
    for (let i = 0; i < target.length; i++) if (target[i] !== ignoreIndex) count++;
    return { kind: 'const', value: Math.fround(1 / count) };
  }

  const losses: Losses = {
    backend: backend.kind,
    fallbackReason,
    get profile() { return backend.profile; },
    get device() { return backend.device; },
    stats: backend.stats && (() => backend.stats!()),

    softmax: guard('softmax', (x: unknown, options?: unknown) => normalize('softmax', x, undefined, options)),
    logSoftmax: guard('logSoftmax', (x: unknown, options?: unknown) => normalize('logSoftmax', x, undefined, options)),
    softmaxBackward: guard('softmaxBackward', (y: unknown, dy: unknown, options?: unknown) => normalize('softmaxBackward', y, dy, options)),
    logSoftmaxBackward: guard('logSoftmaxBackward', (y: unknown, dy: unknown, options?: unknown) => normalize('logSoftmaxBackward', y, dy, options)),

    sigmoid: guard('sigmoid', async (x: unknown, options?: unknown) => {
      const o = optionsFor('sigmoid', options);
      const t = floatTensor('sigmoid', 'x', x);
      const job: ElementJob = { method: 'sigmoid', op: 'sigmoid', x: t.data, n: numel(t.shape) };
      return elements(job, 'none', t.shape, { output: o.output, outputDtype: o.outputDtype });
    }),

    crossEntropy: guard('crossEntropy', async (input: unknown, target: unknown, options?: unknown) => {
      const m = 'crossEntropy' as const;
      const o = optionsFor(m, options);
      const { x, reduction, weight, ignoreIndex } = classLoss(m, input, o);
      const eps = smoothingOf(m, o.labelSmoothing);
      const extras = {
        zLoss: numberOption(m, 'zLoss', o.zLoss, 0, '≥ 0', (v) => v >= 0),
        softcap: numberOption(m, 'softcap', o.softcap, 0, '> 0', (v) => v > 0),
        gamma: numberOption(m, 'focalGamma', o.focalGamma, 0, '≥ 0', (v) => v >= 0),
      };
      if (o.focalGamma !== undefined && eps > 0) fail(m, 'focalGamma cannot be combined with labelSmoothing');
      let job: RowJob;
      if (looksLikeIndices(target)) {
        const idx = checkIndices(m, indexTarget(m, target, x.outShape), x.layout.C, ignoreIndex);
        job = { method: m, op: 'ce', x: x.data, layout: x.layout, target: idx, weight, ignoreIndex, eps, ...extras };
      } else {
        if (o.focalGamma !== undefined) fail(m, 'focalGamma needs class-index targets (an Int32Array), not probabilities');
        job = { method: m, op: 'ceProb', x: x.data, layout: x.layout, prob: floatTarget(m, target, x.shape), weight, ignoreIndex, eps, ...extras };
      }
      return rows(job, reduction, x.outShape, x.shape, o);
    }),

    nllLoss: guard('nllLoss', async (input: unknown, target: unknown, options?: unknown) => {
      const m = 'nllLoss' as const;
      const o = optionsFor(m, options);
      const { x, reduction, weight, ignoreIndex } = classLoss(m, input, o);
      const idx = checkIndices(m, indexTarget(m, target, x.outShape), x.layout.C, ignoreIndex);
      const job: RowJob = { method: m, op: 'nll', x: x.data, layout: x.layout, target: idx, weight, ignoreIndex, eps: 0 };
      return rows(job, reduction, x.outShape, x.shape, o);
    }),

    binaryCrossEntropy: guard('binaryCrossEntropy', async (input: unknown, target: unknown, options?: unknown) => {
      const m = 'binaryCrossEntropy' as const;
      const o = optionsFor(m, options);
      const reduction = reductionFor(m, o);
      const { job, shape } = elementJob(m, 'bce', input, target, o.weight);
      if (!isDevice(job.x)) {
        const x = job.x instanceof Half ? job.x.bits : job.x, table = job.x instanceof Half ? decodeTable(job.x.dtype) : undefined;
        for (let i = 0; i < x.length; i++) {
          const v = table ? table[x[i]] : x[i];
          if (!(v >= 0 && v <= 1)) fail(m, `input[${i}] = ${v} is outside [0, 1]`);
        }
      }
      return elements(job, reduction, shape, o);
    }),

    binaryCrossEntropyWithLogits: guard('binaryCrossEntropyWithLogits', async (input: unknown, target: unknown, options?: unknown) => {
      const m = 'binaryCrossEntropyWithLogits' as const;
      const o = optionsFor(m, options);
      const reduction = reductionFor(m, o);
      const { job, shape } = elementJob(m, 'bceLogits', input, target, o.weight);
      const pw = o.posWeight;
      if (pw !== undefined) {
        const last = shape.length === 0 ? 1 : shape[shape.length - 1];
        if (!isF32(pw)) fail(m, `posWeight must be a Float32Array of length ${last} (the last dim) or 1, got ${show(pw)}`);
        if (pw.length !== last && pw.length !== 1) fail(m, `posWeight has length ${pw.length}, expected the last dim ${last} (or 1)`);
        job.posWeight = pw;
      }
      return elements(job, reduction, shape, o);
    }),

    klDiv: guard('klDiv', async (input: unknown, target: unknown, options?: unknown) => {
      const m = 'klDiv' as const;
      const o = optionsFor(m, options);
      const reduction = reductionFor(m, o);
      const logTarget = booleanOf(m, 'logTarget', o.logTarget);
      const { job, shape } = elementJob(m, logTarget ? 'klLog' : 'kl', input, target, undefined);
      return elements(job, reduction, shape, o);
    }),

    sigmoidFocalLoss: guard('sigmoidFocalLoss', async (input: unknown, target: unknown, options?: unknown) => {
      const m = 'sigmoidFocalLoss' as const;
      const o = optionsFor(m, options);
      const reduction = reductionFor(m, o);
      const { job, shape } = elementJob(m, 'sigmoidFocal', input, target, undefined);
      job.alpha = numberOption(m, 'alpha', o.alpha, 0.25, 'finite', () => true);
      job.gamma = numberOption(m, 'gamma', o.gamma, 2, '≥ 0', (v) => v >= 0);
      return elements(job, reduction, shape, o);
    }),

    entropy: guard('entropy', async (logits: unknown, options?: unknown) => {
      const m = 'entropy' as const;
      const o = optionsFor(m, options);
      const t = floatTensor(m, 'logits', logits);
      const dim = dimOf(m, o.dim, t.shape.length);
      const reduction = reductionFor(m, o);
      const layout = layoutOf(t.shape, dim);
      if (layout.C === 0) fail(m, `logits.shape[${dim}] = 0: a distribution needs at least one category`);
      const job: RowJob = { method: m, op: 'entropy', x: t.data, layout, ignoreIndex: -100, eps: 0 };
      return rows(job, reduction, dropDim(t.shape, dim), t.shape, { output: o.output, outputDtype: o.outputDtype });
    }),

    linearCrossEntropy: guard('linearCrossEntropy', async (hidden: unknown, weight: unknown, target: unknown, options?: unknown) => {
      const m = 'linearCrossEntropy' as const;
      const o = optionsFor(m, options);
      const h = matrix(m, 'hidden', hidden), w = matrix(m, 'weight', weight);
      const [N, D] = h.shape, [V] = w.shape;
      if (w.shape[1] !== D) fail(m, `weight has shape [${w.shape.join(', ')}]: it must be (V, D) with D = ${D}, hidden's dim 1 (nn.Linear's layout)`);
      if (V === 0) fail(m, 'weight.shape[0] = 0: there must be at least one class');
      const reduction = reductionFor(m, o);
      const ignoreIndex = ignoreIndexOf(m, o.ignoreIndex);
      if (!looksLikeIndices(target)) fail(m, `target must hold class indices (an Int32Array or BigInt64Array of length N = ${N}, or an index tensor), got ${show(target)}`);
      const t = checkIndices(m, indexTarget(m, target, [N]), V, ignoreIndex);
      const bias = o.bias === undefined ? undefined : floatTarget(m, o.bias, [V], 'bias');
      const job: LinearJob = {
        method: m, hidden: h.data, weight: w.data, bias, N, D, V, target: t, ignoreIndex,
        eps: smoothingOf(m, o.labelSmoothing),
        zLoss: numberOption(m, 'zLoss', o.zLoss, 0, '≥ 0', (v) => v >= 0),
        softcap: numberOption(m, 'softcap', o.softcap, 0, '> 0', (v) => v > 0),
        device: outputOf(m, o.output),
      };
      const dh = dtypeFor(m, o, h.data), dw = dtypeFor(m, o, w.data), db = bias && dtypeFor(m, o, bias);
      const g = gradOf(m, o, reduction, [N], h.data, {});
      const rows = linearRows(job, undefined, N, t);
      const device = job.device === true;
      if (N === 0) {
        const loss = reduction === 'none' ? await tensor(empty(m, device), [0], dh) : ROW_OPS.ce.finish(rows, new Array<number>(ROW_OPS.ce.records(rows)).fill(0), reduction);
        if (!g) return loss;
        const grad = { hidden: await tensor(empty(m, device), [0, D], dh), weight: await zeros(m, [V, D], dw, device), ...(db ? { bias: await zeros(m, [V], db, device) } : {}) };
        return { loss, grad };
      }
      const res = await backend.linear(job, { reduction, grad: g && knownScale(rowGradScale(rows, reduction, g.gradOutput), t, ignoreIndex) });
      const loss = reduction === 'none' ? await tensor(res.losses!, [N], dh) : ROW_OPS.ce.finish(rows, res.sums!, reduction);
      if (!g) return loss;
      const r = res.grad!;
      const grad = { hidden: await tensor(r.hidden, [N, D], dh), weight: await tensor(r.weight, [V, D], dw), ...(db ? { bias: await tensor(r.bias!, [V], db) } : {}) };
      return { loss, grad };
    }),

    evaluator(options?: unknown) {
      try {
        if (disposed) fail('evaluator', 'this Losses object was disposed');
        return createEvaluator(options, (ks, bins) => (backend.evalEngine ? backend.evalEngine(ks, bins) : cpuEngine(ks, bins)));
      } catch (err) {
        throw asLossError('evaluator', err);
      }
    },

    dispose() {
      if (disposed) return;
      disposed = true;
      backend.dispose();
    },
  };
  return losses;
}
