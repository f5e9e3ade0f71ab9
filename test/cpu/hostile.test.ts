/** The hostile-input suite (test/hostile.ts) on the CPU backend, and createLosses' own options. */
import { describe, expect, it } from 'vitest';
import { createLosses } from '../../src/index.js';
import { hostileSuite, lossError } from '../hostile.js';

hostileSuite(() => createLosses({ backend: 'cpu' }), { gpu: false });

describe('createLosses options', () => {
  it('unknown keys, misspellings and values of the wrong kind reject', async () => {
    await lossError(createLosses({ backend: 'gpu' as never }), /^createLosses: backend = "gpu"/);
    await lossError(createLosses({ backnd: 'cpu' } as never), /"backnd"/, /did you mean "backend"/);
    await lossError(createLosses({ max_binding_bytes: 4096 } as never), /did you mean "maxBindingBytes"/);
    await lossError(createLosses(null as never), /options must be an object/);
    await lossError(createLosses('cpu' as never), /options must be an object/);
    for (const v of [256, 4095, NaN, '4096', -1, 1e4 + 0.5, Infinity]) {
      await lossError(createLosses({ backend: 'cpu', maxBindingBytes: v as never }), /^createLosses: maxBindingBytes = /);
      await lossError(createLosses({ backend: 'cpu', maxBufferBytes: v as never }), /^createLosses: maxBufferBytes = /);
    }
    await lossError(createLosses({ backend: 'cpu', poison: 'yes' as never }), /poison = "yes"/);
  });
  it('a profile must be a whole, valid adapter profile (an empty one used to give NaN)', async () => {
    await lossError(createLosses({ backend: 'cpu', profile: {} as never }), /profile\.emulated/);
    const ok = { emulated: true, subgroupSize: 4, maxGroupsPerDim: 65535, maxBindingBytes: 1 << 20 };
    await lossError(createLosses({ backend: 'cpu', profile: { ...ok, subgroupSize: 3 } }), /subgroupSize = 3/);
    await lossError(createLosses({ backend: 'cpu', profile: { ...ok, maxGroupsPerDim: 0 } }), /maxGroupsPerDim = 0/);
    await lossError(createLosses({ backend: 'cpu', profile: { ...ok, maxBindingBytes: 16 } }), /maxBindingBytes = 16/);
    await lossError(createLosses({ backend: 'cpu', profile: { ...ok, extra: 1 } as never }), /"extra"/);
    const L = await createLosses({ backend: 'cpu', profile: ok });
    expect(await L.crossEntropy({ data: new Float32Array([0, 0]), shape: [1, 2] }, new Int32Array([1]))).toBeCloseTo(Math.LN2, 6);
  });
  it('a fake device or GPU object rejects with what was expected', async () => {
    await lossError(createLosses({ backend: 'webgpu', device: { features: new Set() } as never }), /device must be a GPUDevice/);
    await lossError(createLosses({ backend: 'webgpu', gpu: {} as never }), /gpu must be a GPU object/);
  });
  it("'auto' without WebGPU says why it fell back", async () => {
    const L = await createLosses({ gpu: { requestAdapter: async () => null } as never });
    expect(L.backend).toBe('cpu');
    expect(L.fallbackReason).toMatch(/no adapter/);
    expect((await createLosses({ backend: 'cpu' })).fallbackReason).toBeUndefined();
  });
});
