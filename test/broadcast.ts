/**
 * BCE / BCE-with-logits weights broadcast to the input's shape by PyTorch's general rules ((N, 1)
 * per-sample weights for (N, C), (1, C, 1), (N, 1, L), scalars …), losses and gradients against
 * the float64 references given the weight expanded here, independently of the library. Shared by
 * the CPU and GPU test files.
 */
import { describe, expect, it } from 'vitest';
import { LossError } from '../src/index.js';
import type { Losses } from '../src/index.js';
import * as gref from './grad-reference.js';
import * as ref from './reference.js';
import { Rng, uniform } from './rng.js';

/** The weight expanded to the input's shape by broadcasting (right-aligned; dims of 1 repeat). */
export function expand(w: Float32Array, wshape: number[], shape: number[]): Float32Array {
  const r = shape.length, ws = [...new Array<number>(Math.max(0, r - wshape.length)).fill(1), ...wshape.slice(Math.max(0, wshape.length - r))];
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let rem = i, src = 0, stride = 1;
    for (let d = r - 1; d >= 0; d--) {
      const idx = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      if (ws[d] !== 1) src += idx * stride;
      stride *= ws[d];
    }
    out[i] = w[src];
  }
  return out;
}

const CASES: [number[], number[]][] = [
  [[6, 5], [6, 1]], [[6, 5], [1, 5]], [[6, 5], [1, 1]], [[6, 5], []], [[6, 5], [6, 5]], [[6, 5], [1, 6, 5]],
  [[4, 3, 5], [1, 3, 1]], [[4, 3, 5], [4, 1, 5]], [[4, 3, 5], [4, 1, 1]], [[4, 3, 5], [3, 1]], [[4, 3, 5], [4, 3, 1]],
  [[2, 3, 4, 5], [2, 1, 4, 1]], [[2, 3, 4, 5], [1, 3, 1, 5]],
  [[1, 7], [1, 7]], [[7, 1], [7, 1]], [[5], [1]],
];

export function broadcastSuite(make: () => Promise<Losses>, seed: number, tol: number): void {
  describe(`BCE weights broadcast by PyTorch's rules (SEED=${seed})`, () => {
    it('every case: losses of each reduction and gradients match float64 of the expanded weight', async () => {
      const L = await make();
      const rng = Rng.for(seed, 'broadcast-general');
      const failures: string[] = [];
      const close = (a: number, b: number) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
      for (const [shape, wshape] of CASES) {
        const n = shape.reduce((a, b) => a * b, 1), wn = wshape.reduce((a, b) => a * b, 1);
        const x = uniform(rng, n, 0.02, 0.98), z = uniform(rng, n, -4, 4), t = uniform(rng, n, 0, 1), w = uniform(rng, wn, 0.1, 2);
        const full = expand(w, wshape, shape);
        const weight = { data: w, shape: wshape };
        for (const reduction of ['none', 'mean', 'sum'] as const) {
          const b = await L.binaryCrossEntropy({ data: x, shape }, t, { weight, reduction, grad: true });
          const rb = gref.binaryCrossEntropyGrad(x, shape, t, { weight: full, reduction });
          const zl = await L.binaryCrossEntropyWithLogits({ data: z, shape }, t, { weight, reduction, grad: true, posWeight: new Float32Array([1.5]) });
          const rz = gref.binaryCrossEntropyWithLogitsGrad(z, shape, t, { weight: full, reduction, posWeight: new Float32Array([1.5]) });
          for (const [label, got, want] of [['bce', b, rb], ['bceLogits', zl, rz]] as const) {
            const gl = typeof got.loss === 'number' ? [got.loss] : Array.from(got.loss.data);
            const wl = typeof want.loss === 'number' ? [want.loss] : Array.from((want.loss as ref.Ref).data);
            gl.forEach((v, i) => close(v, wl[i]) || failures.push(`${label} [${shape}] w[${wshape}] ${reduction} loss[${i}] ${v} vs ${wl[i]}`));
            got.grad.data.forEach((v, i) => close(v, want.grad.data[i]) || failures.push(`${label} [${shape}] w[${wshape}] ${reduction} grad[${i}] ${v} vs ${want.grad.data[i]}`));
          }
        }
      }
      expect(failures.slice(0, 20)).toEqual([]);
    });

    it('shapes that do not broadcast reject with a LossError naming weight.shape', async () => {
      const L = await make();
      const x = new Float32Array(15).fill(0.5);
      for (const wshape of [[2, 5], [5, 1], [3, 2], [2, 3, 5], [15]]) {
        const n = wshape.reduce((a, b) => a * b, 1);
        const err = await L.binaryCrossEntropy({ data: x, shape: [3, 5] }, x, { weight: { data: new Float32Array(n).fill(1), shape: wshape } }).then(() => null, (e: unknown) => e);
        expect(err, `[${wshape}]`).toBeInstanceOf(LossError);
        expect((err as Error).message).toMatch(/^binaryCrossEntropy: weight\.shape/);
      }
    });
  });
}
