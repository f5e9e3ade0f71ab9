/**
 * The interop scenarios, shared by the Chromium page (test/browser/interop-page) and the Node test
 * (test/interop/ort-node.test.ts): the classifier head of test/interop/head.ts run by ONNX Runtime
 * Web or TF.js, its logits straight into the library, the gradient straight back into the runtime
 * for the head's backward pass. Every GPUBuffer.mapAsync call is recorded with the phase it happened
 * in (the readback check); values are read back at the end only. The runtimes, the model bytes and
 * the devices are passed in, so nothing here imports a runtime or a Node module.
 */
import { createLosses } from '../../src/index.js';
import type { DeviceTensor, Losses } from '../../src/index.js';
import { fromOrt, toOrt } from '../../src/interop/ort.js';
import { fromTfjs, toTfjs } from '../../src/interop/tfjs.js';
import { C, D, HEAD, HIDDEN, LABELS, N } from './head.js';

type Ort = typeof import('onnxruntime-web');
type OrtTensor = import('onnxruntime-web').Tensor;
type Tf = typeof import('@tensorflow/tfjs-core');
type TfTensor = import('@tensorflow/tfjs-core').Tensor;

// ------------------------------------------------------------------ readback accounting

/** A mapAsync call: the phase it happened in, the buffer's size and usage, and the map mode. */
export interface MapCall { phase: string; size: number; usage: number; mode: number }

/** Records every mapAsync of the WebGPU implementation whose GPUBuffer class is given (once per realm). */
export class Readbacks {
  phase = 'setup';
  calls: MapCall[] = [];
  constructor(bufferClass: { prototype: GPUBuffer }) {
    const proto = bufferClass.prototype;
    const original = proto.mapAsync;
    const record = (c: MapCall) => this.calls.push({ ...c, phase: this.phase });
    proto.mapAsync = function (this: GPUBuffer, mode: number, ...rest: [number?, number?]) {
      record({ phase: '', size: this.size, usage: this.usage, mode });
      return original.call(this, mode, ...rest);
    };
  }
  /** Starts a scenario: forgets earlier calls. */
  reset(): void {
    this.calls = [];
    this.phase = 'setup';
  }
}

// ------------------------------------------------------------------ helpers

