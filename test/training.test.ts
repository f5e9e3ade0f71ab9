/**
 * End-to-end training (issue 5): multinomial logistic regression (W: D×K, b: K) on the fixture data of
 * scripts/torch-grad-fixtures.py (test/fixtures/torch-grad/training.json: 256 samples, D = 8, K = 4),
 * full-batch SGD for a fixed number of steps from the same initial weights, with this library's fused
 * gradient of crossEntropy with respect to the logits; the rest is float32 JS (logits = X·W + b,
 * dW = Xᵀ·dlogits, db = Σ dlogits). Run on the CPU backend, on WebGPU with host tensors, and on WebGPU
 * the README's way (logits in a device buffer, `inPlace` + `output: 'device'`): the final weights match
 * PyTorch's float32 SGD within 1e-4 relative, and the loss decreases monotonically.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from 'webgpu';
import { createLosses } from '../src/index.js';
import type { DeviceTensor, Losses } from '../src/index.js';
import { trainingFixture } from './grad-fixtures.js';

const gpu = create([]);
const fx = trainingFixture();
const { N, D, K, steps, lr } = fx;
const f32 = Math.fround;

/** logits[n, k] = Σ_d X[n, d]·W[d, k] + b[k], in float32. */
function forward(W: Float32Array, b: Float32Array): Float32Array {
  const z = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let d = 0; d < D; d++) s = f32(s + f32(fx.X[n * D + d] * W[d * K + k]));
      z[n * K + k] = f32(s + b[k]);
    }
  }
  return z;
}

/** One SGD step from dlogits: W −= lr·Xᵀ·G, b −= lr·Σ_n G (float32, as torch's `W -= lr * W.grad`). */
function update(W: Float32Array, b: Float32Array, G: Float32Array): void {
  for (let d = 0; d < D; d++) {
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let n = 0; n < N; n++) s = f32(s + f32(fx.X[n * D + d] * G[n * K + k]));
      W[d * K + k] = f32(W[d * K + k] - f32(lr * s));
    }
  }
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let n = 0; n < N; n++) s = f32(s + G[n * K + k]);
    b[k] = f32(b[k] - f32(lr * s));
  }
}

interface Run { W: Float32Array; b: Float32Array; losses: number[]; final: number }

/** `gradOf(logits)` returns the loss and d(loss)/d(logits) of one step. */
async function train(gradOf: (logits: Float32Array) => Promise<{ loss: number; grad: Float32Array }>): Promise<Run> {
  const W = new Float32Array(fx.W0), b = new Float32Array(fx.b0);
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const { loss, grad } = await gradOf(forward(W, b));
    losses.push(loss);
    update(W, b, grad);
  }
  return { W, b, losses, final: (await gradOf(forward(W, b))).loss };
}

const trainHost = (losses: Losses) => train(async (logits) => {
  const r = await losses.crossEntropy({ data: logits, shape: [N, K] }, fx.y, { grad: true });
  return { loss: r.loss, grad: r.grad.data };
});

/** The README's loop: logits in a device buffer, the gradient written over them and left on the device. */
async function trainDevice(losses: Losses): Promise<Run> {
  const device = losses.device!;
  const buffer = device.createBuffer({ size: N * K * 4, usage: 128 | 8 | 4 }); // STORAGE | COPY_DST | COPY_SRC
  const staging = device.createBuffer({ size: N * K * 4, usage: 1 | 8 }); // MAP_READ | COPY_DST
  const labels = { data: fx.y, shape: [N] };
  try {
    return await train(async (logits) => {
      device.queue.writeBuffer(buffer, 0, logits.buffer as ArrayBuffer, logits.byteOffset, logits.byteLength);
      const r = await losses.crossEntropy({ buffer, shape: [N, K] }, labels, { grad: true, inPlace: true, output: 'device' });
      expect((r.grad as DeviceTensor).buffer).toBe(buffer);
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(buffer, 0, staging, 0, N * K * 4);
      device.queue.submit([enc.finish()]);
      await staging.mapAsync(1);
      const grad = new Float32Array(staging.getMappedRange().slice(0));
      staging.unmap();
      return { loss: r.loss as number, grad };
    });
  } finally {
    buffer.destroy();
    staging.destroy();
  }
}

