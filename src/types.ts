/** Public types of webgpu-losses (see DESIGN.md §2). */
import type { AdapterProfile } from './plan.js';

export type { AdapterProfile };

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
  buffer: GPUBuffer;
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

export interface SoftmaxOptions {
  /** The dimension to normalise over; negative counts from the end. Default -1. */
  dim?: number;
}

export interface CrossEntropyOptions {
  /** Per-class weights, length C. */
  weight?: Float32Array;
  /** Class index whose targets contribute nothing (index targets only). Default -100. */
  ignoreIndex?: number;
  /** In [0, 1]. Default 0. */
  labelSmoothing?: number;
  reduction?: Reduction;
}

export interface NllLossOptions {
  weight?: Float32Array;
  ignoreIndex?: number;
  reduction?: Reduction;
}

export interface BceOptions {
  /** Element weights, broadcast from the right (a bare array covers the trailing dims whose product is its length). */
  weight?: Float32Array | HostTensor;
  reduction?: Reduction;
}

export interface BceWithLogitsOptions extends BceOptions {
  /** Weight of the positive term, broadcast along the last dim (length = last dim, or 1). */
  posWeight?: Float32Array;
}

export interface KlDivOptions {
  reduction?: Reduction | 'batchmean';
  /** The target holds log-probabilities. Default false. */
  logTarget?: boolean;
}

export interface EntropyOptions {
  dim?: number;
  /** Default 'none'. */
  reduction?: Reduction;
}

export interface CreateLossesOptions {
  backend?: 'auto' | 'webgpu' | 'cpu';
  /** A `GPU` object (`navigator.gpu`, or `create([])` from the `webgpu` package in Node). */
  gpu?: GPU;
  /** An existing device to share with the app; the library never destroys it. */
  device?: GPUDevice;
  /**
   * Largest storage binding (bytes) the dispatcher will bind; defaults to the device limit.
   * Lower it to make the dispatcher split batches into chunks (tests use this).
   */
  maxBindingBytes?: number;
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
  /** The adapter profile the WebGPU dispatcher plans with (undefined on the CPU). */
  readonly profile?: AdapterProfile;
  /** The GPUDevice in use (WebGPU backend): a new one after the loss of a device the library created. */
  readonly device?: GPUDevice;
  /** Buffer pool counters (WebGPU backend): idle pooled buffers and bytes, buffers in use. */
  stats?(): { pooledBuffers: number; pooledBytes: number; liveBuffers: number };
  softmax(x: TensorInput, options?: SoftmaxOptions): Promise<HostTensor>;
  logSoftmax(x: TensorInput, options?: SoftmaxOptions): Promise<HostTensor>;
  sigmoid(x: TensorInput): Promise<HostTensor>;
  crossEntropy(input: TensorInput, target: IndexTarget | FloatTarget, options: CrossEntropyOptions & { reduction: 'none' }): Promise<HostTensor>;
  crossEntropy(input: TensorInput, target: IndexTarget | FloatTarget, options?: CrossEntropyOptions): Promise<number>;
  nllLoss(input: TensorInput, target: IndexTarget, options: NllLossOptions & { reduction: 'none' }): Promise<HostTensor>;
  nllLoss(input: TensorInput, target: IndexTarget, options?: NllLossOptions): Promise<number>;
  binaryCrossEntropy(input: TensorInput, target: FloatTarget, options: BceOptions & { reduction: 'none' }): Promise<HostTensor>;
  binaryCrossEntropy(input: TensorInput, target: FloatTarget, options?: BceOptions): Promise<number>;
  binaryCrossEntropyWithLogits(input: TensorInput, target: FloatTarget, options: BceWithLogitsOptions & { reduction: 'none' }): Promise<HostTensor>;
  binaryCrossEntropyWithLogits(input: TensorInput, target: FloatTarget, options?: BceWithLogitsOptions): Promise<number>;
  klDiv(input: TensorInput, target: FloatTarget, options: KlDivOptions & { reduction: 'none' }): Promise<HostTensor>;
  klDiv(input: TensorInput, target: FloatTarget, options?: KlDivOptions): Promise<number>;
  entropy(logits: TensorInput, options: EntropyOptions & { reduction: 'mean' | 'sum' }): Promise<number>;
  entropy(logits: TensorInput, options?: EntropyOptions): Promise<HostTensor>;
  /** Frees every GPU resource the library owns (never an app's device). */
  dispose(): void;
}
