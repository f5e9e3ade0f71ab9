/**
 * linearCrossEntropy on WebGPU: the shared suite (PyTorch, the float64 reference, crossEntropy on
 * materialised logits, training), then what only the GPU has: the CPU oracle running the GPU's
 * plan under profiles that cut the rows into chunks and the head into blocks, operands and results
 * on the device, int64 device labels (a 'mean' that sweeps the logits twice), and the device
 * memory a call allocates, counted buffer by buffer.
 */
import { describe, expect, it } from 'vitest';
import { createLosses, encodeHalf, LossError } from '../../src/index.js';
import type { AdapterProfile, DeviceTensor, Losses } from '../../src/index.js';
import { expectCase, expectClose, randomCase, runLinear, tolerance } from '../linear-cases.js';
import { linearSuite } from '../linear-suite.js';
import { baseSeed, Rng } from '../rng.js';
import { appDevice, readBack, upload, webgpuLosses } from './harness.js';

linearSuite('webgpu', () => webgpuLosses(), { bitwiseWithMaterialized: false });

const seed = baseSeed();

describe(`linearCrossEntropy: the GPU against the CPU running its plan (SEED=${seed})`, () => {
  let real: AdapterProfile;
  const profiles = async (): Promise<Record<string, { profile: AdapterProfile; maxBufferBytes?: number }>> => {
    real ??= (await webgpuLosses()).profile!;
    return {
      real: { profile: real },
      // A GPU without subgroups: 256-lane workgroups for the rows of logits.
      workgroup: { profile: { emulated: false, subgroupSize: 0, maxGroupsPerDim: real.maxGroupsPerDim, maxBindingBytes: real.maxBindingBytes } },
      // Tiny bindings and buffers: chunks of a few rows, the head in blocks of 128 rows, host operands
      // uploaded and results read back a part at a time; a 2-D grid that overshoots.
      tiny: { profile: { ...real, maxBindingBytes: 16384, maxGroupsPerDim: 7 }, maxBufferBytes: 16384 },
    };
  };
  const shapes: [number, number, number][] = [[37, 12, 300], [8, 5, 1030], [130, 36, 77]];
  for (const name of ['real', 'workgroup', 'tiny']) {
    for (const [N, D, V] of shapes) {
      for (const reduction of ['mean', 'none'] as const) {
        it(`${name}: N ${N} D ${D} V ${V} softcap + zLoss + smoothing, ignored rows, bias, ${reduction}`, async () => {
          const { profile, maxBufferBytes } = (await profiles())[name];
          const gpuL = await webgpuLosses({ profile, maxBufferBytes });
          const cpuL = await createLosses({ backend: 'cpu', profile: { ...profile, maxBindingBytes: Math.min(profile.maxBindingBytes, maxBufferBytes ?? Infinity) } });
          const c = randomCase(Rng.for(seed, `${name} ${N} ${D} ${V} ${reduction}`), N, D, V,
            { reduction, softcap: 4, zLoss: 1e-3, labelSmoothing: 0.1 }, { bias: true, ignored: 0.2, scale: 3 });
          const want = await runLinear(cpuL, c, true);
          const got = await runLinear(gpuL, c, true);
          const tol = tolerance(c, 1e-5);
          expectClose('loss', got.loss, want.loss, tol);
          expectClose('grad hidden', got.grad!.hidden, want.grad!.hidden, tol);
          expectClose('grad weight', got.grad!.weight, want.grad!.weight, tol);
          expectClose('grad bias', got.grad!.bias!, want.grad!.bias!, tol);
          expectCase(c, got);
          gpuL.dispose();
        });
      }
    }
  }
});

