/** Public types of webgpu-losses: tensors, options, results and the Losses interface. */
import type { AdapterProfile } from './plan.js';

export type { AdapterProfile };

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

/** A row-major float32 tensor in host memory. */
export interface HostTensor {
  data: Float32Array;
  shape: readonly number[];
}

/** A row-major int32 tensor of class indices in host memory. */
export interface IndexTensor {
  data: Int32Array;
  shape: readonly number[];
}

/** A tensor that already lives on the GPU (WebGPU backend only); read in place, never copied. */
export interface DeviceTensor {
  buffer: WebGpuBuffer;
  shape: readonly number[];
  dtype?: 'float32' | 'int32';
}

/** An input tensor: host or device. */
export type TensorInput = HostTensor | DeviceTensor;
/** Class-index targets: a bare Int32Array (shape implied by the input) or a tensor. */
export type IndexTarget = Int32Array | IndexTensor | DeviceTensor;
/** Float targets: a bare Float32Array whose length matches the input, or a tensor. */
export type FloatTarget = Float32Array | HostTensor | DeviceTensor;

export type Reduction = 'none' | 'mean' | 'sum';

/** Where per-element results go: host arrays (default) or device buffers the caller owns. */
export interface OutputOptions {
  output?: 'host' | 'device';
}

/** Gradients of a loss with respect to its input (PyTorch autograd semantics). */
export interface GradOptions {
  /** Also compute d(loss)/d(input); the loss then resolves to `{ loss, grad }`. */
  grad?: boolean;
  /** Upstream gradient for reduction 'none', with the loss's shape. Default all ones. */
  gradOutput?: Float32Array | HostTensor | DeviceTensor;
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
type OutputTensor<Output> = Output extends 'device' ? DeviceTensor : HostTensor;
type ReducedTo<O, R> = R extends 'none' ? TensorResult<O> : number;
type WithGrad<O, Grad, Loss> = Grad extends true ? { loss: Loss; grad: TensorResult<O> } : Loss;

/** A per-element result: a host tensor, or a device tensor with `output: 'device'`. */
export type TensorResult<O> = OutputTensor<OptionValue<O, 'output', 'host'>>;
/** A reduction's result: a tensor for reduction 'none', else a number; `D` is the method's default reduction. */
export type ReducedResult<O, D extends string = 'mean'> = O extends unknown ? ReducedTo<O, OptionValue<O, 'reduction', D>> : never;
/** What a loss resolves to: a number, a tensor for reduction 'none', `{ loss, grad }` with `grad: true`. */
export type LossResult<O, D extends string = 'mean'> = O extends unknown
  ? WithGrad<O, OptionValue<O, 'grad', false>, ReducedResult<O, D>>
  : never;

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
  softmax<O extends SoftmaxOptions = {}>(x: TensorInput, options?: O): Promise<TensorResult<O>>;
  logSoftmax<O extends SoftmaxOptions = {}>(x: TensorInput, options?: O): Promise<TensorResult<O>>;
  /** The vector-Jacobian product of softmax: dx = y·(dy − Σ y·dy) along `dim`, given y = softmax(x). */
  softmaxBackward<O extends SoftmaxOptions = {}>(y: TensorInput, dy: FloatTarget, options?: O): Promise<TensorResult<O>>;
  /** The vector-Jacobian product of log-softmax: dx = dy − e^y·Σ dy along `dim`, given y = logSoftmax(x). */
  logSoftmaxBackward<O extends SoftmaxOptions = {}>(y: TensorInput, dy: FloatTarget, options?: O): Promise<TensorResult<O>>;
  sigmoid<O extends OutputOptions = {}>(x: TensorInput, options?: O): Promise<TensorResult<O>>;
  crossEntropy<O extends CrossEntropyOptions = {}>(input: TensorInput, target: IndexTarget | FloatTarget, options?: O): Promise<LossResult<O>>;
  nllLoss<O extends NllLossOptions = {}>(input: TensorInput, target: IndexTarget, options?: O): Promise<LossResult<O>>;
  binaryCrossEntropy<O extends BceOptions = {}>(input: TensorInput, target: FloatTarget, options?: O): Promise<LossResult<O>>;
  binaryCrossEntropyWithLogits<O extends BceWithLogitsOptions = {}>(input: TensorInput, target: FloatTarget, options?: O): Promise<LossResult<O>>;
  klDiv<O extends KlDivOptions = {}>(input: TensorInput, target: FloatTarget, options?: O): Promise<LossResult<O>>;
  /** torchvision.ops.sigmoid_focal_loss, with 'mean' as the default reduction. */
  sigmoidFocalLoss<O extends SigmoidFocalLossOptions = {}>(input: TensorInput, target: FloatTarget, options?: O): Promise<LossResult<O>>;
  /** Per row by default (reduction 'none'); a number for 'mean' and 'sum'. */
  entropy<O extends EntropyOptions = {}>(logits: TensorInput, options?: O): Promise<ReducedResult<O, 'none'>>;
  /** Frees every GPU resource the library owns (never an app's device). */
  dispose(): void;
}
