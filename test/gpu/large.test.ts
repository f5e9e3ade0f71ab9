/**
 * Host inputs larger than the device's largest buffer, on an app device with WebGPU's default
 * limits (256 MiB buffers, 128 MiB bindings): they stream through the device in whole rows or
 * elements, and the answer matches float64.
 */
import { describe, expect, it } from 'vitest';
import { createLosses } from '../../src/index.js';
import { adapterOrFail } from './harness.js';

function fill(out: Float32Array, seed: number, lo: number, hi: number): Float32Array {
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return out;
}

async function defaultDevice(): Promise<GPUDevice> {
  const device = await (await adapterOrFail()).requestDevice();
  expect(device.limits.maxBufferSize).toBeLessThanOrEqual(256 * 2 ** 20);
  return device;
}

describe('inputs over maxBufferSize under default limits', () => {
  it('binaryCrossEntropyWithLogits of 70M elements (280 MB, twice over) against float64', { timeout: 600_000 }, async () => {
    const device = await defaultDevice();
    const L = await createLosses({ backend: 'webgpu', device });
    const n = 70_000_000, last = 7;
    const x = fill(new Float32Array(n), 11, -6, 6), t = fill(new Float32Array(n), 12, 0, 1);
    const pw = fill(new Float32Array(last), 13, 0.5, 3);
    expect(x.byteLength).toBeGreaterThan(device.limits.maxBufferSize);
    const got = await L.binaryCrossEntropyWithLogits({ data: x, shape: [n / last, last] }, t, { posWeight: pw });
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const v = x[i], p = pw[i % last], lse = Math.max(-v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
      acc += (1 - t[i]) * v + (1 + (p - 1) * t[i]) * lse;
    }
    const want = acc / n;
    expect(Math.abs(got - want) / Math.abs(want), `${got} vs ${want}`).toBeLessThan(2e-5);
    L.dispose();
    device.destroy();
  });

  it('crossEntropy of 2400×32000 logits (307 MB), weighted mean, against float64', { timeout: 600_000 }, async () => {
    const device = await defaultDevice();
    const L = await createLosses({ backend: 'webgpu', device });
    const N = 2400, C = 32000;
    const x = fill(new Float32Array(N * C), 21, -8, 8);
    const t = Int32Array.from(fill(new Float32Array(N), 22, 0, C), Math.floor);
    const w = fill(new Float32Array(C), 23, 0.5, 1.5);
    expect(x.byteLength).toBeGreaterThan(device.limits.maxBufferSize);
    const got = await L.crossEntropy({ data: x, shape: [N, C] }, t, { weight: w });
    let num = 0, den = 0;
    for (let r = 0; r < N; r++) {
      let m = -Infinity, s = 0;
      for (let c = 0; c < C; c++) m = Math.max(m, x[r * C + c]);
      for (let c = 0; c < C; c++) s += Math.exp(x[r * C + c] - m);
      num += w[t[r]] * (m + Math.log(s) - x[r * C + t[r]]);
      den += w[t[r]];
    }
    const want = num / den;
    expect(Math.abs(got - want) / Math.abs(want), `${got} vs ${want}`).toBeLessThan(2e-5);
    L.dispose();
    device.destroy();
  });
});
