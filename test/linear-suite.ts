/**
 * linearCrossEntropy on one backend (test/cpu/linear.test.ts, test/gpu/linear.test.ts): PyTorch's
 * float64 autograd (test/fixtures/torch-linear), fresh random cases against the float64 reference,
 * half-precision operands, agreement with crossEntropy on materialised logits, a small language
 * model trained both ways, and bad input.
 */
import { describe, expect, it } from 'vitest';
import { decodeHalf, LossError } from '../src/index.js';
import type { HalfTensor, HostTensor, Losses } from '../src/index.js';
import { loadLargeLinearCases, loadLinearCases } from './linear-fixtures.js';
import type { LinearCase, LinearOptions } from './linear-fixtures.js';
import { expectCase, expectClose, halfCase, randomCase, runLinear, tolerance } from './linear-cases.js';
import { baseSeed, randn, Rng } from './rng.js';

const f32 = Math.fround;

/** The logits hidden·weightᵀ + bias in float32, each dot product summed in index order (the documented order). */
export function materialize(c: { N: number; D: number; V: number; hidden: Float32Array; weight: Float32Array; bias?: Float32Array }): Float32Array {
  const z = new Float32Array(c.N * c.V);
  for (let r = 0; r < c.N; r++) {
    for (let v = 0; v < c.V; v++) {
      let acc = 0;
      for (let d = 0; d < c.D; d++) acc = f32(acc + f32(c.hidden[r * c.D + d] * c.weight[v * c.D + d]));
      z[r * c.V + v] = c.bias ? f32(acc + c.bias[v]) : acc;
    }
  }
  return z;
}

/** d hidden = G·W, d weight = Gᵀ·H, d bias = Σ_r G, float32 sums in index order. */
function backProducts(G: Float32Array, c: { N: number; D: number; V: number; hidden: Float32Array; weight: Float32Array }) {
  const hidden = new Float32Array(c.N * c.D), weight = new Float32Array(c.V * c.D), bias = new Float32Array(c.V);
  for (let r = 0; r < c.N; r++) {
    for (let v = 0; v < c.V; v++) {
      const g = G[r * c.V + v];
      for (let d = 0; d < c.D; d++) {
        hidden[r * c.D + d] += f32(g * c.weight[v * c.D + d]);
        weight[v * c.D + d] += f32(g * c.hidden[r * c.D + d]);
      }
      bias[v] += g;
    }
  }
  return { hidden, weight, bias };
}

const REDUCTIONS = ['mean', 'sum', 'none'] as const;

