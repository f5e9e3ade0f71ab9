/**
 * The hostile-input suite, shared by the CPU (test/cpu/hostile.test.ts) and WebGPU
 * (test/gpu/hostile.test.ts) runs: every way a user can hand the library something odd must end in
 * a LossError or in the right answer (against the float64 reference), never a wrong number, a hang
 * or another kind of error.
 */
import { describe, expect, it } from 'vitest';
import { LossError } from '../src/index.js';
import type { Losses } from '../src/index.js';
import { captureChecks } from './capture.js';
import * as ref from './reference.js';

type Method = (...args: unknown[]) => Promise<unknown>;
export const call = (L: Losses, method: string, ...args: unknown[]) => (L as unknown as Record<string, Method>)[method](...args);

/** The rejection of `p`, required to be a LossError whose message matches every needle. */
export async function lossError(p: unknown, ...needles: (RegExp | string)[]): Promise<LossError> {
  expect(p, 'a promise, not a synchronous throw').toBeInstanceOf(Promise);
  let err: unknown, value: unknown;
  try {
    value = await p;
  } catch (e) {
    err = e;
  }
  if (err === undefined) throw new Error(`resolved to ${JSON.stringify(value)} instead of rejecting with a LossError`);
  expect(err, String(err)).toBeInstanceOf(LossError);
  const e = err as LossError;
  expect(e.name).toBe('LossError');
  for (const n of needles) expect(e.message).toMatch(n);
  return e;
}

const x45 = () => ({ data: new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5, -1, 2, 0, 1, 3, 1, 1, 1, 1, 1, 0, 0.5, 0.25, 0.125, 2]), shape: [4, 5] });
const p45 = () => new Float32Array(20).fill(0.25);
const close = (a: number, b: number, tol = 2e-5) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)) || (Number.isNaN(a) && Number.isNaN(b));

/** A valid call of every method: [method, args without options, options every method accepts]. */
export const VALID: [string, () => unknown[]][] = [
  ['softmax', () => [x45()]],
  ['logSoftmax', () => [x45()]],
  ['softmaxBackward', () => [x45(), p45()]],
  ['logSoftmaxBackward', () => [x45(), p45()]],
  ['sigmoid', () => [x45()]],
  ['crossEntropy', () => [x45(), new Int32Array([0, 1, 4, 2])]],
  ['nllLoss', () => [x45(), new Int32Array([0, 1, 4, 2])]],
  ['binaryCrossEntropy', () => [{ data: p45(), shape: [4, 5] }, p45()]],
  ['binaryCrossEntropyWithLogits', () => [x45(), p45()]],
  ['klDiv', () => [x45(), p45()]],
  ['entropy', () => [x45()]],
];

/** Misspellings and the key each one meant. */
const TYPOS: Record<string, [string, string][]> = {
  crossEntropy: [['ignore_index', 'ignoreIndex'], ['label_smoothing', 'labelSmoothing'], ['reductions', 'reduction'], ['Grad', 'grad'], ['weights', 'weight'], ['in_place', 'inPlace']],
  nllLoss: [['ignore_index', 'ignoreIndex'], ['reductoin', 'reduction']],
  binaryCrossEntropyWithLogits: [['pos_weight', 'posWeight'], ['posweight', 'posWeight']],
  binaryCrossEntropy: [['Reduction', 'reduction']],
  klDiv: [['log_target', 'logTarget'], ['logtarget', 'logTarget']],
  softmax: [['Dim', 'dim'], ['axis', '']],
  entropy: [['dims', 'dim']],
  sigmoid: [['outptu', 'output']],
};

/** Options a method does not take (implemented elsewhere): they reject rather than being ignored. */
const UNSUPPORTED: [string, Record<string, unknown>][] = [
  ['entropy', { grad: true }], ['sigmoid', { grad: true }], ['softmax', { grad: true }], ['klDiv', { weight: new Float32Array(20) }],
  ['nllLoss', { labelSmoothing: 0.5 }], ['binaryCrossEntropy', { posWeight: new Float32Array([1]) }], ['softmax', { reduction: 'sum' }],
];