/** float16 bits of a value that float16 holds exactly (every fixture value does). */
export function halfBits(v: number): number {
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const s = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  const bits = e < -14 ? s | Math.round(a / 2 ** -24) : s | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
  if (halfValue(bits) !== v) throw new Error(`halfBits: ${v} is not exact in float16`);
  return bits;
}
export function halfValue(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
/** Values as plain numbers: float16 given as Uint16Array bits decoded, a Float16Array or other arrays as they are. */
export function numbers(data: ArrayLike<number | bigint>, dtype: string): number[] {
  if (dtype === 'float16' && data instanceof Uint16Array) return Array.from(data, halfValue);
  return Array.from(data as ArrayLike<number>, Number);
}

/** A device tensor's values, read back (only at the end of a scenario). */
export async function readDevice(device: GPUDevice, t: DeviceTensor): Promise<number[]> {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const dtype = t.dtype ?? 'float32';
  const bytes = n * (dtype === 'float16' || dtype === 'bfloat16' ? 2 : 4);
  const size = Math.ceil(bytes / 4) * 4;
  const staging = device.createBuffer({ size, usage: 1 /* MAP_READ */ | 8 /* COPY_DST */ });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(t.buffer, 0, staging, 0, size);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(1 /* GPUMapMode.READ */);
  const raw = staging.getMappedRange().slice(0, bytes);
  staging.destroy();
  if (dtype === 'float16') return Array.from(new Uint16Array(raw), halfValue);
  if (dtype === 'int32') return Array.from(new Int32Array(raw));
  return Array.from(new Float32Array(raw));
}

/** What a scenario gives back: values read at its end, the mapAsync calls, what it observed. */
export interface Outcome {
  maps: MapCall[];
  loss: number;
  logits: number[];
  grad: number[];
  gradDtype: string;
  dhidden: number[];
  dW: number[];
  db: number[];
  /** fromOrt's device tensor is the ORT output's own GPUBuffer. */
  sameBuffer?: boolean;
  notes: string[];
  deviceFeatures: string[];
}

/** A scenario's exception, with the phase it happened in and the mapAsync calls so far. */
export interface Failure { error: string; phase: string; maps: MapCall[] }

// ------------------------------------------------------------------ ONNX Runtime Web, WebGPU EP

export interface OrtSpec {
  dtype: 'float32' | 'float16';
  /**
   * 'ort': ORT creates its device and the library takes `await ort.env.webgpu.device`; 'app': the
   * app's device (`appDevice`) goes to ORT as an EP option and to the library; 'losses': the library
   * creates its device and ORT takes `losses.device` as an EP option (the last two: native WebGPU EP
   * build only).
   */
  device: 'ort' | 'app' | 'losses';
  /** Class indices as a host Int32Array, or an ORT int64 CPU tensor through fromOrt. */
  labels: 'int32' | 'int64';
}

export interface OrtEnv {
  ort: Ort;
  /** The bytes of a model of test/fixtures/onnx. */
  model(file: string): Promise<Uint8Array>;
  counter: Readbacks;
  /** For device 'app'. */
  appDevice?: GPUDevice;
  /** Extra createLosses options (Node: the `gpu` object). */
  lossOptions?: Parameters<typeof createLosses>[0];
}

function hiddenTensor(ort: Ort, dtype: 'float32' | 'float16'): OrtTensor {
  return dtype === 'float32'
    ? new ort.Tensor('float32', Float32Array.from(HIDDEN), [N, D])
    : new ort.Tensor('float16', Uint16Array.from(HIDDEN, halfBits), [N, D]);
}

/**
 * ORT's WebGPU EP runs the head with `preferredOutputLocation: 'gpu-buffer'`; the GPU logits go into
 * `crossEntropy(fromOrt(logits), labels, { grad: true, output: 'device' })`, the gradient into the
 * backward session through `toOrt` (a GPU tensor again). No phase but the loss call (its reduced
 * loss) and the end may map a buffer.
 */
export async function ortHead(env: OrtEnv, spec: OrtSpec): Promise<Outcome> {
  const { ort, counter } = env;
  const notes: string[] = [];
  counter.reset();
  let losses = spec.device === 'losses' ? await createLosses({ ...env.lossOptions, backend: 'webgpu' }) : undefined;
  const given = spec.device === 'app' ? env.appDevice! : losses?.device;
  const ep = given ? { name: 'webgpu' as const, device: given } : 'webgpu';
  const options = { executionProviders: [ep], preferredOutputLocation: 'gpu-buffer' as const };
  const suffix = spec.dtype === 'float32' ? 'f32' : 'f16';
  const session = await ort.InferenceSession.create(await env.model(`head-${suffix}.onnx`), options);
  const gradSession = await ort.InferenceSession.create(await env.model(`head-grad-${suffix}.onnx`), options);
  try {
    const device = given ?? (await ort.env.webgpu.device as GPUDevice);
    losses ??= await createLosses({ ...env.lossOptions, backend: 'webgpu', device });
    const x = hiddenTensor(ort, spec.dtype);
    const target = spec.labels === 'int32'
      ? Int32Array.from(LABELS)
      : fromOrt(new ort.Tensor('int64', BigInt64Array.from(LABELS, BigInt), [N]) as import('onnxruntime-web').TypedTensor<'int64'>);

    counter.phase = 'ort forward';
    const { logits } = await session.run({ hidden: x });
    counter.phase = 'fromOrt';
    if (logits.location !== 'gpu-buffer') throw new Error(`logits.location = ${logits.location}, expected 'gpu-buffer'`);
    const input = fromOrt(logits) as DeviceTensor;
    const sameBuffer = input.buffer === logits.gpuBuffer;
    counter.phase = 'loss';
    const r = await losses.crossEntropy(input, target, { grad: true, output: 'device' });
    counter.phase = 'toOrt, ort backward';
    const dlogits = toOrt(r.grad, ort, { device });
    const back = await gradSession.run({ hidden: x, dlogits });
    counter.phase = 'end';

    const read = async (t: OrtTensor) => numbers(await t.getData() as ArrayLike<number>, t.type);
    const out: Outcome = {
      maps: counter.calls, notes, sameBuffer, deviceFeatures: [...device.features] as string[],
      loss: r.loss,
      logits: await read(logits),
      grad: await readDevice(device, r.grad),
      gradDtype: r.grad.dtype ?? 'float32',
      dhidden: await read(back.dhidden), dW: await read(back.dW), db: await read(back.db),
    };
    if (given && (await ort.env.webgpu.device) !== device) notes.push('ort.env.webgpu.device is not the device given as an EP option');
    for (const t of [logits, dlogits, back.dhidden, back.dW, back.db]) t.dispose();
    return out;
  } finally {
    losses?.dispose();
    await session.release();
    await gradSession.release();
  }
}

/** The head on ORT's wasm EP: CPU tensors through fromOrt (float16 as ORT gives it) and toOrt. */
export async function ortHeadCpu(env: OrtEnv, spec: { dtype: 'float32' | 'float16' }): Promise<Outcome> {
  const { ort, counter } = env;
  counter.reset();
  const suffix = spec.dtype === 'float32' ? 'f32' : 'f16';
  const session = await ort.InferenceSession.create(await env.model(`head-${suffix}.onnx`), { executionProviders: ['wasm'] });
  const gradSession = await ort.InferenceSession.create(await env.model(`head-grad-${suffix}.onnx`), { executionProviders: ['wasm'] });
  const losses = await createLosses(env.lossOptions);
  try {
    const x = hiddenTensor(ort, spec.dtype);
    counter.phase = 'ort forward';
    const { logits } = await session.run({ hidden: x });
    counter.phase = 'loss';
    const input = fromOrt(logits as import('onnxruntime-web').TypedTensor<'float32' | 'float16'>);
    const notes = [`logits: ${logits.location} ${logits.type} ${(logits.data as object).constructor.name}; library backend ${losses.backend}`];
    const r = await losses.crossEntropy(input, Int32Array.from(LABELS), { grad: true });
    const grad = r.grad as { data: Float32Array | Uint16Array; dtype?: string };
    const gradDtype = grad.dtype ?? (grad.data instanceof Float32Array ? 'float32' : 'float16');
    notes.push(`grad: ${grad.data.constructor.name}${grad.dtype ? ` dtype ${grad.dtype}` : ''}`);
    counter.phase = 'toOrt, ort backward';
    const back = await gradSession.run({ hidden: x, dlogits: toOrt(r.grad, ort) });
    counter.phase = 'end';
    const read = (t: OrtTensor) => numbers(t.data as ArrayLike<number>, t.type);
    return {
      maps: counter.calls, notes, deviceFeatures: [],
      loss: r.loss, logits: read(logits), grad: numbers(grad.data, gradDtype), gradDtype,
      dhidden: read(back.dhidden), dW: read(back.dW), db: read(back.db),
    };
  } finally {
    losses.dispose();
    await session.release();
    await gradSession.release();
  }
}

// ------------------------------------------------------------------ TF.js

/**
 * The head as tf.matMul + tf.add on TF.js's current backend (a WebGPU backend, TF.js's own or one
 * registered over the app's device, or 'cpu'); the logits and labels through fromTfjs into
 * crossEntropy (on the backend's device for WebGPU), the gradient back through toTfjs into tf.matMul /
 * tf.sum for the backward pass. Under WebGPU, CPU forwarding is off so that the small tensors of the
 * test are computed on the GPU (TF.js runs small ops on the CPU otherwise).
 */
export async function tfjsHead(tf: Tf, counter: Readbacks): Promise<Outcome> {
  counter.reset();
  const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
  const gpu = device !== undefined;
  if (gpu) tf.env().set('WEBGPU_CPU_FORWARD', false);
  const losses = await createLosses(device ? { backend: 'webgpu', device } : { backend: 'cpu' });
  const h = tf.tensor2d(HIDDEN, [N, D]);
  const W = tf.tensor2d(HEAD.W, [D, C]);
  const b = tf.tensor1d(HEAD.b);
  const y = tf.tensor1d(LABELS, 'int32');
  const kept: TfTensor[] = [h, W, b, y];
  try {
    counter.phase = 'tf forward';
    const logits = tf.add(tf.matMul(h, W), b);
    const labels = tf.add(y, tf.scalar(0, 'int32')); // computed: on the GPU under webgpu
    kept.push(logits, labels);
    counter.phase = 'fromTfjs';
    const x = fromTfjs(logits as TfTensor & { dtype: 'float32' });
    const t = fromTfjs(labels);
    const notes = [`logits ${'buffer' in x.tensor ? 'device' : 'host'}, labels ${'buffer' in t.tensor ? 'device' : 'host'}; library backend ${losses.backend}`];
    counter.phase = 'loss';
    const r = await losses.crossEntropy(x.tensor, t.tensor, { grad: true, output: gpu ? 'device' : 'host' });
    counter.phase = 'toTfjs, tf backward';
    const dlogits = toTfjs(r.grad, tf);
    const dhidden = tf.matMul(dlogits, W, false, true);
    const dW = tf.matMul(h, dlogits, true, false);
    const db = tf.sum(dlogits, 0);
    kept.push(dlogits, dhidden, dW, db);
    counter.phase = 'end';
    const read = async (v: TfTensor) => Array.from(await v.data() as Float32Array);
    const out: Outcome = {
      maps: counter.calls, notes, deviceFeatures: device ? [...device.features] as string[] : [],
      loss: r.loss, logits: await read(logits), grad: await read(dlogits), gradDtype: dlogits.dtype,
      dhidden: await read(dhidden), dW: await read(dW), db: await read(db),
    };
    x.dispose();
    t.dispose();
    return out;
  } finally {
    tf.dispose(kept);
    losses.dispose();
  }
}

/** Runs a scenario; an exception comes back as a Failure. */
export async function settle(counter: Readbacks, run: () => Promise<Outcome>): Promise<Outcome | Failure> {
  try {
    return await run();
  } catch (e) {
    return { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e), phase: counter.phase, maps: counter.calls };
  }
}
