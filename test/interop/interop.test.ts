/**
 * webgpu-losses/ort and webgpu-losses/tfjs on their own, in Node: ONNX Runtime Web's Tensor class
 * (CPU tensors, and GPU tensors over stand-in buffers), TF.js's cpu backend, and stand-ins where a
 * runtime's GPU side is needed. What crosses shares memory (same arrays, same buffers), dtypes map
 * both ways, ownership of device results follows `own`, every misuse rejects with the library's
 * LossError, and tensors from a runtime give the same loss as the library's own inputs. toOrt's
 * readback (`getData()` of a device result) runs on the test adapter. The end-to-end GPU scenarios
 * are test/browser/interop.test.ts and test/interop/ort-node.test.ts.
 */
import * as ort from 'onnxruntime-web';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLosses, LossError } from '../../src/index.js';
import type { DeviceTensor, HalfTensor, HostTensor, IndexTensor, Losses } from '../../src/index.js';
import { fromOrt, toOrt } from '../../src/interop/ort.js';
import { fromTfjs, toTfjs } from '../../src/interop/tfjs.js';
import { appDevice } from '../gpu/harness.js';
import { halfBits, halfValue } from './scenarios.js';

const logits = Float32Array.from([2, 1, 0.5, -1, 0.25, 3, 0, -0.5, 1.5]);
const labels = [0, 1, 2];
let cpu: Losses;

/** A stand-in GPUBuffer: what fromOrt/toOrt touch of it (the library never sees it here). */
function fakeBuffer(size = 64) {
  let destroyed = 0;
  return { size, usage: 128 | 4 | 8, mapState: 'unmapped' as const, destroy() { destroyed++; }, get destroyed() { return destroyed; } };
}

function rejects(f: () => unknown, message: RegExp) {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a LossError').toBeInstanceOf(LossError);
  expect((err as Error).message).toMatch(message);
}

beforeAll(async () => {
  cpu = await createLosses({ backend: 'cpu' });
  tf.env().set('IS_TEST', true); // no "install tfjs-node" banner
  await tf.setBackend('cpu');
});

afterAll(() => cpu.dispose());

