/**
 * The hostile-input suite (test/hostile.ts) on WebGPU in Node, plus what only a GPU has: tiny
 * binding and buffer limits (host inputs streamed through the device), stale pooled buffers,
 * device-tensor aliasing and int32 edges of device targets, a lost app device.
 */
import { describe, expect, it } from 'vitest';
import { createLosses } from '../../src/index.js';
import type { Losses } from '../../src/index.js';
import { hostileSuite, lossError, VALID, call } from '../hostile.js';
import { sameResult } from '../capture.js';
import * as ref from '../reference.js';
import { appDevice, gpu, readBack, upload, webgpuLosses } from './harness.js';

hostileSuite(() => webgpuLosses(), { gpu: true });

function rand(n: number, seed: number, lo = -4, hi = 4): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return out;
}
const labels = (n: number, C: number, seed: number) => Int32Array.from(rand(n, seed, 0, C), Math.floor);
const tol = (a: number, b: number) => Math.abs(a - b) <= 2e-5 * Math.max(1, Math.abs(b));

function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  return e;
}

describe('the smallest accepted limits (4096-byte bindings and buffers): every op still runs', () => {
  // 3000×7 CE is 84 KB: ~20 buffers' worth, so host inputs stream through in sub-jobs of whole rows.
  const N = 3000, C = 7;
  const x = { data: rand(N * C, 1), shape: [N, C] };
  const t = labels(N, C, 2);
  const w = rand(C, 3, 0.5, 2);
  const p = rand(N * C, 4, 0, 1);
  for (const [label, options] of [['maxBindingBytes', { maxBindingBytes: 4096 }], ['maxBufferBytes', { maxBufferBytes: 4096 }]] as const) {
    it(`${label}: 4096 — losses, 'none', sigmoid and gradients against float64`, async () => {
      const L = await webgpuLosses(options);
      const ce = await L.crossEntropy(x, t, { weight: w });
      const want = ref.crossEntropy(x.data, x.shape, t, { weight: w }) as number;
      expect(tol(ce, want), `${ce} vs ${want}`).toBe(true);
      const none = await L.crossEntropy(x, t, { reduction: 'none', labelSmoothing: 0.1 });
      const wantNone = ref.crossEntropy(x.data, x.shape, t, { reduction: 'none', labelSmoothing: 0.1 }) as ref.Ref;
      expect(maxRelErr(none.data, wantNone.data)).toBeLessThan(2e-5);
      const sig = await L.sigmoid(x);
      expect(maxRelErr(sig.data, (ref.sigmoid(x.data, x.shape)).data)).toBeLessThan(1e-6);
      const sm = await L.softmax(x);
      expect(maxRelErr(sm.data, ref.softmax(x.data, x.shape).data)).toBeLessThan(1e-6);
      const bce = await L.binaryCrossEntropyWithLogits(x, p, { grad: true, reduction: 'none', weight: w });
      const wantBce = ref.binaryCrossEntropyWithLogits(x.data, x.shape, p, { reduction: 'none', weight: w }) as ref.Ref;
      expect(maxRelErr(bce.loss.data, wantBce.data)).toBeLessThan(2e-5);
      // d/dx of w·BCE-with-logits is w·(σ(x) − t)
      const g = Float64Array.from(x.data, (v, i) => w[i % C] * (1 / (1 + Math.exp(-v)) - p[i]));
      expect(maxRelErr(bce.grad.data, g)).toBeLessThan(1e-5);
      // The weighted mean's gradient needs Σw over all rows before any row's gradient.
      const cg = await L.crossEntropy(x, t, { weight: w, grad: true });
      expect(tol(cg.loss, want)).toBe(true);
      let sw = 0;
      for (let r = 0; r < N; r++) sw += w[t[r]];
      const soft = ref.softmax(x.data, x.shape).data;
      const gce = Float64Array.from(soft, (s, i) => (w[t[Math.floor(i / C)]] * (s - (i % C === t[Math.floor(i / C)] ? 1 : 0))) / sw);
      expect(maxRelErr(cg.grad.data, gce)).toBeLessThan(1e-5);
      const kl = await L.klDiv(x, p, { reduction: 'batchmean' });
      const wantKl = ref.klDiv(x.data, x.shape, p, { reduction: 'batchmean' }) as number;
      expect(tol(kl, wantKl), `${kl} vs ${wantKl}`).toBe(true);
      L.dispose();
    });
  }
  it('maxBufferBytes 4096: inPlace host gradients land in the caller\'s array; device outputs that need one big buffer reject', async () => {
    const L = await webgpuLosses({ maxBufferBytes: 4096 });
    const data = x.data.slice();
    const r = await L.crossEntropy({ data, shape: x.shape }, t, { grad: true, inPlace: true, reduction: 'sum' });
    expect(r.grad.data).toBe(data);
    const soft = ref.softmax(x.data, x.shape).data;
    const g = Float64Array.from(soft, (s, i) => s - (i % C === t[Math.floor(i / C)] ? 1 : 0));
    expect(maxRelErr(data, g)).toBeLessThan(1e-5);
    await lossError(L.softmax(x, { output: 'device' }), /output 'device' needs the result in one buffer/);
    L.dispose();
  });
});

