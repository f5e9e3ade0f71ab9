// BCE weights given as tensors broadcast from the right like PyTorch: leading 1s broadcast, the
// rest must be the input's trailing dims; other shapes reject with a LossError.
import { describe, expect, it } from 'vitest';
import { createLosses, LossError } from '../../src/index.js';
import { expectClose } from '../fixtures.js';
import * as ref from '../reference.js';
import { baseSeed, Rng, uniform } from '../rng.js';

const SEED = baseSeed();

describe(`BCE weight tensors (SEED=${SEED})`, () => {
  it('shapes [1, C], [1, 1, C] and [N, C] match the float64 reference of the same weights', async () => {
    const losses = await createLosses({ backend: 'cpu' });
    const rng = Rng.for(SEED, 'broadcast');
    const shape = [3, 5];
    const x = uniform(rng, 15, 0.01, 0.99), t = uniform(rng, 15, 0, 1), w5 = uniform(rng, 5, 0.1, 2);
    const full = new Float32Array(15).map((_, i) => w5[i % 5]);
    for (const wshape of [[1, 5], [1, 1, 5]]) {
      const got = await losses.binaryCrossEntropy({ data: x, shape }, t, { weight: { data: w5, shape: wshape }, reduction: 'none' });
      expectClose(got, ref.binaryCrossEntropy(x, shape, t, { weight: full, reduction: 'none' }) as never, 'loss', `weight [${wshape}]`);
    }
    const got = await losses.binaryCrossEntropyWithLogits({ data: x, shape }, t, { weight: { data: full, shape: [3, 5] } });
    expectClose(got, ref.binaryCrossEntropyWithLogits(x, shape, t, { weight: full }) as never, 'loss', 'weight [3, 5]');
  });

  it('a weight that broadcasts along a middle or trailing 1 rejects with a LossError naming weight.shape', async () => {
    const losses = await createLosses({ backend: 'cpu' });
    const x = new Float32Array(15).fill(0.5);
    for (const wshape of [[3, 1], [2, 5], [5, 1]]) {
      const n = wshape[0] * wshape[1];
      const err = await losses.binaryCrossEntropy({ data: x, shape: [3, 5] }, x, { weight: { data: new Float32Array(n).fill(1), shape: wshape } }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(LossError);
      expect((err as Error).message).toMatch(/^binaryCrossEntropy: weight\.shape/);
    }
  });
});