describe('fromOrt', () => {
  it('CPU tensors become host tensors over the same arrays', () => {
    const f32 = new ort.Tensor('float32', logits, [3, 3]);
    expect(fromOrt(f32)).toEqual({ data: logits, shape: [3, 3] });
    expect((fromOrt(f32) as HostTensor).data).toBe(logits);
    const bits = Uint16Array.from(logits, halfBits);
    const f16 = fromOrt(new ort.Tensor('float16', bits, [3, 3]));
    expect(f16).toEqual({ data: bits, shape: [3, 3], dtype: 'float16' });
    expect((f16 as HalfTensor).data).toBe(bits);
    const i32 = Int32Array.from(labels);
    expect((fromOrt(new ort.Tensor('int32', i32, [3])) as IndexTensor).data).toBe(i32);
    const i64 = BigInt64Array.from(labels, BigInt);
    expect(fromOrt(new ort.Tensor('int64', i64, [3]))).toEqual({ data: i64, shape: [3] });
  });

  it('GPU tensors become device tensors over the same buffer, with their dtype', () => {
    for (const dataType of ['float32', 'float16', 'int32', 'int64'] as const) {
      const buffer = fakeBuffer();
      const t = ort.Tensor.fromGpuBuffer(buffer as unknown as GPUBuffer, { dataType, dims: [2, 3] });
      const d = fromOrt(t);
      expect(d).toEqual({ buffer, shape: [2, 3], dtype: dataType });
      expect((d as DeviceTensor).buffer).toBe(buffer);
    }
  });

  it('rejects other types and locations with a LossError', () => {
    rejects(() => fromOrt(new ort.Tensor('uint8', new Uint8Array(2), [2])), /^fromOrt: tensor\.type = "uint8" is not supported: float32, float16, int32 or int64$/);
    rejects(() => fromOrt(new ort.Tensor('bool', new Uint8Array(2), [2])), /tensor\.type = "bool"/);
    rejects(() => fromOrt(new ort.Tensor('float64', new Float64Array(2), [2])), /tensor\.type = "float64"/);
    rejects(() => fromOrt({ type: 'float32', dims: [2], location: 'texture' }), /tensor\.location = "texture" is not supported/);
    rejects(() => fromOrt({ type: 'float32', dims: [2], location: 'cpu', data: new Float64Array(2) }), /a float32 CPU tensor's data must be a Float32Array, got Float64Array/);
    rejects(() => fromOrt({ type: 'float32', dims: [2], location: 'gpu-buffer', gpuBuffer: undefined }), /has no gpuBuffer/);
    rejects(() => fromOrt(null as never), /expected an ORT tensor/);
  });

  it('gives the loss of the same values as the library\'s own inputs (float32, float16 bits, int32 and int64 labels)', async () => {
    const want = await cpu.crossEntropy({ data: logits, shape: [3, 3] }, Int32Array.from(labels));
    const x = fromOrt(new ort.Tensor('float32', logits, [3, 3]) as ort.TypedTensor<'float32'>);
    expect(await cpu.crossEntropy(x, fromOrt(new ort.Tensor('int64', BigInt64Array.from(labels, BigInt), [3]) as ort.TypedTensor<'int64'>))).toBe(want);
    // float16: the logits are exact in float16, so the loss is the same float32 computation.
    const h = fromOrt(new ort.Tensor('float16', Uint16Array.from(logits, halfBits), [3, 3]) as ort.TypedTensor<'float16'>);
    expect(await cpu.crossEntropy(h, fromOrt(new ort.Tensor('int32', Int32Array.from(labels), [3]) as ort.TypedTensor<'int32'>))).toBe(want);
  });
});

describe('toOrt', () => {
  it('host results become CPU ORT tensors over the same arrays; a number a 0-d float32 tensor', async () => {
    const { loss, grad } = await cpu.crossEntropy({ data: logits, shape: [3, 3] }, Int32Array.from(labels), { grad: true });
    const g = toOrt(grad, ort);
    expect([g.type, g.location, g.dims]).toEqual(['float32', 'cpu', [3, 3]]);
    expect(g.data).toBe(grad.data);
    const l = toOrt(loss, ort);
    expect([l.type, l.dims, Array.from(l.data as Float32Array)]).toEqual(['float32', [], [Math.fround(loss)]]);
    const half = await cpu.crossEntropy({ data: Uint16Array.from(logits, halfBits), shape: [3, 3], dtype: 'float16' }, Int32Array.from(labels), { grad: true });
    const h = toOrt(half.grad, ort);
    expect([h.type, h.data]).toEqual(['float16', half.grad.data]);
    expect(toOrt({ data: Int32Array.from(labels), shape: [3] }, ort).type).toBe('int32');
    expect(toOrt({ data: BigInt64Array.from(labels, BigInt), shape: [3] }, ort).type).toBe('int64');
  });

  it('device results become GPU ORT tensors over the same buffer, which dispose() destroys unless own: false', () => {
    const buffer = fakeBuffer();
    const t = toOrt({ buffer: buffer as unknown as GPUBuffer, shape: [2, 3], dtype: 'float16' }, ort);
    expect([t.location, t.type, t.dims, t.gpuBuffer]).toEqual(['gpu-buffer', 'float16', [2, 3], buffer]);
    t.dispose();
    expect(buffer.destroyed).toBe(1);
    const kept = fakeBuffer();
    const k = toOrt({ buffer: kept as unknown as GPUBuffer, shape: [4] }, ort, { own: false });
    expect(k.type).toBe('float32');
    k.dispose();
    expect(kept.destroyed).toBe(0);
  });

  it('with the device, getData() reads a device result back (float32 and float16)', async () => {
    const device = await appDevice();
    const losses = await createLosses({ backend: 'webgpu', device });
    try {
      for (const dtype of ['float32', 'float16'] as const) {
        const x = dtype === 'float32' ? { data: logits, shape: [3, 3] } : { data: Uint16Array.from(logits, halfBits), shape: [3, 3], dtype };
        const r = await losses.crossEntropy(x, Int32Array.from(labels), { grad: true, output: 'device' });
        const host = await cpu.crossEntropy({ data: logits, shape: [3, 3] }, Int32Array.from(labels), { grad: true, outputDtype: dtype });
        const t = toOrt(r.grad as DeviceTensor, ort, { device: losses.device });
        const data = await t.getData();
        expect(data.constructor).toBe(dtype === 'float32' ? Float32Array : Uint16Array); // Node 20 has no Float16Array
        const got = Array.from(data as Float32Array | Uint16Array, (v) => (dtype === 'float16' ? halfValue(v) : v));
        const want = Array.from(host.grad.data as Float32Array | Uint16Array, (v) => (dtype === 'float16' ? halfValue(v) : v));
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `${dtype} grad[${i}]`).toBeLessThanOrEqual(dtype === 'float32' ? 1e-6 : 2 ** -16);
        t.dispose();
      }
    } finally {
      losses.dispose();
      device.destroy();
    }
  });

  it('rejects what ORT cannot hold, and a module that is not ORT, with a LossError', () => {
    rejects(() => toOrt({ buffer: fakeBuffer() as unknown as GPUBuffer, shape: [2], dtype: 'bfloat16' }, ort), /^toOrt: result\.dtype = "bfloat16" has no ORT type/);
    rejects(() => toOrt({ data: new Uint16Array(2), shape: [2], dtype: 'bfloat16' }, ort), /'bfloat16' has no ORT type: ask for outputDtype/);
    rejects(() => toOrt({ data: new Float64Array(2) as never, shape: [2] }, ort), /has no ORT type/);
    rejects(() => toOrt(1, {} as never), /^toOrt: ort must be the onnxruntime-web module/);
    rejects(() => toOrt({} as never, ort), /result must be a tensor/);
  });
});

