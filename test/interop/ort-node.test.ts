/**
 * ONNX Runtime Web's WebGPU execution provider in Node, on Dawn (the `webgpu` package) as
 * `navigator.gpu`, sharing one GPUDevice with the library (test/interop/scenarios.ts, ortHead): the
 * classifier head's GPU logits straight into crossEntropy through fromOrt, the gradient straight back
 * into ORT's backward session through toOrt, checked against float64, with no readback in between.
 *
 * Why Node: float16. Chromium's only adapter without a GPU is SwiftShader, which has no shader-f16,
 * and ORT's WebGPU EP needs it for a float16 model (the native EP refuses the model; the JSEP one
 * compiles invalid shaders and returns zeros). Mesa's lavapipe has shader-f16: under the vitest
 * project 'lavapipe' this file runs the float16 head on the GPU end to end; under 'swiftshader' it
 * runs float32 and checks that ORT refuses the float16 model.
 *
 * ORT's build for this is `onnxruntime-web/webgpu` (the native WebGPU EP compiled to WASM, which
 * drives whatever `navigator.gpu` is); the default `onnxruntime-web` export resolves to a wasm-only
 * build in Node. Two shims make Dawn for Node look like a browser to it: the WebGPU globals
 * (`GPUDevice` for ORT's instanceof check of an EP-option device), and `GPUQueue.writeBuffer` given
 * views of a SharedArrayBuffer (ORT's WASM heap is shared memory), which Dawn for Node rejects
 * ("Invalid argument", or a crash): they are copied into plain memory first.
 */
import { readFileSync } from 'node:fs';
import { globals } from 'webgpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapterOrFail, gpu } from '../gpu/harness.js';
import { checkHead, N, C } from './head.js';
import { ortHead, Readbacks, settle } from './scenarios.js';
import type { Failure, OrtEnv, OrtSpec, Outcome } from './scenarios.js';

type Ort = typeof import('onnxruntime-web');

const FIXTURES = new URL('../fixtures/onnx/', import.meta.url);
let ort: Ort;
let adapter: GPUAdapter;
let counter: Readbacks;
const devices: GPUDevice[] = [];

beforeAll(async () => {
  adapter = await adapterOrFail();
  Object.assign(globalThis, globals);
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const queue = (globals as unknown as { GPUQueue: { prototype: GPUQueue } }).GPUQueue.prototype;
  const writeBuffer = queue.writeBuffer;
  queue.writeBuffer = function (this: GPUQueue, buffer: GPUBuffer, offset: number, data: BufferSource, dataOffset = 0, size?: number) {
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      const per = (data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
      const count = size ?? data.byteLength / per - dataOffset;
      const copy = new Uint8Array(data.buffer, data.byteOffset + dataOffset * per, count * per).slice();
      return writeBuffer.call(this, buffer, offset, copy, 0, copy.byteLength);
    }
    return writeBuffer.call(this, buffer, offset, data, dataOffset, size);
  } as GPUQueue['writeBuffer'];
  counter = new Readbacks((globals as unknown as { GPUBuffer: { prototype: GPUBuffer } }).GPUBuffer);
  ort = await import('onnxruntime-web/webgpu');
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'fatal'; // the float16 refusal on SwiftShader is expected, not worth a log line
});

afterAll(() => {
  for (const d of devices) d.destroy();
});

async function env(appDevice: boolean): Promise<OrtEnv> {
  let device: GPUDevice | undefined;
  if (appDevice) {
    const adapter = await adapterOrFail(); // an adapter gives one device
    device = await adapter.requestDevice({
      requiredFeatures: (['shader-f16', 'subgroups'] as GPUFeatureName[]).filter((f) => adapter.features.has(f)),
      requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
    });
    devices.push(device);
  }
  return { ort, model: async (file) => new Uint8Array(readFileSync(new URL(file, FIXTURES))), counter, appDevice: device, lossOptions: { gpu } };
}

async function run(spec: OrtSpec): Promise<Outcome> {
  const r: Outcome | Failure = await settle(counter, async () => ortHead(await env(spec.device === 'app'), spec));
  if ('error' in r) throw new Error(`${JSON.stringify(spec)}: ${r.error} (in phase '${r.phase}')`);
  return r;
}

/** No buffer is mapped between ORT's forward run and the end but the loss call's own small readback. */
function expectNoRoundTrip(r: Outcome, dtype: 'float32' | 'float16') {
  const early = r.maps.filter((m) => m.phase !== 'end');
  expect(early.filter((m) => m.phase !== 'loss'), JSON.stringify(r.maps)).toEqual([]);
  const logitsBytes = N * C * (dtype === 'float32' ? 4 : 2);
  expect(early.every((m) => m.size < logitsBytes), JSON.stringify(early)).toBe(true);
  expect(early.length).toBeLessThanOrEqual(2);
  expect(r.sameBuffer).toBe(true);
}

function expectHead(r: Outcome, dtype: 'float32' | 'float16') {
  expect(r.gradDtype).toBe(dtype);
  const { failures, errors } = checkHead(r, dtype);
  expect(failures, JSON.stringify(errors)).toEqual([]);
}

const hasF16 = () => adapter.features.has('shader-f16');

describe(`ONNX Runtime Web (native WebGPU EP) in Node on ${process.env.WGL_ADAPTER ?? 'the adapter'}, one device with the library`, () => {
  it('float32: ORT creates the device, the library takes ort.env.webgpu.device', async () => {
    const r = await run({ dtype: 'float32', device: 'ort', labels: 'int32' });
    expectNoRoundTrip(r, 'float32');
    expectHead(r, 'float32');
  });

  it('float32: the app\'s device goes to ORT as an EP option and to the library; int64 labels from an ORT tensor', async () => {
    const r = await run({ dtype: 'float32', device: 'app', labels: 'int64' });
    expectNoRoundTrip(r, 'float32');
    expectHead(r, 'float32');
  });

  it('float16 end to end where the adapter has shader-f16; else ORT refuses the float16 model', async () => {
    if (!hasF16()) {
      const r = await settle(counter, async () => ortHead(await env(true), { dtype: 'float16', device: 'app', labels: 'int32' }));
      expect('error' in r && r.error).toMatch(/requires f16 but the device does not support it/);
      return;
    }
    const r = await run({ dtype: 'float16', device: 'app', labels: 'int64' });
    expect(r.deviceFeatures).toContain('shader-f16');
    expectNoRoundTrip(r, 'float16');
    expectHead(r, 'float16');
  });

  it('float16 on the library\'s own device, given to ORT as an EP option (the library asks for shader-f16 where the adapter has it)', async (ctx) => {
    if (!hasF16()) return ctx.skip();
    const r = await run({ dtype: 'float16', device: 'losses', labels: 'int32' });
    expect(r.deviceFeatures).toContain('shader-f16');
    expectNoRoundTrip(r, 'float16');
    expectHead(r, 'float16');
  });

  it('float16 on the device ORT creates (it asks for shader-f16 where the adapter has it)', async (ctx) => {
    if (!hasF16()) return ctx.skip();
    const r = await run({ dtype: 'float16', device: 'ort', labels: 'int32' });
    expectNoRoundTrip(r, 'float16');
    expectHead(r, 'float16');
  });
});
