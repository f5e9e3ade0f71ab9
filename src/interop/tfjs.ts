/**
 * TensorFlow.js interop (`webgpu-losses/tfjs`): a TF.js tensor as an input of this library, with no
 * import of TF.js at run time and typings that need none of its packages (a TF.js tensor satisfies
 * the small structural interface below).
 *
 * Sharing the device: a tensor of TF.js's WebGPU backend lives in a GPUBuffer of that backend's
 * GPUDevice, so the library must run on it. TF.js's own device:
 *
 *   await tf.setBackend('webgpu');
 *   const losses = await createLosses({ backend: 'webgpu', device: (tf.backend() as WebGPUBackend).device });
 *
 * or the app's device (`losses.device`, or one of the app's), given to TF.js by registering its
 * WebGPU backend over it before selecting it (the kernels are registered under the name 'webgpu'):
 *
 *   import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
 *   tf.removeBackend('webgpu');
 *   tf.registerBackend('webgpu', () => new WebGPUBackend(device));
 *   await tf.setBackend('webgpu');
 *
 * TF.js submits its pending work when `dataToGPU()` copies a tensor, so the library's reads are
 * ordered after it on the shared queue.
 */
import { LossError } from '../errors.js';
import type { DeviceTensor, Float16Tensor, HalfTensor, HostTensor, IndexTensor } from '../types.js';

/** What `fromTfjs` uses of a TF.js tensor (`tf.Tensor` satisfies it). */
export interface TfjsTensorLike {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly isDisposed: boolean;
  /** WebGPU backend: a copy of the data in a new GPUBuffer, and the tensor that owns it. */
  dataToGPU(options?: object): { tensorRef: { dispose(): void }; buffer?: unknown; texture?: unknown };
  /** The values, synchronously (used only where they are already in host memory). */
  dataSync(): unknown;
}

/**
 * A TF.js tensor as an input of this library, and how to release it. `tensor` is a device tensor
 * for the WebGPU backend and a host tensor for backends that keep their data in host memory (cpu,
 * wasm); `dispose()` releases what `fromTfjs` took (the GPU copy), and does nothing for a host tensor.
 */
export interface TfjsInput<T> {
  readonly tensor: T;
  dispose(): void;
}

/** What `fromTfjs` gives for a TF.js tensor of dtype `T['dtype']` (a union where it is not known statically). */
export type FromTfjs<T extends TfjsTensorLike> = TfjsInput<T['dtype'] extends 'float32' ? DeviceTensor | HostTensor
  : T['dtype'] extends 'int32' ? DeviceTensor | IndexTensor
  : DeviceTensor | HostTensor | IndexTensor>;

function fail(message: string, cause?: unknown): never {
  throw new LossError(`fromTfjs: ${message}`, cause === undefined ? undefined : { cause });
}

/**
 * A TF.js tensor (float32 logits, probabilities or targets; int32 class indices) as a tensor of this
 * library.
 *
 * - WebGPU backend: `tensor.dataToGPU()` copies the data into a new GPUBuffer on the GPU (TF.js
 *   makes a copy so that its own buffer can be reused; nothing is read back to the host) and gives
 *   `{ buffer, tensorRef }`. The result is `{ tensor: { buffer, shape, dtype }, dispose }`: pass
 *   `tensor` to the library (on TF.js's device, see the file's comment), and call `dispose()` once
 *   the loss call has resolved and you are done with the buffer (an `inPlace` gradient lives in it):
 *   it disposes `tensorRef`, which gives the buffer back to TF.js's pool. TF.js's buffers may be larger than
 *   the data; the shape says how much is read.
 * - A backend whose data is in host memory (cpu, wasm; also a WebGPU-backend tensor whose values
 *   have not been uploaded yet): `{ tensor: { data, shape }, dispose }` over `tensor.dataSync()`,
 *   which there is a host copy, not a GPU readback; `dispose()` does nothing.
 * - WebGL tensors (textures) and dtypes other than float32 and int32 reject with a LossError.
 */
