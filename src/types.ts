/** Public types of webgpu-losses: tensors, options, results and the Losses interface. */
import type { FloatDtype, HalfDtype } from './dtype.js';
import type { AdapterProfile } from './plan.js';

export type { AdapterProfile, FloatDtype, HalfDtype };

/**
 * WebGPU types without requiring them. TypeScript's lib.dom (5.9) has no GPUBuffer, GPU or
 * GPUDevice, so naming them bare breaks every strict consumer without WebGPU types (TS2304). The
 * alternative, TF.js's `/// <reference types="@webgpu/types" />`, makes @webgpu/types a hard
 * dependency of every consumer's compile (TS2688 where it is not installed) and pushes its globals
 * into programs that never asked for them. Instead, ONNX Runtime's way: look the constructor up on
 * `typeof globalThis` and take its `prototype`. Where the program has WebGPU types (@webgpu/types,
 * which the `webgpu` package brings, or a future lib.dom) the result is exactly their GPUBuffer,
 * GPU and GPUDevice; elsewhere it is a small structural stand-in with the members a caller uses,
 * never `any`.
 */
type GlobalType<Name extends string, Fallback> =
  typeof globalThis extends { readonly [K in Name]: { prototype: infer T } } ? T : Fallback;
/** `GPUBuffer` where WebGPU types exist. */
type WebGpuBuffer = GlobalType<'GPUBuffer', { readonly size: number; readonly usage: number; destroy(): void }>;
/** `GPUDevice` where WebGPU types exist. */
type WebGpuDevice = GlobalType<'GPUDevice', { readonly queue: object; destroy(): void }>;
/** `GPU` (`navigator.gpu`) where WebGPU types exist. */
type WebGpu = GlobalType<'GPU', { requestAdapter(options?: object): Promise<object | null> }>;
/** `Float16Array` where the program's lib has it (ES2025 / esnext.float16); never matched elsewhere. */
type Float16ArrayType = GlobalType<'Float16Array', never>;

/** A row-major float32 tensor in host memory. */
export interface HostTensor {
  data: Float32Array;
  shape: readonly number[];
}

/**
 * A row-major half-precision tensor in host memory: the raw bits of IEEE binary16 ('float16') or
 * bfloat16 values. Every value is decoded exactly to float32 before any arithmetic.
 */
export interface HalfTensor {
  data: Uint16Array;
  shape: readonly number[];
  dtype: HalfDtype;
}

/** A float16 tensor as a `Float16Array` (where the runtime has one); treated as a HalfTensor. */
export interface Float16Tensor {
  data: Float16ArrayType;
  shape: readonly number[];
  dtype?: 'float16';
}

/** A row-major tensor of class indices in host memory: int32, or int64 as exported by PyTorch and ONNX. */
export interface IndexTensor {
  data: Int32Array | BigInt64Array;
  shape: readonly number[];
}

export type DeviceDtype = FloatDtype | 'int32' | 'int64';

/**
 * A tensor that already lives on the GPU (WebGPU backend only); read in place, never copied.
 * Elements are packed (2 bytes for float16/bfloat16, 8 little-endian bytes for int64); the buffer
 * needs STORAGE usage and at least the elements' bytes rounded up to a multiple of 4.
 */
export interface DeviceTensor {
  buffer: WebGpuBuffer;
  shape: readonly number[];
  /** Default 'float32'. */
  dtype?: DeviceDtype;
}

/** A float input: float32, float16 or bfloat16, host or device. */
export type TensorInput = HostTensor | HalfTensor | Float16Tensor | DeviceTensor;
/** Class-index targets: a bare Int32Array or BigInt64Array (shape implied by the input) or a tensor. */
export type IndexTarget = Int32Array | BigInt64Array | IndexTensor | DeviceTensor;
/** Float targets: a bare Float32Array (or Float16Array) whose length matches the input, or a tensor. */
export type FloatTarget = Float32Array | Float16ArrayType | TensorInput;

