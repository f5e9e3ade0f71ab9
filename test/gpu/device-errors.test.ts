// Inputs that only the GPU can check (device tensors are never read back to the host before a
// run): the kernels flag them and the call rejects with a LossError instead of a wrong number.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from 'webgpu';
import { createLosses, LossError } from '../../src/index.js';
import type { Losses } from '../../src/index.js';

const gpu = create([]);
let losses: Losses;
let device: GPUDevice;

function upload(data: Float32Array | Int32Array): GPUBuffer {
  const b = device.createBuffer({ size: Math.max(16, data.byteLength), usage: 128 | 8 }); // STORAGE | COPY_DST
  device.queue.writeBuffer(b, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  return b;
}

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(LossError);
  expect((err as Error).message).toMatch(pattern);
}

beforeAll(async () => {
  losses = await createLosses({ backend: 'webgpu', gpu });
  expect(losses.backend).toBe('webgpu');
  device = losses.device!;
});
afterAll(() => losses.dispose());

describe('device tensors checked on the GPU', () => {
  const x = new Float32Array([0.5, 1.5, -2, 3, 0.1, 0.2]);
  it('out-of-range class index in a device target rejects, for every reduction and NLL', async () => {
    const input = { buffer: upload(x), shape: [2, 3] };
    const bad = { buffer: upload(new Int32Array([1, 3])), shape: [2], dtype: 'int32' as const };
    for (const reduction of ['none', 'mean', 'sum'] as const) {
      await rejects(losses.crossEntropy(input, bad, { reduction }), /^crossEntropy: target .*out of range \[0, 3\)/);
      await rejects(losses.nllLoss(input, bad, { reduction }), /^nllLoss: target .*out of range/);
    }
    const negative = { buffer: upload(new Int32Array([-5, 0])), shape: [2], dtype: 'int32' as const };
    await rejects(losses.crossEntropy(input, negative), /out of range/);
  });

  it('ignoreIndex in a device target is not an error, and the result matches the host target', async () => {
    const input = { buffer: upload(x), shape: [2, 3] };
    const t = new Int32Array([-100, 2]);
    const onDevice = await losses.crossEntropy(input, { buffer: upload(t), shape: [2], dtype: 'int32' });
    const onHost = await losses.crossEntropy({ data: x, shape: [2, 3] }, t);
    expect(onDevice).toBe(onHost);
  });

  it('BCE on a device input outside [0, 1] or NaN rejects', async () => {
    const target = { buffer: upload(new Float32Array([0, 1, 0, 1])), shape: [4] };
    for (const bad of [[0.5, 1.5, 0.2, 0.3], [0.5, -0.1, 0.2, 0.3], [0.5, NaN, 0.2, 0.3]]) {
      const input = { buffer: upload(new Float32Array(bad)), shape: [4] };
      await rejects(losses.binaryCrossEntropy(input, target), /^binaryCrossEntropy: input .*outside \[0, 1\]/);
      await rejects(losses.binaryCrossEntropy(input, target, { reduction: 'none' }), /outside \[0, 1\]/);
    }
    const good = { buffer: upload(new Float32Array([0, 1, 0.25, 0.75])), shape: [4] };
    expect(Number.isFinite(await losses.binaryCrossEntropy(good, target))).toBe(true);
  });
});