describe('fromTfjs', () => {
  it('cpu-backend tensors become host tensors (dataSync: host memory, no GPU); dispose() does nothing', async () => {
    const x = tf.tensor2d(logits, [3, 3]);
    const y = tf.tensor1d(labels, 'int32');
    const a = fromTfjs(x as tf.Tensor2D & { dtype: 'float32' });
    const b = fromTfjs(y);
    expect(a.tensor).toEqual({ data: logits, shape: [3, 3] });
    expect(b.tensor).toEqual({ data: Int32Array.from(labels), shape: [3] });
    const want = await cpu.crossEntropy({ data: logits, shape: [3, 3] }, Int32Array.from(labels));
    expect(await cpu.crossEntropy(a.tensor, b.tensor)).toBe(want);
    a.dispose();
    b.dispose();
    expect(x.isDisposed).toBe(false);
    tf.dispose([x, y]);
  });

  it('WebGPU-backend tensors become device tensors over dataToGPU()\'s buffer; dispose() disposes tensorRef once', () => {
    const buffer = fakeBuffer(64); // larger than the data: the shape says what is read
    let disposed = 0;
    const t = { dtype: 'float32', shape: [2, 3], isDisposed: false, dataSync: () => { throw new Error('no readback'); }, dataToGPU: () => ({ buffer, tensorRef: { dispose: () => { disposed++; } } }) };
    const r = fromTfjs(t);
    expect(r.tensor).toEqual({ buffer, shape: [2, 3], dtype: 'float32' });
    r.dispose();
    r.dispose();
    expect(disposed).toBe(1);
  });

  it('a WebGPU-backend tensor whose values are still on the host (never uploaded) becomes a host tensor', () => {
    const values = Float32Array.from([1, 2]);
    const t = { dtype: 'float32', shape: [2], isDisposed: false, dataSync: () => values, dataToGPU: () => { throw new Error('Data is not on GPU but on CPU.'); } };
    expect(fromTfjs(t).tensor).toEqual({ data: values, shape: [2] });
  });

  it('rejects WebGL textures (disposing what dataToGPU made), other dtypes, disposed tensors and failures, with a LossError', () => {
    let disposed = 0;
    const webgl = { dtype: 'float32', shape: [2], isDisposed: false, dataSync: () => new Float32Array(2), dataToGPU: () => ({ texture: {}, tensorRef: { dispose: () => { disposed++; } } }) };
    rejects(() => fromTfjs(webgl), /^fromTfjs: the tensor is not on the WebGPU backend/);
    expect(disposed).toBe(1);
    rejects(() => fromTfjs(tf.tensor1d([1, 0], 'bool')), /^fromTfjs: tensor\.dtype = "bool" is not supported: float32 or int32$/);
    const gone = tf.tensor1d([1, 2]);
    gone.dispose();
    rejects(() => fromTfjs(gone), /the tensor is disposed/);
    const broken = { ...webgl, dataToGPU: () => { throw new Error('device lost'); } };
    rejects(() => fromTfjs(broken), /^fromTfjs: tensor\.dataToGPU\(\) failed: device lost$/);
    rejects(() => fromTfjs({} as never), /expected a TF\.js tensor/);
  });
});