describe('pooled buffers', () => {
  it('results never depend on what earlier calls left in the pool', async () => {
    const L = await webgpuLosses();
    const fresh = async (method: string, args: unknown[]) => {
      const F = await webgpuLosses();
      try {
        return await call(F, method, ...args);
      } finally {
        F.dispose();
      }
    };
    // Fill the pool with NaN and huge values in every size class these calls use.
    for (const n of [4, 20, 64, 256, 1024]) {
      await L.softmax({ data: new Float32Array(n).fill(NaN), shape: [n] });
      await L.binaryCrossEntropyWithLogits({ data: new Float32Array(n).fill(3e38), shape: [n] }, new Float32Array(n).fill(-1e30), { reduction: 'none', grad: true });
    }
    for (const [m, args] of VALID) {
      const got = await call(L, m, ...args());
      const want = await fresh(m, args());
      expect(sameResult(got, want), m).toBe('');
    }
    L.dispose();
  });
});

describe('device tensors', () => {
  it('inPlace with the target or gradOutput aliasing the input buffer rejects clearly', async () => {
    const device = await appDevice();
    const L = await createLosses({ backend: 'webgpu', device });
    const owned: GPUBuffer[] = [];
    const b = upload(device, rand(20, 5, 0, 1), owned);
    const x = { buffer: b, shape: [4, 5] };
    await lossError(L.crossEntropy(x, x, { grad: true, inPlace: true }), /inPlace: target shares memory/);
    await lossError(L.binaryCrossEntropyWithLogits(x, { buffer: upload(device, rand(20, 6, 0, 1), owned), shape: [4, 5] },
      { grad: true, inPlace: true, reduction: 'none', gradOutput: x }), /gradOutput shares memory/);
    // Without inPlace, reading one buffer twice is fine.
    const ce = await L.crossEntropy(x, x);
    const host = await readBack(device, b, 20);
    const want = ref.crossEntropy(host, [4, 5], host) as number;
    expect(tol(ce, want), `${ce} vs ${want}`).toBe(true);
    L.dispose();
    owned.forEach((o) => o.destroy());
    device.destroy();
  });
  it('ignoreIndex outside int32 rejects for device targets too; device labels out of range are flagged', async () => {
    const device = await appDevice();
    const L = await createLosses({ backend: 'webgpu', device });
    const owned: GPUBuffer[] = [];
    const x = { buffer: upload(device, rand(20, 7), owned), shape: [4, 5] };
    const t = { buffer: upload(device, new Int32Array([0, 1, 2, 3]), owned), shape: [4], dtype: 'int32' as const };
    await lossError(L.crossEntropy(x, t, { ignoreIndex: 2 ** 32 }), /ignoreIndex = 4294967296 is outside the int32 range/);
    const bad = { buffer: upload(device, new Int32Array([0, 1, 5, 3]), owned), shape: [4], dtype: 'int32' as const };
    await lossError(L.crossEntropy(x, bad), /out of range/);
    await lossError(L.crossEntropy(x, { ...t, dtype: 'float32' as never }, { reduction: 'none' }), /./);
    L.dispose();
    owned.forEach((o) => o.destroy());
    device.destroy();
  });
  it('a buffer without STORAGE usage, or too small for its shape, rejects before any GPU work', async () => {
    const device = await appDevice();
    const L = await createLosses({ backend: 'webgpu', device });
    const noStorage = device.createBuffer({ size: 80, usage: 8 /* COPY_DST */ });
    await lossError(L.softmax({ buffer: noStorage, shape: [4, 5] }), /STORAGE usage/);
    const small = device.createBuffer({ size: 64, usage: 128 | 8 });
    await lossError(L.softmax({ buffer: small, shape: [4, 5] }), /holds 64 bytes/);
    L.dispose();
    noStorage.destroy();
    small.destroy();
    device.destroy();
  });
});

describe("the app's device", () => {
  it('once it is lost, every call rejects (empty tensors too), and the library never destroys it', async () => {
    const device = await appDevice();
    const L: Losses = await createLosses({ backend: 'webgpu', device });
    expect(await L.crossEntropy({ data: new Float32Array([0, 0]), shape: [1, 2] }, new Int32Array([0]))).toBeCloseTo(Math.LN2, 6);
    device.destroy();
    await device.lost;
    await lossError(L.crossEntropy({ data: new Float32Array([0, 0]), shape: [1, 2] }, new Int32Array([0])), /GPUDevice was lost/);
    await lossError(L.softmax({ data: new Float32Array(0), shape: [0, 3] }), /GPUDevice was lost/);
    L.dispose();
  });
});

describe('createLosses on WebGPU', () => {
  it('the smallest maxBindingBytes and maxBufferBytes are accepted and anything smaller rejects', async () => {
    await lossError(createLosses({ backend: 'webgpu', gpu, maxBindingBytes: 256 }), /maxBindingBytes = 256/);
    await lossError(createLosses({ backend: 'webgpu', gpu, maxBindingBytes: NaN }), /maxBindingBytes = NaN/);
    const L = await createLosses({ backend: 'webgpu', gpu, maxBindingBytes: 4096, maxBufferBytes: 4096 });
    expect(L.backend).toBe('webgpu');
    L.dispose();
  });
});