export type Reduction = 'none' | 'mean' | 'sum';

/** Where per-element results go: host arrays (default) or device buffers the caller owns. */
export interface OutputOptions {
  output?: 'host' | 'device';
  /**
   * The dtype of per-element results and gradients; default the input's (PyTorch's rule), rounded
   * to nearest even. Reduced losses are always a float32-accumulated number.
   */
  outputDtype?: FloatDtype;
}

/** Gradients of a loss with respect to its input (PyTorch autograd semantics). */
export interface GradOptions {
  /** Also compute d(loss)/d(input); the loss then resolves to `{ loss, grad }`. */
  grad?: boolean;
  /** Upstream gradient for reduction 'none', with the loss's shape. Default all ones. */
  gradOutput?: FloatTarget;
  /** Write the gradient over the input (its data or its buffer), which the result then returns. */
  inPlace?: boolean;
}

export interface SoftmaxOptions extends OutputOptions {
  /** The dimension to normalise over; negative counts from the end. Default -1. */
  dim?: number;
}

export interface CrossEntropyOptions extends GradOptions, OutputOptions {
  /** Per-class weights, length C. */
  weight?: Float32Array;
  /** Class index whose targets contribute nothing (index targets only). Default -100. */
  ignoreIndex?: number;
  /** In [0, 1]. Default 0. */
  labelSmoothing?: number;
  /** z-loss (PaLM): each non-ignored row's loss gains s·lse(row)²; 'mean' divides Σz by the non-ignored row count. s ≥ 0, default 0. */
  zLoss?: number;
  /** Logit softcap (Gemma 2): the logits become c·tanh(x/c) before anything else. c > 0; default none. */
  softcap?: number;
  /** Focal loss: each non-ignored row's loss is −w_t·(1 − p_t)^γ·log p_t (γ = 0 is cross-entropy). Index targets only, not with labelSmoothing. */
  focalGamma?: number;
  reduction?: Reduction;
}

/** linearCrossEntropy: crossEntropy's options, on the logits hidden·weightᵀ + bias. */
export interface LinearCrossEntropyOptions extends OutputOptions {
  /** The head's bias, length V: a Float32Array (or Float16Array), or a tensor of shape (V). */
  bias?: FloatTarget;
  /** Class index whose targets contribute nothing. Default -100. */
  ignoreIndex?: number;
  /** In [0, 1]. Default 0. */
  labelSmoothing?: number;
  /** z-loss coefficient s ≥ 0, as crossEntropy's. Default 0. */
  zLoss?: number;
  /** Logit softcap c > 0, as crossEntropy's. Default none. */
  softcap?: number;
  reduction?: Reduction;
  /** Also compute the gradients of hidden, weight and bias; the loss then resolves to `{ loss, grad }`. */
  grad?: boolean;
  /** Upstream gradient for reduction 'none', shape (N). Default all ones. */
  gradOutput?: FloatTarget;
}

export interface SigmoidFocalLossOptions extends GradOptions, OutputOptions {
  /** Weight of the positive class, α·t + (1 − α)·(1 − t); a negative α disables it. Default 0.25. */
  alpha?: number;
  /** Focusing exponent γ ≥ 0. Default 2. */
  gamma?: number;
  /** Default 'mean' (torchvision's default is 'none'). */
  reduction?: Reduction;
}

export interface NllLossOptions extends GradOptions, OutputOptions {
  weight?: Float32Array;
  ignoreIndex?: number;
  reduction?: Reduction;
}

export interface BceOptions extends GradOptions, OutputOptions {
  /** Element weights, broadcast from the right (a bare array covers the trailing dims whose product is its length). */
  weight?: Float32Array | HostTensor;
  reduction?: Reduction;
}

export interface BceWithLogitsOptions extends BceOptions {
  /** Weight of the positive term, broadcast along the last dim (length = last dim, or 1). */
  posWeight?: Float32Array;
}