describe('toTfjs', () => {
  it('host results become TF.js tensors; a number a scalar', async () => {
    const { loss, grad } = await cpu.crossEntropy({ data: logits, shape: [3, 3] }, Int32Array.from(labels), { grad: true });
    const g = toTfjs(grad, tf);
    expect([g.dtype, g.shape, Array.from(g.dataSync())]).toEqual(['float32', [3, 3], Array.from(grad.data)]);
    const l = toTfjs(loss, tf);
    expect([l.shape, l.dataSync()[0]]).toEqual([[], Math.fround(loss)]);
    const i = toTfjs({ data: Int32Array.from(labels), shape: [3] }, tf);
    expect(i.dtype).toBe('int32');
    tf.dispose([g, l, i]);
  });

  it('device results go to tf.tensor({ buffer, zeroCopy: false }) (a GPU copy), then their buffer is destroyed unless own: false', () => {
    const calls: unknown[][] = [];
    const fake = { tensor: (...args: unknown[]) => { calls.push(args); return 'a tensor'; } };
    const buffer = fakeBuffer();
    expect(toTfjs({ buffer: buffer as unknown as GPUBuffer, shape: [2, 3], dtype: 'int32' }, fake)).toBe('a tensor');
    expect(calls).toEqual([[{ buffer, zeroCopy: false }, [2, 3], 'int32']]);
    expect(buffer.destroyed).toBe(1);
    const kept = fakeBuffer();
    toTfjs({ buffer: kept as unknown as GPUBuffer, shape: [2] }, fake, { own: false });
    expect(kept.destroyed).toBe(0);
  });

  it('rejects half-precision and int64 results (TF.js has no such dtype) with a LossError', () => {
    rejects(() => toTfjs({ buffer: fakeBuffer() as unknown as GPUBuffer, shape: [2], dtype: 'float16' }, tf), /^toTfjs: result\.dtype = "float16" has no TF\.js dtype: float32 or int32 \(ask for outputDtype: 'float32'\)$/);
    rejects(() => toTfjs({ buffer: fakeBuffer() as unknown as GPUBuffer, shape: [2], dtype: 'int64' }, tf), /result\.dtype = "int64" has no TF\.js dtype: float32 or int32$/);
    rejects(() => toTfjs({ data: new Uint16Array(2), shape: [2], dtype: 'float16' }, tf), /has no TF\.js dtype/);
    rejects(() => toTfjs({ data: new BigInt64Array(2), shape: [2] }, tf), /has no TF\.js dtype/);
    rejects(() => toTfjs(1, {} as never), /^toTfjs: tf must be the TF\.js module/);
  });
});
