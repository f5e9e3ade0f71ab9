/**
 * ONNX Runtime Web interop (`webgpu-losses/ort`): ORT tensors in, ORT tensors out, with no import of
 * onnxruntime-web at run time (the caller passes its `ort` module where a tensor is made) and no
 * dependency of these typings on it: ORT's tensors and module are described here by the few members
 * this file uses, which ORT's own types satisfy.
 *
 * - `fromOrt(tensor)`: a GPU tensor (`location === 'gpu-buffer'`: a session output with
 *   `preferredOutputLocation: 'gpu-buffer'`, or `Tensor.fromGpuBuffer`) becomes a device tensor over
 *   the same GPUBuffer (read in place, never copied, never read back); a CPU tensor becomes a host
 *   tensor over the same typed array.
 * - `toOrt(result, ort)`: a device result (gradient or per-element output, `output: 'device'`) becomes
 *   a GPU ORT tensor over the same buffer (`Tensor.fromGpuBuffer`), a host result a CPU ORT tensor.
 *
 * Sharing the device: the GPUBuffers of ORT's WebGPU execution provider belong to ORT's GPUDevice,
 * so the library must run on it. With `onnxruntime-web` (the JSEP build, 1.30), ORT always creates
 * its device itself (from `env.webgpu.adapter`, or an adapter it requests); a device assigned to
 * `ort.env.webgpu.device` beforehand is ignored. After the first WebGPU session is created,
 * `await ort.env.webgpu.device` is that device: pass it to `createLosses({ backend: 'webgpu', device })`.
 * With `onnxruntime-web/webgpu` (the native WebGPU EP build) either direction works: ORT sets
 * `env.webgpu.device` in the same way, and it also accepts an app's device as an execution-provider
 * option, `executionProviders: [{ name: 'webgpu', device }]` (then `env.webgpu.device` is not set;
 * the device needs the features the model needs, e.g. 'shader-f16' for a float16 model). A buffer of
 * another device is a validation error (a LossError from the library). ORT submits its work before
 * `session.run()` resolves, so the library's reads are ordered after it on the shared queue.
 */
import { LossError } from '../errors.js';
import type { DeviceTensor, Float16Tensor, HalfTensor, HostTensor, IndexTensor, Losses } from '../types.js';

/** The dtypes that cross between ORT and the library. */
export type OrtDtype = 'float32' | 'float16' | 'int32' | 'int64';

/**
 * What `fromOrt` reads of an ORT tensor (`ort.Tensor` satisfies it). `data` is read only for a CPU
 * tensor and `gpuBuffer` only for a GPU one (ORT's getters throw otherwise).
 */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly location: string;
  readonly data?: unknown;
  readonly gpuBuffer?: unknown;
}

/** What `toOrt` uses of the `ort` module (onnxruntime-web, or onnxruntime-common's Tensor): its Tensor class. */
export interface OrtModuleLike<T = unknown> {
  readonly Tensor: {
    new (type: 'float32', data: Float32Array, dims?: readonly number[]): T;
    fromGpuBuffer(buffer: never, options: OrtGpuBufferOptions): T;
  };
}

/** The options `toOrt` passes to `ort.Tensor.fromGpuBuffer`. */
export interface OrtGpuBufferOptions {
  dataType: OrtDtype;
  dims: readonly number[];
  download?: () => Promise<OrtData>;
  dispose?: () => void;
}

/** ORT's CPU data of those dtypes (float16: a Float16Array where the runtime has one, else Uint16Array bits). */
export type OrtData = Float32Array | Uint16Array | Int32Array | BigInt64Array;

/** A tensor the library takes, as `fromOrt` makes it. */
export type OrtLossTensor = DeviceTensor | HostTensor | HalfTensor | Float16Tensor | IndexTensor;

/** What `fromOrt` gives for an ORT tensor of type `T['type']` (a union where the type is not known statically). */
export type FromOrt<T extends OrtTensorLike> = T extends unknown
  ? (T['location'] extends 'gpu-buffer' ? DeviceTensor
    : T['location'] extends 'cpu' | 'cpu-pinned' ? HostOf<T['type']>
    : DeviceTensor | HostOf<T['type']>)
  : never;
type HostOf<Type> = Type extends 'float32' ? HostTensor
  : Type extends 'float16' ? HalfTensor | Float16Tensor
  : Type extends 'int32' | 'int64' ? IndexTensor
  : never;

const DTYPES: readonly string[] = ['float32', 'float16', 'int32', 'int64'];

function fail(method: string, message: string): never {
  throw new LossError(`${method}: ${message}`);
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || typeof v !== 'object') return String(v);
  return (v as object).constructor?.name ?? 'an object';
}

function isTypedArray(v: unknown, name: string): boolean {
  return ArrayBuffer.isView(v) && v.constructor?.name === name;
}