export interface KlDivOptions extends GradOptions, OutputOptions {
  reduction?: Reduction | 'batchmean';
  /** The target holds log-probabilities. Default false. */
  logTarget?: boolean;
}

export interface EntropyOptions extends OutputOptions {
  dim?: number;
  /** Default 'none'. */
  reduction?: Reduction;
}

/*
 * Result types follow the options' types: an option that is a literal (`{ grad: true }`, `{ reduction:
 * 'none' }`, `{ output: 'device' }`) gives one result type; an option whose type is wider (`grad:
 * boolean`, `reduction: Reduction`, an options variable typed `CrossEntropyOptions`) gives the union
 * of the results it may produce, so the type never claims less than the value can be.
 */

/** The values option `K` may take in options `O`, with `D` standing for an absent or undefined key. */
type OptionValue<O, K extends string, D> = O extends unknown ? (K extends keyof O ? Defaulted<O[K], D> : D) : never;
type Defaulted<V, D> = V extends undefined ? D : V;
/** The dtype of an input's per-element results: its own (float32 when it names none). */
type InputDtype<X> = X extends { data: Float16ArrayType } ? 'float16' : X extends { dtype?: infer D } ? HalfOr32<D> : 'float32';
type HalfOr32<D> = D extends HalfDtype ? D : 'float32';
/** A host result of dtype `D`: a Float16Array again for a Float16Array input, else raw bits. */
type HostOf<D, X> = D extends 'float32' ? HostTensor
  : D extends 'float16' ? (X extends { data: Float16ArrayType } ? Float16Tensor : HalfTensor) : HalfTensor;
type OutputTensor<Output, D, X> = Output extends 'device' ? DeviceTensor : HostOf<D, X>;
type ReducedTo<O, R, X> = R extends 'none' ? TensorResult<O, X> : number;
type WithGrad<O, Grad, Loss, X> = Grad extends true ? { loss: Loss; grad: TensorResult<O, X> } : Loss;

/**
 * A per-element result: a host tensor, or a device tensor with `output: 'device'`, of the input
 * `X`'s dtype unless `outputDtype` says otherwise.
 */
export type TensorResult<O, X = HostTensor> = O extends unknown
  ? OutputTensor<OptionValue<O, 'output', 'host'>, OptionValue<O, 'outputDtype', InputDtype<X>>, X>
  : never;
/** A reduction's result: a tensor for reduction 'none', else a number; `D` is the method's default reduction. */
export type ReducedResult<O, D extends string = 'mean', X = HostTensor> = O extends unknown ? ReducedTo<O, OptionValue<O, 'reduction', D>, X> : never;
/** What a loss resolves to: a number, a tensor for reduction 'none', `{ loss, grad }` with `grad: true`. */
export type LossResult<O, D extends string = 'mean', X = HostTensor> = O extends unknown
  ? WithGrad<O, OptionValue<O, 'grad', false>, ReducedResult<O, D, X>, X>
  : never;

type BiasOf<O> = O extends { bias: infer B } ? (B extends TensorInput ? B : B extends Float16ArrayType ? Float16Tensor : HostTensor) : HostTensor;
/** The gradients of linearCrossEntropy, each of its operand's shape and (unless outputDtype says otherwise) dtype. */
export interface LinearGradients<O, H = HostTensor, W = HostTensor> {
  hidden: TensorResult<O, H>;
  weight: TensorResult<O, W>;
  /** Present when a bias was given. */
  bias?: TensorResult<O, BiasOf<O>>;
}
type WithLinearGrad<O, Grad, Loss, H, W> = Grad extends true ? { loss: Loss; grad: LinearGradients<O, H, W> } : Loss;
/** What linearCrossEntropy resolves to: a number, a tensor for reduction 'none', `{ loss, grad }` with `grad: true`. */
export type LinearCrossEntropyResult<O, H = HostTensor, W = HostTensor> = O extends unknown
  ? WithLinearGrad<O, OptionValue<O, 'grad', false>, ReducedResult<O, 'mean', H>, H, W>
  : never;