export function hostileSuite(make: () => Promise<Losses>, opts: { gpu: boolean }): void {
  describe('inputs are captured at call time', () => {
    it('overwriting every input right after the call changes nothing (and cannot bypass validation)', async () => {
      const L = await make();
      expect(await captureChecks(L)).toEqual([]);
    });
  });

  describe('strict options', () => {
    for (const [method, typos] of Object.entries(TYPOS)) {
      for (const [typo, meant] of typos) {
        it(`${method}({ ${typo} }) names the key${meant ? ` and suggests ${meant}` : ''}`, async () => {
          const L = await make();
          const [, args] = VALID.find(([m]) => m === method)!;
          const e = await lossError(call(L, method, ...args(), { [typo]: 1 }), new RegExp(`^${method}:`), `"${typo}"`);
          if (meant) expect(e.message).toContain(`did you mean "${meant}"`);
        });
      }
    }
    for (const [method, o] of UNSUPPORTED) {
      it(`${method} rejects ${Object.keys(o)[0]}, which it does not take`, async () => {
        const L = await make();
        const [, args] = VALID.find(([m]) => m === method)!;
        await lossError(call(L, method, ...args(), o), new RegExp(`^${method}:`), `"${Object.keys(o)[0]}"`);
      });
    }
    for (const [method, args] of VALID) {
      it(`${method}: options that are not an object reject`, async () => {
        const L = await make();
        for (const bad of ['sum', null, 3, [1], new Float32Array(2)]) await lossError(call(L, method, ...args(), bad), /options must be an object/);
      });
    }
    it('string values are quoted in messages', async () => {
      const L = await make();
      await lossError(L.crossEntropy(x45(), new Int32Array([0, 1, 4, 2]), { ignoreIndex: '2' as never }), 'ignoreIndex = "2"');
      await lossError(L.crossEntropy(x45(), new Int32Array([0, 1, 4, 2]), { reduction: 'avg' as never }), 'reduction = "avg"');
      await lossError(L.softmax(x45(), { dim: '1' as never }), 'dim = "1"');
    });
  });

  describe('int32 edges of class indices', () => {
    for (const ii of [2 ** 31, 2 ** 32, -(2 ** 31) - 1, 1.5, Number.NaN, Infinity]) {
      it(`ignoreIndex = ${ii} rejects`, async () => {
        const L = await make();
        await lossError(L.crossEntropy(x45(), new Int32Array([0, 1, 4, 2]), { ignoreIndex: ii }), /^crossEntropy: ignoreIndex/);
        await lossError(L.nllLoss(x45(), new Int32Array([0, 1, 4, 2]), { ignoreIndex: ii }), /^nllLoss: ignoreIndex/);
      });
    }
    for (const ii of [-(2 ** 31), 2 ** 31 - 1]) {
      it(`ignoreIndex = ${ii} (an int32 bound) ignores exactly the targets that hold it`, async () => {
        const L = await make();
        const x = x45(), target = new Int32Array([0, ii, 4, 2]);
        const got = await L.crossEntropy(x, target, { ignoreIndex: ii });
        const want = ref.crossEntropy(x.data, x.shape, target, { ignoreIndex: ii }) as number;
        expect(close(got, want), `${got} vs ${want}`).toBe(true);
        await lossError(L.crossEntropy(x45(), new Int32Array([0, ii, 4, 2])), /target\[1\]/);
      });
    }
  });

  describe('empty tensors cost nothing, whatever their other dims', () => {
    const huge = [1e300, 1e9, 2 ** 53 + 2];
    for (const big of huge) {
      it(`softmax, logSoftmax, sigmoid of shape [${big}, 0] and [0, ${big}] return empty at once`, { timeout: 5000 }, async () => {
        const L = await make();
        for (const shape of [[big, 0], [0, big], [big, 0, big]]) {
          for (const m of ['softmax', 'logSoftmax', 'sigmoid']) {
            const r = (await call(L, m, { data: new Float32Array(0), shape })) as { data: Float32Array; shape: number[] };
            expect(r.data.length).toBe(0);
            expect(r.shape).toEqual(shape);
          }
          const b = (await L.softmaxBackward({ data: new Float32Array(0), shape }, new Float32Array(0))) as { data: Float32Array };
          expect(b.data.length).toBe(0);
        }
      });
      it(`losses of empty batches with a huge dim ([0, ${big}]): PyTorch's empty answers`, { timeout: 5000 }, async () => {
        const L = await make();
        const x = { data: new Float32Array(0), shape: [0, big] };
        expect(await L.crossEntropy(x, new Int32Array(0))).toBeNaN();
        expect(await L.crossEntropy(x, new Int32Array(0), { reduction: 'sum' })).toBe(0);
        expect(((await L.crossEntropy(x, new Int32Array(0), { reduction: 'none' })) as { data: Float32Array }).data.length).toBe(0);
        const g = await L.crossEntropy(x, new Int32Array(0), { grad: true });
        expect(g.loss).toBeNaN();
        expect(g.grad.data.length).toBe(0);
        expect(await L.nllLoss(x, new Int32Array(0), { reduction: 'sum' })).toBe(0);
        expect(await L.binaryCrossEntropyWithLogits(x, new Float32Array(0))).toBeNaN();
        expect(await L.binaryCrossEntropy(x, new Float32Array(0), { reduction: 'sum' })).toBe(0);
        expect(await L.klDiv(x, new Float32Array(0), { reduction: 'batchmean' })).toBeNaN();
        expect(await L.klDiv({ data: new Float32Array(0), shape: [3, 0] }, new Float32Array(0), { reduction: 'batchmean' })).toBe(0);
        expect(((await L.entropy({ data: new Float32Array(0), shape: [0, big] })) as { data: Float32Array }).data.length).toBe(0);
      });
    }
    it('a distribution over zero categories rejects (entropy of shape [1e300, 0])', async () => {
      const L = await make();
      await lossError(L.entropy({ data: new Float32Array(0), shape: [1e300, 0] }), /^entropy: logits\.shape\[1\] = 0/);
      await lossError(L.crossEntropy({ data: new Float32Array(0), shape: [1e300, 0] }, new Int32Array(0)), /at least one class/);
    });
  });

  describe('arguments that are not what they claim', () => {
    it('class indices of the wrong type say what is expected', async () => {
      const L = await make();
      for (const bad of [new Uint8Array(4), new Uint32Array(4), [0, 1, 4, 2]]) {
        await lossError(L.crossEntropy(x45(), bad as never), /Int32Array/, /got a|got an/);
        await lossError(L.nllLoss(x45(), bad as never), /Int32Array/);
      }
    });
    it('softmaxBackward / logSoftmaxBackward without dy reject', async () => {
      const L = await make();
      await lossError((L.softmaxBackward as Method)(x45()), /^softmaxBackward: dy is missing/);
      await lossError((L.logSoftmaxBackward as Method)(x45()), /^logSoftmaxBackward: dy is missing/);
      await lossError(L.softmaxBackward(x45(), undefined as never, { dim: 0 }), /dy is missing/);
    });
    it('a posWeight that is not a Float32Array names what it got', async () => {
      const L = await make();
      await lossError(L.binaryCrossEntropyWithLogits(x45(), p45(), { posWeight: { data: new Float32Array(5), shape: [5] } as never }), /posWeight must be a Float32Array/, /got an object/);
    });
    it('a Proxy around a Float32Array, null buffers, nonsense shapes and data reject', async () => {
      const L = await make();
      const proxied = new Proxy(new Float32Array(20), {});
      await lossError(L.softmax({ data: proxied, shape: [4, 5] }), /x\.data must be a Float32Array/);
      await lossError(L.softmax({ buffer: null, shape: [4, 5] } as never), /x\.buffer must be a GPUBuffer/);
      await lossError(L.softmax({ buffer: {}, shape: [4, 5] } as never), /GPUBuffer/);
      for (const shape of [[4, -5], [4, 5.5], [4, '5'], 'x', null, [NaN], [Infinity, 0]]) {
        await lossError(L.softmax({ data: new Float32Array(20), shape } as never), /^softmax: x\.shape/);
      }
      for (const x of [null, undefined, 5, 'x', new Float32Array(3), [1, 2]]) await lossError(call(L, 'softmax', x), /^softmax: x must be a tensor/);
      await lossError(L.crossEntropy({ data: new Float64Array(20) as never, shape: [4, 5] }, new Int32Array(4)), /input\.data must be a Float32Array/, /Float64Array/);
    });
    it('inPlace with an operand sharing the input\'s memory rejects', async () => {
      const L = await make();
      const x = x45();
      await lossError(L.crossEntropy(x, x.data, { grad: true, inPlace: true }), /inPlace: target shares memory/);
      await lossError(L.crossEntropy(x, x.data.subarray(0, 20), { grad: true, inPlace: true }), /shares memory/);
      await lossError(L.binaryCrossEntropyWithLogits(x, p45(), { grad: true, inPlace: true, reduction: 'none', gradOutput: x }), /gradOutput shares memory/);
      // Views of one buffer that do not overlap are fine.
      const buf = new Float32Array(40);
      buf.set(x.data);
      buf.fill(0.2, 20);
      const r = await L.crossEntropy({ data: buf.subarray(0, 20), shape: [4, 5] }, buf.subarray(20), { grad: true, inPlace: true });
      expect(Number.isFinite(r.loss)).toBe(true);
    });
    it('inputs in shared memory (SharedArrayBuffer) work like any other', async () => {
      const L = await make();
      const share = <T extends Float32Array | Int32Array>(a: T): T => {
        const s = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
        s.set(a as never);
        return s;
      };
      const x = x45(), t = new Int32Array([0, 1, 4, 2]), w = new Float32Array([1, 2, 3, 4, 5]);
      const want = ref.crossEntropy(x.data, x.shape, t, { weight: w }) as number;
      const got = await L.crossEntropy({ data: share(x.data), shape: x.shape }, share(t), { weight: share(w) });
      expect(close(got, want), `${got} vs ${want}`).toBe(true);
      const g = await L.binaryCrossEntropyWithLogits({ data: share(x.data), shape: x.shape }, share(p45()), { grad: true, reduction: 'sum' });
      const gw = ref.binaryCrossEntropyWithLogits(x.data, x.shape, p45(), { reduction: 'sum' }) as number;
      expect(close(g.loss, gw), `${g.loss} vs ${gw}`).toBe(true);
    });
  });

  describe('life cycle', () => {
    it('every call after dispose() rejects, empty tensors included', async () => {
      const L = await make();
      L.dispose();
      L.dispose();
      for (const [m, args] of VALID) await lossError(call(L, m, ...args()), new RegExp(`^${m}: this Losses object was disposed`));
      await lossError(L.softmax({ data: new Float32Array(0), shape: [0, 5] }), /disposed/);
    });
  });

  describe('random malformed arguments (property test)', () => {
    it('1,000 random corruptions of valid calls: a LossError every time', async () => {
      const L = await make();
      const seed = (Date.now() ^ 0x5eed) >>> 0;
      let s = seed || 1;
      const rnd = (n: number) => {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        return s % n;
      };
      const garbage: unknown[] = [
        null, undefined, 0, -1, NaN, 'x', '', true, {}, [], [1, 2], new Float64Array(20), new Int8Array(20), new BigInt64Array(20),
        { data: null, shape: [4, 5] }, { data: new Float32Array(20) }, { shape: [4, 5] }, { data: new Float32Array(19), shape: [4, 5] },
        { data: new Float32Array(20), shape: [4, -5] }, { data: new Float32Array(20), shape: [20.5] }, { buffer: null, shape: [4, 5] },
        { buffer: { size: 80 }, shape: [4, 5] }, new Proxy(new Float32Array(20), {}), Symbol('s'), () => 1, 10n,
      ];
      const failures: string[] = [];
      for (let i = 0; i < 1000; i++) {
        const [method, argsOf] = VALID[rnd(VALID.length)];
        const args = argsOf();
        const kind = rnd(3);
        if (kind === 0) args[rnd(args.length)] = garbage[rnd(garbage.length)];
        else if (kind === 1) args.push({ [['reductio', 'ignore_index', 'foo', 'dim ', 'Output', 'grad_output'][rnd(6)]]: garbage[rnd(garbage.length)] });
        else args.push({ reduction: garbage[rnd(garbage.length)] ?? 'bogus', ...(rnd(2) ? { output: 'gpu' } : {}) });
        if (kind === 2 && (method === 'softmax' || method === 'logSoftmax' || method === 'sigmoid' || method.endsWith('Backward'))) continue;
        try {
          const p = call(L, method, ...args);
          if (!(p instanceof Promise)) {
            failures.push(`${method} #${i}: returned ${String(p)}`);
            continue;
          }
          const v = await p;
          failures.push(`${method} #${i} (${kind}): resolved to ${JSON.stringify(v)}`);
        } catch (e) {
          if (!(e instanceof LossError)) failures.push(`${method} #${i} (${kind}): ${e instanceof Error ? e.name : typeof e}: ${String(e)}`);
        }
        if (failures.length > 10) break;
      }
      expect(failures, `seed ${seed}`).toEqual([]);
    });
  });

  if (!opts.gpu) {
    it('device tensors and device outputs need the webgpu backend', async () => {
      const L = await make();
      await lossError(L.softmax(x45(), { output: 'device' }), /output 'device' needs the webgpu backend/);
      await lossError(L.softmax({ data: new Float32Array(0), shape: [0, 3] }, { output: 'device' }), /webgpu backend/);
    });
  }
}