export function linearSuite(name: string, make: () => Promise<Losses>, o: { bitwiseWithMaterialized: boolean }): void {
  describe(`linearCrossEntropy (${name})`, () => {
    let l: Losses;
    const losses = async () => (l ??= await make());
    const seed = baseSeed();

    describe('PyTorch float64 autograd', () => {
      for (const c of loadLinearCases()) {
        it(c.name, async () => {
          const withGrad = await runLinear(await losses(), c, true);
          expectCase(c, withGrad);
          // Without gradients: the same loss, bit for bit (the same forward pass).
          const alone = await runLinear(await losses(), c, false);
          expectCase(c, alone);
          expect(alone.loss).toEqual(withGrad.loss);
        });
      }
      for (const c of loadLargeLinearCases()) {
        it(`${c.name} (N ${c.N}, D ${c.D}, V ${c.V})`, async () => {
          expectCase(c, await runLinear(await losses(), c, true));
        });
      }
    });

    describe(`fresh random cases against the float64 reference (SEED=${seed})`, () => {
      const shapes: [number, number, number][] = [[1, 1, 2], [3, 5, 7], [17, 12, 33], [64, 16, 100], [33, 4, 129], [5, 3, 1000], [2, 8, 8192]];
      const variants: (LinearOptions & { bias?: boolean; ignored?: number })[] = [
        {}, { bias: true }, { ignored: 0.3, bias: true }, { labelSmoothing: 0.1 }, { zLoss: 1e-3, bias: true },
        { softcap: 3, zLoss: 0.02, labelSmoothing: 0.2, ignored: 0.25, ignoreIndex: -1, bias: true },
      ];
      for (const [N, D, V] of shapes) {
        for (const v of variants) {
          for (const reduction of REDUCTIONS) {
            const { bias, ignored, ...opts } = v;
            it(`N ${N} D ${D} V ${V} ${JSON.stringify(v)} ${reduction}`, async () => {
              const rng = Rng.for(seed, `${N} ${D} ${V} ${JSON.stringify(v)} ${reduction}`);
              const c = randomCase(rng, N, D, V, { ...opts, reduction }, { bias, ignored, scale: opts.softcap ? 4 : 1 });
              expectCase(c, await runLinear(await losses(), c, true));
            });
          }
        }
      }
    });

    describe('half-precision operands: results in their dtypes, arithmetic in float32', () => {
      for (const [hd, wd] of [['float16', 'float16'], ['bfloat16', 'float16'], ['float16', 'bfloat16']] as const) {
        it(`hidden ${hd}, weight ${wd}, bias float32, zLoss + smoothing, mean and none`, async () => {
          for (const reduction of ['mean', 'none'] as const) {
            const base = randomCase(Rng.for(seed, `${hd} ${wd} ${reduction}`), 19, 8, 77, { reduction, zLoss: 1e-3, labelSmoothing: 0.1 }, { bias: true, ignored: 0.2 });
            const { c, hidden, weight } = halfCase(base, hd, wd);
            const res = (await (await losses()).linearCrossEntropy(hidden, weight, c.target, {
              ...c.options, bias: c.bias, grad: true, gradOutput: c.gradOutput,
            })) as unknown as { loss: number | HalfTensor; grad: { hidden: HalfTensor; weight: HalfTensor; bias: HostTensor } };
            expect(res.grad.hidden.dtype).toBe(hd);
            expect(res.grad.weight.dtype).toBe(wd);
            expect(res.grad.bias.data).toBeInstanceOf(Float32Array);
            const dec = (t: HalfTensor) => decodeHalf(t.data, t.dtype);
            const loss = typeof res.loss === 'number' ? res.loss : dec(res.loss);
            // Rounding each result to half costs half an ulp of it: 2^-9 (float16), 2^-8 (bfloat16) of the largest.
            const tolOf = (d: string) => Math.max(tolerance(c), d === 'float16' ? 2 ** -10 : 2 ** -8);
            expectClose('loss', loss, c.expected.loss, tolOf(typeof res.loss === 'number' ? 'float32' : hd));
            expectClose('grad hidden', dec(res.grad.hidden), c.expected.grad.hidden, tolOf(hd));
            expectClose('grad weight', dec(res.grad.weight), c.expected.grad.weight, tolOf(wd));
            expectClose('grad bias', res.grad.bias.data, c.expected.grad.bias!, tolerance(c));
            // outputDtype: float32 results of the same half inputs, at float32 accuracy.
            const f = (await (await losses()).linearCrossEntropy(hidden, weight, c.target, {
              ...c.options, bias: c.bias, grad: true, gradOutput: c.gradOutput, outputDtype: 'float32',
            })) as unknown as { grad: { hidden: HostTensor; weight: HostTensor } };
            expectClose('grad hidden (float32 out)', f.grad.hidden.data, c.expected.grad.hidden, tolerance(c));
            expectClose('grad weight (float32 out)', f.grad.weight.data, c.expected.grad.weight, tolerance(c));
          }
        });
      }
    });

    describe('the same as crossEntropy on the materialised logits', () => {
      for (const reduction of REDUCTIONS) {
        it(`loss, d logits → the three gradients, ${reduction}`, async () => {
          const opts = { reduction, zLoss: 1e-3, labelSmoothing: 0.1, softcap: 5, ignoreIndex: 3 };
          const c = randomCase(Rng.for(seed, `materialised ${reduction}`), 45, 12, 301, opts, { bias: true, scale: 3 });
          const lib = await losses();
          const z = materialize(c);
          const ce = (await lib.crossEntropy({ data: z, shape: [c.N, c.V] }, c.target, { ...opts, grad: true, gradOutput: c.gradOutput })) as
            { loss: number | HostTensor; grad: HostTensor };
          const want = { loss: typeof ce.loss === 'number' ? ce.loss : ce.loss.data, grad: backProducts(ce.grad.data, c) };
          const got = await runLinear(lib, c, true);
          if (o.bitwiseWithMaterialized) {
            // One chunk holds every row here: the same row plan, the same float32 operations.
            expect(got.loss).toEqual(want.loss);
            expect(got.grad!.hidden).toEqual(want.grad.hidden);
            expect(got.grad!.weight).toEqual(want.grad.weight);
            expect(got.grad!.bias).toEqual(want.grad.bias);
          } else {
            const tol = tolerance(c, 1e-5);
            expectClose('loss', got.loss, want.loss, tol);
            expectClose('grad hidden', got.grad!.hidden, want.grad.hidden, tol);
            expectClose('grad weight', got.grad!.weight, want.grad.weight, tol);
            expectClose('grad bias', got.grad!.bias!, want.grad.bias, tol);
          }
        });
      }
    });

    it('a bigram language model trained 8 steps: the same parameters as through crossEntropy on materialised logits', async () => {
      // Embedding E (V, D) and LM head W (V, D), b (V); next-token prediction on a fixed token stream.
      const V = 37, D = 16, T = 96, lr = 4;
      const rng = Rng.for(seed, 'bigram');
      const tokens = Int32Array.from({ length: T + 1 }, (_, i) => (i * 7 + (i % 5 === 0 ? rng.int(0, V) : 3)) % V);
      const init = { E: randn(rng, V * D, 0.3), W: randn(rng, V * D, 0.3), b: new Float32Array(V) };
      const target = tokens.slice(1);
      const lib = await losses();
      const train = async (fused: boolean) => {
        const E = init.E.slice(), W = init.W.slice(), b = init.b.slice();
        const history: number[] = [];
        for (let step = 0; step < 8; step++) {
          const hidden = new Float32Array(T * D);
          for (let t = 0; t < T; t++) hidden.set(E.subarray(tokens[t] * D, tokens[t] * D + D), t * D);
          let loss: number, g: { hidden: Float32Array; weight: Float32Array; bias: Float32Array };
          if (fused) {
            const r = await lib.linearCrossEntropy({ data: hidden, shape: [T, D] }, { data: W, shape: [V, D] }, target, { bias: b, grad: true });
            loss = r.loss;
            g = { hidden: r.grad.hidden.data, weight: r.grad.weight.data, bias: r.grad.bias!.data };
          } else {
            const c = { N: T, D, V, hidden, weight: W, bias: b };
            const r = await lib.crossEntropy({ data: materialize(c), shape: [T, V] }, target, { grad: true });
            loss = r.loss;
            g = backProducts(r.grad.data, c);
          }
          history.push(loss);
          for (let i = 0; i < W.length; i++) W[i] = f32(W[i] - f32(lr * g.weight[i]));
          for (let i = 0; i < V; i++) b[i] = f32(b[i] - f32(lr * g.bias[i]));
          for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) E[tokens[t] * D + d] = f32(E[tokens[t] * D + d] - f32(lr * g.hidden[t * D + d]));
        }
        return { E, W, b, history };
      };
      const fused = await train(true), plain = await train(false);
      expect(fused.history[7]).toBeLessThan(fused.history[0] * 0.9); // it learns
      const tol = o.bitwiseWithMaterialized ? 0 : 1e-4;
      expectClose('loss history', fused.history, plain.history, tol);
      expectClose('W', fused.W, plain.W, tol);
      expectClose('b', fused.b, plain.b, tol);
      expectClose('E', fused.E, plain.E, tol);
    });

    describe('bad input is a LossError naming the argument', () => {
      const h = { data: new Float32Array(6), shape: [2, 3] }, w = { data: new Float32Array(12), shape: [4, 3] };
      const t = new Int32Array([0, 3]);
      const bad: [string, () => [unknown, unknown, unknown, unknown], RegExp][] = [
        ['D mismatch', () => [h, { data: new Float32Array(8), shape: [4, 2] }, t, {}], /weight has shape \[4, 2\].*D = 3/],
        ['hidden not 2-D', () => [{ data: new Float32Array(6), shape: [6] }, w, t, {}], /hidden must have 2 dims/],
        ['weight not 2-D', () => [h, { data: new Float32Array(12), shape: [12] }, t, {}], /weight must have 2 dims/],
        ['V = 0', () => [h, { data: new Float32Array(0), shape: [0, 3] }, t, {}], /at least one class/],
        ['target length', () => [h, w, new Int32Array(3), {}], /target/],
        ['target out of range', () => [h, w, new Int32Array([0, 4]), {}], /target\[1\] = 4/],
        ['probability targets', () => [h, w, new Float32Array(2), {}], /class indices/],
        ['bias length', () => [h, w, t, { bias: new Float32Array(3) }], /bias/],
        ['bias not an array', () => [h, w, t, { bias: 1 }], /bias/],
        ['a misspelt option', () => [h, w, t, { ignore_index: 1 }], /ignore_index/],
        ['class weights are not an option here', () => [h, w, t, { weight: new Float32Array(4) }], /weight/],
        ['inPlace', () => [h, w, t, { grad: true, inPlace: true }], /inPlace/],
        ['negative zLoss', () => [h, w, t, { zLoss: -1 }], /zLoss/],
        ['softcap 0', () => [h, w, t, { softcap: 0 }], /softcap/],
        ['gradOutput with mean', () => [h, w, t, { grad: true, gradOutput: new Float32Array(2) }], /gradOutput/],
        ['gradOutput length', () => [h, w, t, { grad: true, reduction: 'none', gradOutput: new Float32Array(3) }], /gradOutput/],
        ['non-finite logits', () => [{ data: new Float32Array([1, NaN, 0, 0, 0, 0]), shape: [2, 3] }, w, t, {}], /finite/],
        ['overflowing logits', () => [{ data: new Float32Array(6).fill(3e38), shape: [2, 3] }, { data: new Float32Array(12).fill(3e38), shape: [4, 3] }, t, {}], /finite/],
      ];
      for (const [what, args, message] of bad) {
        it(what, async () => {
          const [a, b, c, d] = args();
          const p = (await losses()).linearCrossEntropy(a as HostTensor, b as HostTensor, c as Int32Array, d as object);
          await expect(p).rejects.toBeInstanceOf(LossError);
          await expect(p).rejects.toThrow(message);
        });
      }
    });

    it('N = 0: PyTorch\'s empty results (mean NaN, sum 0) and zero gradients of the head', async () => {
      const lib = await losses();
      const w = randn(new Rng(1), 15, 1), bias = new Float32Array(5);
      const hidden = { data: new Float32Array(0), shape: [0, 3] }, weight = { data: w, shape: [5, 3] };
      expect(await lib.linearCrossEntropy(hidden, weight, new Int32Array(0))).toBeNaN();
      expect(await lib.linearCrossEntropy(hidden, weight, new Int32Array(0), { reduction: 'sum' })).toBe(0);
      const r = await lib.linearCrossEntropy(hidden, weight, new Int32Array(0), { grad: true, bias, reduction: 'sum' });
      expect(r.grad.hidden.shape).toEqual([0, 3]);
      expect(r.grad.weight).toEqual({ data: new Float32Array(15), shape: [5, 3] });
      expect(r.grad.bias).toEqual({ data: new Float32Array(5), shape: [5] });
    });

    it('inputs are captured at call time: refilling them at once changes nothing', async () => {
      const c = randomCase(Rng.for(seed, 'capture'), 9, 6, 40, { labelSmoothing: 0.1 }, { bias: true });
      const lib = await losses();
      const hidden = c.hidden.slice(), weight = c.weight.slice(), bias = c.bias!.slice(), target = c.target.slice();
      const p = lib.linearCrossEntropy({ data: hidden, shape: [c.N, c.D] }, { data: weight, shape: [c.V, c.D] }, target, { ...c.options, bias, grad: true });
      hidden.fill(7); weight.fill(-3); bias.fill(100); target.fill(0);
      const r = await p;
      expectCase(c, { loss: r.loss as number, grad: { hidden: r.grad.hidden.data, weight: r.grad.weight.data, bias: r.grad.bias!.data } });
    });
  });
}

export type { LinearCase };