describe('linearCrossEntropy: operands and results on the device', () => {
  const device = appDevice();
  const owned: GPUBuffer[] = [];

  it('device hidden (float16), weight, bias and int64 labels; a mean over device labels; results on the device', async () => {
    const d = await device;
    const l = await webgpuLosses({ device: d });
    const c = randomCase(Rng.for(seed, 'device'), 29, 8, 150, { zLoss: 1e-3, labelSmoothing: 0.1, ignoreIndex: 2 }, { bias: true, ignored: 0.3 });
    const bits = encodeHalf(c.hidden, 'float16');
    const hidden: DeviceTensor = { buffer: upload(d, new Int32Array(bits.buffer.slice(0, Math.ceil(bits.byteLength / 4) * 4)), owned), shape: [c.N, c.D], dtype: 'float16' };
    const weight: DeviceTensor = { buffer: upload(d, c.weight, owned), shape: [c.V, c.D] };
    const bias: DeviceTensor = { buffer: upload(d, c.bias!, owned), shape: [c.V] };
    const labels = new BigInt64Array(Array.from(c.target, (t) => BigInt(t)));
    const target: DeviceTensor = { buffer: upload(d, new Int32Array(labels.buffer), owned), shape: [c.N], dtype: 'int64' };
    // The reference of the decoded float16 hidden states, from the CPU given the same bits on the host.
    const cpu = await createLosses({ backend: 'cpu' });
    const want = await runLinear(cpu, c, true, { outputDtype: 'float32' }, { hidden: { data: bits, shape: [c.N, c.D], dtype: 'float16' } });
    const r = await l.linearCrossEntropy(hidden, weight, target, { ...c.options, bias, grad: true, output: 'device', outputDtype: 'float32' });
    const tol = tolerance(c, 1e-5);
    expectClose('loss', r.loss as number, want.loss, tol);
    for (const [k, n] of [['hidden', c.N * c.D], ['weight', c.V * c.D], ['bias', c.V]] as const) {
      const t = r.grad[k]!;
      expect(t.dtype).toBe('float32');
      expectClose(`grad ${k}`, await readBack(d, t.buffer, n), want.grad![k]!, tol);
      t.buffer.destroy();
    }
    // 'none' on the device: the per-row losses as a buffer of N floats.
    const none = await l.linearCrossEntropy(hidden, weight, target, { ...c.options, bias, reduction: 'none', output: 'device' });
    expect(none.dtype).toBe('float16'); // the dtype of hidden, PyTorch's rule
    none.buffer.destroy();
    l.dispose();
  });

  it('a device label out of range is a LossError, and so is a weight gradient beyond the largest buffer on the device', async () => {
    const d = await device;
    const l = await webgpuLosses({ device: d });
    const c = randomCase(Rng.for(seed, 'bad label'), 6, 4, 20);
    const hidden = { data: c.hidden, shape: [c.N, c.D] }, weight = { data: c.weight, shape: [c.V, c.D] };
    const bad: DeviceTensor = { buffer: upload(d, new Int32Array([0, 1, 20, 3, 4, 5]), owned), shape: [6], dtype: 'int32' };
    await expect(l.linearCrossEntropy(hidden, weight, bad)).rejects.toThrow(/out of range/);
    await expect(l.linearCrossEntropy(hidden, weight, bad, { grad: true })).rejects.toBeInstanceOf(LossError);
    const small = await webgpuLosses({ device: d, maxBufferBytes: 4096 });
    const big = randomCase(Rng.for(seed, 'big head'), 4, 4, 400);
    const p = small.linearCrossEntropy({ data: big.hidden, shape: [4, 4] }, { data: big.weight, shape: [400, 4] }, big.target, { grad: true, output: 'device' });
    await expect(p).rejects.toThrow(/weight gradient .* exceeds the device's largest buffer/);
    // On the host the same gradient comes back in parts.
    expectCase(big, await runLinear(small, big, true));
    const cpu = await createLosses({ backend: 'cpu' });
    await expect(cpu.linearCrossEntropy({ buffer: upload(d, c.hidden, owned), shape: [c.N, c.D] }, weight, c.target)).rejects.toThrow(/webgpu backend/);
    l.dispose();
    small.dispose();
    for (const b of owned) b.destroy();
  });
});

describe('linearCrossEntropy: device memory is the operands, the results and one bounded scratch', () => {
  /** Peak bytes of live buffers the library creates on `d` during `run`. */
  async function peakOf(d: GPUDevice, run: (l: Losses) => Promise<unknown>, maxBindingBytes: number): Promise<number> {
    let live = 0, peak = 0;
    const create = d.createBuffer.bind(d);
    d.createBuffer = (desc: GPUBufferDescriptor) => {
      const b = create(desc);
      live += desc.size;
      peak = Math.max(peak, live);
      const destroy = b.destroy.bind(b);
      let gone = false;
      b.destroy = () => {
        if (!gone) live -= desc.size;
        gone = true;
        destroy();
      };
      return b;
    };
    try {
      const l = await createLosses({ backend: 'webgpu', device: d, maxBindingBytes });
      await run(l);
      l.dispose();
    } finally {
      d.createBuffer = create;
    }
    return peak;
  }

  it('N 2048 × V 4000 logits (33 MB) never exist: the peak grows with N + V, not N·V', async () => {
    const d = await appDevice();
    const D = 8, V = 4000, binding = 1 << 20;
    const peaks: number[] = [];
    for (const N of [1024, 2048]) {
      const c = randomCase(Rng.for(seed, `memory ${N}`), N, D, V, {}, { bias: true });
      const peak = await peakOf(d, async (l) => {
        const r = await l.linearCrossEntropy({ data: c.hidden, shape: [N, D] }, { data: c.weight, shape: [V, D] }, c.target, { bias: c.bias, grad: true });
        expectCase(c, { loss: r.loss, grad: { hidden: r.grad.hidden.data, weight: r.grad.weight.data, bias: r.grad.bias!.data } });
      }, binding);
      // Operands (uploaded) and results (each with its readback copy), the scratch, and per row
      // and per class a few words (records, row states, labels, staging of the loss): 64 bytes each.
      const operands = 4 * (N * D + V * D + V + N), results = 4 * (N * D + V * D + V);
      const bound = operands + 2 * results + binding + 64 * (N + V) + 64 * 1024;
      expect(peak, `peak ${peak} bytes, bound ${bound}`).toBeLessThanOrEqual(bound);
      expect(peak).toBeLessThan((4 * N * V) / 8);
      peaks.push(peak);
    }
    // Doubling N adds its own rows (hidden, its gradient, per-row words), not another N × V.
    expect(peaks[1] - peaks[0]).toBeLessThan(1024 * (4 * D * 3 + 64) + 64 * 1024);
    d.destroy();
  });
});