/**
 * An ORT tensor as a tensor of this library, sharing its memory (nothing is copied or read back).
 *
 * - `location: 'gpu-buffer'` → `{ buffer: tensor.gpuBuffer, shape: tensor.dims, dtype }` for float32,
 *   float16, int32 and int64. The buffer stays ORT's: keep the ORT tensor undisposed until the loss
 *   call has resolved (and until you are done with an `inPlace` gradient, which overwrites it). The
 *   library must run on ORT's device (see the file's comment).
 * - `location: 'cpu'` or `'cpu-pinned'` → `{ data, shape }` over `tensor.data`: a Float32Array, float16
 *   data (ORT gives a Float16Array where the runtime has one, else a Uint16Array of bits) as
 *   `{ data, shape, dtype: 'float16' }`, an Int32Array or a BigInt64Array (class indices).
 *
 * Other types (uint8, bool, float64, string, …) and locations (texture, ml-tensor) reject with a LossError.
 */
export function fromOrt<T extends OrtTensorLike>(tensor: T): FromOrt<T> {
  const m = 'fromOrt';
  if (tensor === null || typeof tensor !== 'object') fail(m, `expected an ORT tensor, got ${show(tensor)}`);
  const { type, dims, location } = tensor;
  if (!DTYPES.includes(type)) fail(m, `tensor.type = ${show(type)} is not supported: float32, float16, int32 or int64`);
  if (!Array.isArray(dims)) fail(m, `tensor.dims must be an array, got ${show(dims)}`);
  const shape = dims.map(Number);
  const dtype = type as OrtDtype;
  if (location === 'gpu-buffer') {
    const buffer = tensor.gpuBuffer;
    if (buffer === null || typeof buffer !== 'object') fail(m, `the gpu-buffer tensor has no gpuBuffer (got ${show(buffer)}); was it disposed?`);
    return { buffer, shape, dtype } as DeviceTensor as FromOrt<T>;
  }
  if (location !== 'cpu' && location !== 'cpu-pinned') {
    fail(m, `tensor.location = ${show(location)} is not supported: 'gpu-buffer' (WebGPU) or 'cpu'`);
  }
  const data = tensor.data;
  const want = { float32: 'Float32Array', float16: 'Uint16Array or Float16Array', int32: 'Int32Array', int64: 'BigInt64Array' }[dtype];
  const ok = dtype === 'float16'
    ? isTypedArray(data, 'Uint16Array') || isTypedArray(data, 'Float16Array')
    : isTypedArray(data, want);
  if (!ok) fail(m, `a ${dtype} CPU tensor's data must be a ${want}, got ${show(data)}`);
  const t = dtype === 'float16' ? { data, shape, dtype: 'float16' } : { data, shape };
  return t as OrtLossTensor as FromOrt<T>;
}

/** What `toOrt` takes: a result of this library (a reduced loss as a number becomes a 0-d float32 tensor). */
export type OrtResult = DeviceTensor | HostTensor | HalfTensor | Float16Tensor | IndexTensor | number;

export interface ToOrtOptions {
  /**
   * Whether the ORT tensor's `dispose()` destroys the device buffer. Default true: a result of
   * `output: 'device'` is the caller's to destroy, and `toOrt` hands that ownership to the ORT tensor.
   * Pass false for a buffer that stays someone else's, e.g. an `inPlace` gradient written over an
   * ORT output's own buffer.
   */
  own?: boolean;
  /**
   * The GPUDevice the buffer belongs to (`losses.device`): with it, the ORT tensor can be read back
   * with `getData()` (a copy to a mappable buffer; the buffer needs COPY_SRC usage, which the
   * library's results have). Without it, `getData()` on the tensor rejects.
   */
  device?: Losses['device'];
}

interface MinimalDevice {
  createBuffer(d: { size: number; usage: number }): MinimalBuffer;
  createCommandEncoder(): { copyBufferToBuffer(a: unknown, ao: number, b: unknown, bo: number, n: number): void; finish(): unknown };
  queue: { submit(c: unknown[]): void };
}
interface MinimalBuffer {
  readonly size: number;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}

const MAP_READ = 0x0001, COPY_DST = 0x0008;

function bytesPer(dtype: OrtDtype): number {
  return dtype === 'float16' ? 2 : dtype === 'int64' ? 8 : 4;
}

/** ORT's CPU array for a dtype: float16 as a Float16Array where the runtime has one, else Uint16Array bits (ORT's convention). */
function hostArray(dtype: OrtDtype, bytes: ArrayBuffer, length: number): ArrayBufferView {
  const F16 = (globalThis as { Float16Array?: new (b: ArrayBuffer, o: number, n: number) => ArrayBufferView }).Float16Array;
  switch (dtype) {
    case 'float32': return new Float32Array(bytes, 0, length);
    case 'int32': return new Int32Array(bytes, 0, length);
    case 'int64': return new BigInt64Array(bytes, 0, length);
    default: return F16 ? new F16(bytes, 0, length) : new Uint16Array(bytes, 0, length);
  }
}

