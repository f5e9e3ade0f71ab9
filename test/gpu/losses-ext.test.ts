/**
 * zLoss, softcap, focalGamma, sigmoidFocalLoss and general BCE weight broadcasting on WebGPU: the
 * torch fixtures, and the CPU oracle running the GPU's plan under every test profile (large
 * vocabularies, many rows, split rows, K-dim), host and device tensors, device outputs, inPlace.
 */
import { describe, expect, it } from 'vitest';
import { createLosses } from '../../src/index.js';
import type { Losses } from '../../src/index.js';
import { broadcastSuite } from '../broadcast.js';
import { extSuite } from '../losses-ext.js';
import { baseSeed, Rng, uniform } from '../rng.js';
import { appDevice, profilesOf, readBack, upload, webgpuLosses } from './harness.js';

const SEED = baseSeed();

extSuite('webgpu', () => webgpuLosses());
broadcastSuite(() => webgpuLosses(), SEED, 2e-5);

type Loss = number | { data: Float32Array };
type WithGrad = { loss: Loss; grad: { data: Float32Array } };

function diff(label: string, got: Loss, want: Loss): string[] {
  const g = typeof got === 'number' ? [got] : Array.from(got.data), w = typeof want === 'number' ? [want] : Array.from(want.data);
  const out: string[] = [];
  if (g.length !== w.length) return [`${label}: ${g.length} values vs ${w.length}`];
  g.forEach((v, i) => {
    const ok = Number.isNaN(w[i]) ? Number.isNaN(v) : Math.abs(v - w[i]) <= 1e-5 * Math.max(1, Math.abs(w[i]));
    if (!ok && out.length < 3) out.push(`${label}[${i}]: gpu ${v} vs cpu ${w[i]}`);
  });
  return out;
}

const SHAPES = [[3, 5], [1000, 10], [3, 257], [64, 1000], [2, 32000], [4, 3, 5], [1, 131072]];
const OPTIONS = [
  { zLoss: 1e-4 }, { softcap: 3 }, { focalGamma: 2 }, { focalGamma: 0.5, softcap: 2 }, { zLoss: 0.01, softcap: 5, focalGamma: 1 },
  { zLoss: 0.1, labelSmoothing: 0.1 }, { zLoss: 0.1, softcap: 4, ignoreIndex: 1 },
];