export interface EvaluatorOptions {
  /** Rows whose label is this are left out of every metric but `rows`. Default -100. */
  ignoreIndex?: number;
  /** Extra top-k accuracies: each k (an integer ≥ 1) adds a key `top${k}`. Default none. */
  topK?: readonly number[];
  /** Equal-width confidence bins of `ece`: (i/B, (i+1)/B]. Default 15. */
  calibrationBins?: number;
  /** Sigmoid outputs: logits (N) or (N, 1) with 0/1 labels; metrics bce, accuracy (at 0.5), ece, brier. Default false. */
  binary?: boolean;
}

/** What `add` may also return: each row's loss and the rank of its target (0 = the top class). */
export interface EvaluatorAddOptions extends OutputOptions {
  perRow?: boolean;
}

/**
 * Metrics over the non-ignored rows seen so far (`rows` counts all). Classes: `crossEntropy`,
 * `perplexity`, `accuracy`, `top${k}`, `entropy`, `ece`, `brier`; binary: `bce`, `accuracy`, `ece`, `brier`.
 */
export type EvaluationResult = { rows: number; count: number } & Record<string, number>;

/** A streaming evaluator: batches in, every metric out of one pass per batch and one readback. */
export interface Evaluator {
  /** Adds a batch: logits (N, C) or (N, C, d1, …) and class indices (or 0/1 labels when binary). */
  add(logits: TensorInput, labels: IndexTarget | FloatTarget, options?: EvaluatorAddOptions): Promise<undefined | { loss: HostTensor | DeviceTensor; rank: IndexTensor | DeviceTensor }>;
  /** The metrics so far (the evaluator stays usable). */
  result(): Promise<EvaluationResult>;
  dispose(): void;
}

export interface CreateLossesOptions {
  backend?: 'auto' | 'webgpu' | 'cpu';
  /** A `GPU` object (`navigator.gpu`, or `create([])` from the `webgpu` package in Node). */
  gpu?: WebGpu;
  /** An existing device to share with the app; the library never destroys it. */
  device?: WebGpuDevice;
  /**
   * Largest storage binding (bytes) the dispatcher will bind; defaults to the device limit.
   * Lower it to make the dispatcher split batches into chunks (tests use this).
   */
  maxBindingBytes?: number;
  /**
   * Largest buffer (bytes) the library creates; defaults to the device's `maxBufferSize`. Host
   * inputs larger than this are streamed through the device in whole rows (tests lower it).
   */
  maxBufferBytes?: number;
  /**
   * Testing aid. On the CPU backend: execute the plans that the WebGPU dispatcher picks for this
   * adapter profile (the GPU tests' oracle). On the WebGPU backend: plan as if the adapter had this
   * profile (to reach every kernel family on one adapter).
   */
  profile?: AdapterProfile;
  /** Testing aid: fill every output and scratch buffer with NaN before each run. */
  poison?: boolean;
}