/** A download function for a device result: copies it to a mappable buffer and reads that. */
function downloader(device: MinimalDevice, buffer: unknown, dtype: OrtDtype, length: number): () => Promise<OrtData> {
  return async () => {
    const bytes = length * bytesPer(dtype);
    const size = Math.ceil(bytes / 4) * 4;
    const staging = device.createBuffer({ size: Math.max(size, 4), usage: MAP_READ | COPY_DST });
    try {
      const enc = device.createCommandEncoder();
      if (size > 0) enc.copyBufferToBuffer(buffer, 0, staging, 0, size);
      device.queue.submit([enc.finish()]);
      await staging.mapAsync(1 /* GPUMapMode.READ */);
      const copy = staging.getMappedRange().slice(0, size);
      staging.unmap();
      return hostArray(dtype, copy, length) as OrtData;
    } finally {
      staging.destroy();
    }
  };
}

/**
 * A result of this library as an ORT tensor, for feeding to a session (`ort` is your onnxruntime-web
 * module, so that this package never imports it).
 *
 * - A device result `{ buffer, shape, dtype }` (`output: 'device'`) → `ort.Tensor.fromGpuBuffer(buffer,
 *   { dataType, dims, dispose })` over the same buffer: no copy, no readback. ORT must run on the same
 *   device (see the file's comment). Its `dispose()` destroys the buffer unless `own: false`; with
 *   `device`, its `getData()` reads the buffer back.
 * - A host result → a CPU ORT tensor over the same array: float32, float16 (Uint16Array bits with
 *   dtype 'float16', or a Float16Array), int32 and int64 indices; a number → a 0-d float32 tensor.
 *
 * bfloat16 has no ORT type: such results reject with a LossError (ask for `outputDtype: 'float32'`
 * or 'float16' instead).
 */
export function toOrt<T>(result: OrtResult, ort: OrtModuleLike<T>, options: ToOrtOptions = {}): T {
  const m = 'toOrt';
  const Tensor = (ort as { Tensor?: OrtModuleLike<T>['Tensor'] } | null)?.Tensor;
  if (typeof Tensor !== 'function' || typeof Tensor.fromGpuBuffer !== 'function') {
    fail(m, `ort must be the onnxruntime-web module (with Tensor and Tensor.fromGpuBuffer), got ${show(ort)}`);
  }
  if (typeof result === 'number') return new Tensor('float32', Float32Array.of(result), []);
  if (result === null || typeof result !== 'object' || !Array.isArray(result.shape)) {
    fail(m, `result must be a tensor { buffer, shape, dtype } or { data, shape } (or a number), got ${show(result)}`);
  }
  const dims = result.shape.map(Number);
  if ('buffer' in result) {
    const dtype = result.dtype ?? 'float32';
    if (!DTYPES.includes(dtype)) fail(m, `result.dtype = ${show(dtype)} has no ORT type: float32, float16, int32 or int64`);
    const buffer = result.buffer as unknown as MinimalBuffer;
    const own = options.own ?? true;
    const gpuOptions: OrtGpuBufferOptions = { dataType: dtype as OrtDtype, dims };
    if (own) gpuOptions.dispose = () => buffer.destroy();
    if (options.device !== undefined) {
      gpuOptions.download = downloader(options.device as MinimalDevice, buffer, dtype as OrtDtype, dims.reduce((a, b) => a * b, 1));
    }
    return Tensor.fromGpuBuffer(buffer as never, gpuOptions);
  }
  const { data } = result as { data: unknown };
  const dtype = (result as { dtype?: unknown }).dtype;
  const make = Tensor as unknown as new (type: string, data: unknown, dims: readonly number[]) => T;
  if (dtype === 'bfloat16') fail(m, "result.dtype = 'bfloat16' has no ORT type: ask for outputDtype 'float32' or 'float16'");
  if (isTypedArray(data, 'Float32Array') && (dtype === undefined || dtype === 'float32')) return new make('float32', data, dims);
  if (isTypedArray(data, 'Float16Array') || (isTypedArray(data, 'Uint16Array') && dtype === 'float16')) return new make('float16', data, dims);
  if (isTypedArray(data, 'Int32Array')) return new make('int32', data, dims);
  if (isTypedArray(data, 'BigInt64Array')) return new make('int64', data, dims);
  fail(m, `result.data = ${show(data)}${dtype === undefined ? '' : ` with dtype ${show(dtype)}`} has no ORT type`);
}