describe(`the GPU agrees with the CPU oracle on the same plan (SEED=${SEED})`, () => {
  it('crossEntropy with zLoss / softcap / focalGamma, every reduction, with gradients, under every profile', { timeout: 900_000 }, async () => {
    const real = (await webgpuLosses()).profile!;
    const failures: string[] = [];
    for (const [name, profile] of Object.entries(profilesOf(real))) {
      const gpu = await webgpuLosses({ profile });
      const cpu = await createLosses({ backend: 'cpu', profile: gpu.profile });
      const rng = Rng.for(SEED, `ext-${name}`);
      for (const [si, shape] of SHAPES.entries()) {
        // The largest rows run under the adapter's own profile only (the 256-lane families are slow to emulate).
        if (shape[shape.length - 1] > 32000 && name !== 'real') continue;
        const C = shape[1] ?? shape[0], n = shape.reduce((a, b) => a * b, 1), rows = n / C;
        const x = { data: uniform(rng, n, -8, 8), shape };
        const t = Int32Array.from(uniform(rng, rows, 0, C), Math.floor);
        t[0] = 1; // ignored where ignoreIndex is 1
        const w = uniform(rng, C, 0.5, 2);
        // Three of the option sets per shape, a different three for each (all of them over the shapes).
        for (const o of [0, 1, 2].map((k) => OPTIONS[(3 * si + k) % OPTIONS.length])) {
          for (const reduction of ['none', 'mean', 'sum'] as const) {
            const opts = { ...o, weight: w, reduction, grad: true } as const;
            const label = `${name} [${shape}] ${JSON.stringify(o)} ${reduction}`;
            const [g, c] = (await Promise.all([gpu.crossEntropy(x, t, opts), cpu.crossEntropy(x, t, opts)])) as unknown as WithGrad[];
            failures.push(...diff(`${label} loss`, g.loss, c.loss), ...diff(`${label} grad`, g.grad, c.grad));
          }
        }
        // probability targets with zLoss and softcap
        const p = uniform(rng, n, 0, 1);
        const opts = { zLoss: 0.01, softcap: 3, grad: true, reduction: 'mean' } as const;
        const [g, c] = (await Promise.all([gpu.crossEntropy(x, p, opts), cpu.crossEntropy(x, p, opts)])) as unknown as WithGrad[];
        failures.push(...diff(`${name} [${shape}] prob loss`, g.loss, c.loss), ...diff(`${name} [${shape}] prob grad`, g.grad, c.grad));
        if (failures.length > 20) break;
      }
      gpu.dispose();
    }
    expect(failures.slice(0, 20), `${failures.length} failures`).toEqual([]);
  });

  it('sigmoidFocalLoss: every reduction, alpha on and off, gradients', async () => {
    const gpu = await webgpuLosses();
    const cpu = await createLosses({ backend: 'cpu', profile: gpu.profile });
    const rng = Rng.for(SEED, 'ext-sfl');
    const failures: string[] = [];
    for (const shape of [[7], [1000, 3], [65, 65], [4096, 16]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = { data: uniform(rng, n, -30, 30), shape }, t = uniform(rng, n, 0, 1);
      for (const o of [{}, { alpha: -1 }, { gamma: 0 }, { gamma: 0.5, alpha: 0.9 }, { gamma: 5 }]) {
        for (const reduction of ['none', 'mean', 'sum'] as const) {
          const opts = { ...o, reduction, grad: true } as const;
          const [g, c] = (await Promise.all([gpu.sigmoidFocalLoss(x, t, opts), cpu.sigmoidFocalLoss(x, t, opts)])) as unknown as WithGrad[];
          const label = `[${shape}] ${JSON.stringify(o)} ${reduction}`;
          failures.push(...diff(`${label} loss`, g.loss, c.loss), ...diff(`${label} grad`, g.grad, c.grad));
        }
      }
    }
    expect(failures.slice(0, 20), `${failures.length} failures`).toEqual([]);
    gpu.dispose();
  });
});

describe('device tensors, device outputs and inPlace', () => {
  it('crossEntropy with all three options: device input and labels, output device, inPlace — as on the host', async () => {
    const device = await appDevice();
    const L: Losses = await createLosses({ backend: 'webgpu', device, poison: true });
    const rng = Rng.for(SEED, 'ext-device');
    const N = 300, C = 70;
    const x = uniform(rng, N * C, -6, 6), t = Int32Array.from(uniform(rng, N, 0, C), Math.floor);
    const opts = { zLoss: 0.01, softcap: 4, focalGamma: 2 } as const;
    const host = (await L.crossEntropy({ data: x, shape: [N, C] }, t, { ...opts, grad: true, reduction: 'none' })) as unknown as WithGrad;
    const owned: GPUBuffer[] = [];
    const xb = upload(device, x, owned), tb = upload(device, t, owned);
    const dev = await L.crossEntropy({ buffer: xb, shape: [N, C] }, { buffer: tb, shape: [N], dtype: 'int32' }, { ...opts, grad: true, reduction: 'none', output: 'device', inPlace: true });
    expect(dev.grad.buffer).toBe(xb);
    const grad = await readBack(device, xb, N * C), loss = await readBack(device, dev.loss.buffer, N);
    expect(Array.from(grad)).toEqual(Array.from(host.grad.data));
    expect(Array.from(loss)).toEqual(Array.from((host.loss as { data: Float32Array }).data));
    const sfl = await L.sigmoidFocalLoss({ buffer: upload(device, x, owned), shape: [N, C] }, { buffer: upload(device, uniform(rng, N * C, 0, 1), owned), shape: [N, C] }, { grad: true, output: 'device' });
    expect(Number.isFinite(sfl.loss)).toBe(true);
    sfl.grad.buffer.destroy();
    L.dispose();
    owned.forEach((b) => b.destroy());
    device.destroy();
  });
});