export function fromTfjs<T extends TfjsTensorLike>(tensor: T): FromTfjs<T> {
  if (tensor === null || typeof tensor !== 'object' || typeof tensor.dataToGPU !== 'function' || typeof tensor.dataSync !== 'function') {
    fail(`expected a TF.js tensor, got ${tensor === null ? 'null' : typeof tensor}`);
  }
  if (tensor.isDisposed) fail('the tensor is disposed');
  const dtype = tensor.dtype;
  if (dtype !== 'float32' && dtype !== 'int32') fail(`tensor.dtype = ${JSON.stringify(dtype)} is not supported: float32 or int32`);
  const shape = Array.from(tensor.shape, Number);
  let gpu: ReturnType<TfjsTensorLike['dataToGPU']> | undefined;
  try {
    gpu = tensor.dataToGPU();
  } catch (err) {
    // A backend without GPU data (cpu, wasm: readToGPU is not implemented), or a WebGPU tensor whose
    // values are still on the host: the values are in host memory, and dataSync only copies them.
    const message = err instanceof Error ? err.message : String(err);
    if (!/not yet implemented|not on GPU but on CPU/i.test(message)) fail(`tensor.dataToGPU() failed: ${message}`, err);
  }
  if (gpu === undefined) {
    const data = tensor.dataSync();
    const ok = dtype === 'float32' ? data instanceof Float32Array : data instanceof Int32Array;
    if (!ok) fail(`dataSync() gave ${(data as object)?.constructor?.name ?? typeof data} for a ${dtype} tensor`);
    return { tensor: { data, shape }, dispose() {} } as FromTfjs<T>;
  }
  const { tensorRef, buffer } = gpu;
  if (buffer === undefined || buffer === null) {
    tensorRef?.dispose();
    fail('the tensor is not on the WebGPU backend (WebGL gives a texture, which the library cannot read): use tf.setBackend(\'webgpu\') or \'cpu\'');
  }
  let disposed = false;
  return {
    tensor: { buffer: buffer as DeviceTensor['buffer'], shape, dtype } satisfies DeviceTensor,
    dispose() {
      if (disposed) return;
      disposed = true;
      tensorRef.dispose();
    },
  } as FromTfjs<T>;
}

/** What `toTfjs` uses of the `tf` module (@tensorflow/tfjs-core or @tensorflow/tfjs): `tf.tensor`. */
export interface TfjsModuleLike<T = unknown> {
  /** `tf.tensor(values, shape, dtype)`; `values` may be `{ buffer, zeroCopy }` on the WebGPU backend. */
  tensor(values: never, shape?: number[], dtype?: 'float32' | 'int32'): T;
}

/** What `toTfjs` takes: a result of this library (a reduced loss as a number becomes a scalar). */
export type TfjsResult = DeviceTensor | HostTensor | HalfTensor | Float16Tensor | IndexTensor | number;

export interface ToTfjsOptions {
  /**
   * Whether `toTfjs` destroys a device result's buffer once TF.js has copied it (the copy is
   * submitted at once). Default true: a result of `output: 'device'` is the caller's, and `toTfjs`
   * consumes it. Pass false for a buffer that stays someone else's, e.g. an `inPlace` gradient
   * written over the buffer of `fromTfjs`.
   */
  own?: boolean;
}

/**
 * A result of this library as a TF.js tensor (`tf` is your TF.js module, so that this package never
 * imports it).
 *
 * - A device result `{ buffer, shape, dtype }` (float32 or int32; `output: 'device'` on TF.js's
 *   device, see the file's comment) → `tf.tensor({ buffer }, shape, dtype)`: TF.js copies it into a
 *   buffer of its own on the GPU (no readback), after which the result's buffer is destroyed unless
 *   `own: false`. The WebGPU backend must be the current one.
 * - A host result → `tf.tensor(data, shape)` (float32, or int32 indices); a number → a scalar.
 *
 * TF.js has no half-precision or int64 dtype: float16 and bfloat16 results reject with a LossError
 * (ask for `outputDtype: 'float32'`), and so do int64 ones.
 */
export function toTfjs<T>(result: TfjsResult, tf: TfjsModuleLike<T>, options: ToTfjsOptions = {}): T {
  const bad = (message: string): never => {
    throw new LossError(`toTfjs: ${message}`);
  };
  if (tf === null || typeof tf !== 'object' && typeof tf !== 'function' || typeof tf.tensor !== 'function') {
    bad('tf must be the TF.js module (with tf.tensor)');
  }
  const make = tf.tensor as unknown as (values: unknown, shape?: number[], dtype?: string) => T;
  if (typeof result === 'number') return make.call(tf, result, [], 'float32');
  if (result === null || typeof result !== 'object' || !Array.isArray(result.shape)) {
    bad('result must be a tensor { buffer, shape, dtype } or { data, shape } (or a number)');
  }
  const shape = result.shape.map(Number);
  if ('buffer' in result) {
    const dtype = result.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'int32') {
      bad(`result.dtype = ${JSON.stringify(dtype)} has no TF.js dtype: float32 or int32${dtype === 'int64' ? '' : " (ask for outputDtype: 'float32')"}`);
    }
    const buffer = result.buffer as unknown as { destroy(): void };
    const t = make.call(tf, { buffer, zeroCopy: false }, shape, dtype);
    if (options.own ?? true) buffer.destroy();
    return t;
  }
  const { data } = result as { data: unknown };
  const dtype = (result as { dtype?: unknown }).dtype;
  if (data instanceof Float32Array && (dtype === undefined || dtype === 'float32')) return make.call(tf, data, shape, 'float32');
  if (data instanceof Int32Array) return make.call(tf, data, shape, 'int32');
  return bad(`result.data (${(data as object)?.constructor?.name ?? typeof data}${dtype === undefined ? '' : `, dtype ${JSON.stringify(dtype)}`}) has no TF.js dtype: float32 or int32 (ask for outputDtype: 'float32')`);
}