/** Every weight within 1e-4 relative of torch's (|a − e| ≤ 1e-4·|e|). */
function weightErrors(run: Run): string[] {
  const bad: string[] = [];
  const check = (name: string, a: Float32Array, e: Float32Array) => {
    for (let i = 0; i < e.length; i++) {
      const rel = Math.abs(a[i] - e[i]) / Math.abs(e[i]);
      if (!(rel <= 1e-4)) bad.push(`${name}[${i}] = ${a[i]}, torch ${e[i]} (relative ${rel.toExponential(2)})`);
    }
  };
  check('W', run.W, fx.float32.W);
  check('b', run.b, fx.float32.b);
  return bad;
}

function checkRun(run: Run, label: string): void {
  expect(weightErrors(run), label).toEqual([]);
  for (let i = 1; i < steps; i++) expect(run.losses[i], `${label}: loss at step ${i} vs ${i - 1}`).toBeLessThan(run.losses[i - 1]);
  expect(run.final, label).toBeLessThan(run.losses[steps - 1]);
  // the loss of each step is torch's (float32) too
  for (let i = 0; i < steps; i++) expect(Math.abs(run.losses[i] - fx.float32.losses[i]), `${label}: loss at step ${i}`).toBeLessThanOrEqual(2e-5 * Math.max(1, fx.float32.losses[i]));
  expect(Math.abs(run.final - fx.float32.finalLoss)).toBeLessThanOrEqual(2e-5);
}

let cpu: Losses;
let webgpu: Losses;
const runs: Record<string, Run> = {};

beforeAll(async () => {
  cpu = await createLosses({ backend: 'cpu' });
  webgpu = await createLosses({ backend: 'webgpu', gpu, poison: true });
  expect(webgpu.backend).toBe('webgpu');
});
afterAll(() => webgpu?.dispose());

describe(`multinomial logistic regression, ${N}×${D} → ${K} classes, ${steps} SGD steps of lr ${lr}`, () => {
  it('the fixture: torch float32 and float64 agree, and the loss falls', () => {
    expect(fx.X.length).toBe(N * D);
    expect(fx.W0.length).toBe(D * K);
    for (let i = 0; i < D * K; i++) expect(Math.abs(fx.float32.W[i] - fx.float64.W[i])).toBeLessThan(1e-5);
    expect(fx.float32.finalLoss).toBeLessThan(0.5 * fx.float32.losses[0]);
  });

  it('CPU backend: final weights match torch within 1e-4 relative; the loss decreases monotonically', async () => {
    runs.cpu = await trainHost(cpu);
    checkRun(runs.cpu, 'cpu');
  });

  it('WebGPU, host tensors: the same', async () => {
    runs.gpu = await trainHost(webgpu);
    checkRun(runs.gpu, 'webgpu');
  });

  it("WebGPU, logits in a device buffer with inPlace + output 'device' (the README's loop): the same, and bit-identical to host tensors", async () => {
    runs.device = await trainDevice(webgpu);
    checkRun(runs.device, 'webgpu device');
    if (runs.gpu) {
      expect(Array.from(runs.device.W)).toEqual(Array.from(runs.gpu.W));
      expect(runs.device.losses).toEqual(runs.gpu.losses);
    }
  });

  it('GPU and CPU trajectories agree within 1e-5', () => {
    if (!runs.cpu || !runs.gpu) throw new Error('the CPU and GPU runs did not finish');
    for (let i = 0; i < D * K; i++) expect(Math.abs(runs.gpu.W[i] - runs.cpu.W[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(runs.cpu.W[i])));
    for (let i = 0; i < steps; i++) expect(Math.abs(runs.gpu.losses[i] - runs.cpu.losses[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, runs.cpu.losses[i]));
  });
});