/** The loss library bound to one backend. Every method is async. */
export interface Losses {
  readonly backend: 'webgpu' | 'cpu';
  /**
   * Why `backend: 'auto'` runs on the CPU: what was missing or failed on the way to WebGPU (no
   * `navigator.gpu` and no `gpu` option, no adapter, the device request rejected, …). Undefined when
   * the backend is WebGPU or 'cpu' was asked for.
   */
  readonly fallbackReason?: string;
  /** The adapter profile the WebGPU dispatcher plans with (undefined on the CPU). */
  readonly profile?: AdapterProfile;
  /** The GPUDevice in use (WebGPU backend): a new one after the loss of a device the library created. */
  readonly device?: WebGpuDevice;
  /** Buffer pool counters (WebGPU backend): idle pooled buffers and bytes, buffers in use. */
  stats?(): { pooledBuffers: number; pooledBytes: number; liveBuffers: number };
  softmax<O extends SoftmaxOptions = {}, X extends TensorInput = TensorInput>(x: X, options?: O): Promise<TensorResult<O, X>>;
  logSoftmax<O extends SoftmaxOptions = {}, X extends TensorInput = TensorInput>(x: X, options?: O): Promise<TensorResult<O, X>>;
  /** The vector-Jacobian product of softmax: dx = y·(dy − Σ y·dy) along `dim`, given y = softmax(x). */
  softmaxBackward<O extends SoftmaxOptions = {}, X extends TensorInput = TensorInput>(y: X, dy: FloatTarget, options?: O): Promise<TensorResult<O, X>>;
  /** The vector-Jacobian product of log-softmax: dx = dy − e^y·Σ dy along `dim`, given y = logSoftmax(x). */
  logSoftmaxBackward<O extends SoftmaxOptions = {}, X extends TensorInput = TensorInput>(y: X, dy: FloatTarget, options?: O): Promise<TensorResult<O, X>>;
  sigmoid<O extends OutputOptions = {}, X extends TensorInput = TensorInput>(x: X, options?: O): Promise<TensorResult<O, X>>;
  crossEntropy<O extends CrossEntropyOptions = {}, X extends TensorInput = TensorInput>(input: X, target: IndexTarget | FloatTarget, options?: O): Promise<LossResult<O, 'mean', X>>;
  nllLoss<O extends NllLossOptions = {}, X extends TensorInput = TensorInput>(input: X, target: IndexTarget, options?: O): Promise<LossResult<O, 'mean', X>>;
  binaryCrossEntropy<O extends BceOptions = {}, X extends TensorInput = TensorInput>(input: X, target: FloatTarget, options?: O): Promise<LossResult<O, 'mean', X>>;
  binaryCrossEntropyWithLogits<O extends BceWithLogitsOptions = {}, X extends TensorInput = TensorInput>(input: X, target: FloatTarget, options?: O): Promise<LossResult<O, 'mean', X>>;
  klDiv<O extends KlDivOptions = {}, X extends TensorInput = TensorInput>(input: X, target: FloatTarget, options?: O): Promise<LossResult<O, 'mean', X>>;
  /** torchvision.ops.sigmoid_focal_loss, with 'mean' as the default reduction. */
  sigmoidFocalLoss<O extends SigmoidFocalLossOptions = {}, X extends TensorInput = TensorInput>(input: X, target: FloatTarget, options?: O): Promise<LossResult<O, 'mean', X>>;
  /** Per row by default (reduction 'none'); a number for 'mean' and 'sum'. */
  entropy<O extends EntropyOptions = {}, X extends TensorInput = TensorInput>(logits: X, options?: O): Promise<ReducedResult<O, 'none', X>>;
  /**
   * Cross-entropy of the logits hidden·weightᵀ + bias of an LM head (hidden (N, D), weight (V, D) as
   * nn.Linear stores it, class-index targets (N)) without ever holding the N×V logits: they are
   * made a chunk of rows at a time, folded into each row's loss and, with `grad: true`, turned into
   * the gradients of hidden, weight and bias at once. Same loss and options as crossEntropy.
   */
  linearCrossEntropy<O extends LinearCrossEntropyOptions = {}, H extends TensorInput = TensorInput, W extends TensorInput = TensorInput>(
    hidden: H, weight: W, target: IndexTarget, options?: O): Promise<LinearCrossEntropyResult<O, H, W>>;
  /** A streaming evaluator of classification metrics over many batches (see EvaluationResult). */
  evaluator(options?: EvaluatorOptions): Evaluator;
  /** Frees every GPU resource the library owns (never an app's device). */
  dispose(): void;
}
