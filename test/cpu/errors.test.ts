/**
 * Every LossError case of README.md, "API" on the CPU backend: the call must reject (not throw
 * synchronously) with a LossError whose name is 'LossError' and whose message starts with the
 * method name and names the offending argument and, where there is one, its value.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createLosses, LossError } from '../../src/index.js';
import type { Losses } from '../../src/index.js';

let L: Losses;
beforeAll(async () => {
  L = await createLosses({ backend: 'cpu' });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A number or string value as it would be printed, not glued to other digits or letters. */
function value(v: number | string): RegExp {
  return new RegExp(`(?<![\\w.])${escape(String(v))}(?![\\w])`);
}
/** An argument name as a whole word (so 'weight' does not match inside 'posWeight'). */
function arg(name: string): RegExp {
  return new RegExp(`(?<![A-Za-z])${escape(name)}(?![a-z])`);
}

async function expectLossError(call: () => unknown, method: string, ...needles: RegExp[]): Promise<void> {
  let pending: unknown;
  try {
    pending = call();
  } catch (err) {
    throw new Error(`${method} threw synchronously instead of rejecting: ${String(err)}`);
  }
  expect(pending, `${method} must return a promise`).toBeInstanceOf(Promise);
  let err: unknown;
  let resolved: unknown;
  try {
    resolved = await pending;
  } catch (e) {
    err = e;
  }
  if (err === undefined) throw new Error(`${method} resolved (to ${JSON.stringify(resolved)}) instead of rejecting with a LossError`);
  expect(err, String(err)).toBeInstanceOf(LossError);
  expect(err).toBeInstanceOf(Error);
  const e = err as Error;
  expect(e.name).toBe('LossError');
  expect(e.message, 'the message starts with the method name').toMatch(new RegExp(`^${escape(method)}(?![A-Za-z])`));
  for (const n of needles) expect(e.message).toMatch(n);
}

const f32 = (n: number, v = 0.5) => new Float32Array(n).fill(v);
const x45 = () => ({ data: new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5, -1, 2, 0, 1, 3, 1, 1, 1, 1, 1, 0, 0.5, 0.25, 0.125, 2]), shape: [4, 5] });

describe('crossEntropy', () => {
  it('class index above the range', () =>
    expectLossError(() => L.crossEntropy(x45(), new Int32Array([0, 1, 7, 2])), 'crossEntropy', arg('target'), value(7)));
  it('class index equal to C', () =>
    expectLossError(() => L.crossEntropy(x45(), new Int32Array([0, 1, 2, 5]), { reduction: 'none' }), 'crossEntropy', arg('target'), /\b5\b/));
  it('class index above the range, K-dim input and target tensor', () =>
    expectLossError(() => L.crossEntropy({ data: f32(2 * 5 * 3), shape: [2, 5, 3] }, { data: new Int32Array([0, 1, 2, 3, 4, 9]), shape: [2, 3] }),
      'crossEntropy', arg('target'), value(9)));
  it('negative class index other than ignoreIndex (default -100)', () =>
    expectLossError(() => L.crossEntropy(x45(), new Int32Array([0, -1, 2, 3])), 'crossEntropy', arg('target'), value(-1)));
  it('-100 is not ignored when ignoreIndex is -1', () =>
    expectLossError(() => L.crossEntropy(x45(), new Int32Array([0, -100, 2, -1]), { ignoreIndex: -1 }), 'crossEntropy', arg('target'), value(-100)));
  it('negative class index with label smoothing and weight', () =>
    expectLossError(() => L.crossEntropy(x45(), new Int32Array([0, 1, -3, 1]), { labelSmoothing: 0.1, weight: f32(5, 1) }), 'crossEntropy', arg('target'), value(-3)));
  it('1-D input: class index out of range', () =>
    expectLossError(() => L.crossEntropy({ data: f32(6), shape: [6] }, new Int32Array([8])), 'crossEntropy', arg('target'), value(8)));
  it('index target length ≠ number of rows', () =>
    expectLossError(() => L.crossEntropy({ data: f32(24), shape: [4, 6] }, new Int32Array([0, 1, 2])), 'crossEntropy', arg('target'), value(3)));
  it('index target tensor of the wrong shape', () =>
    expectLossError(() => L.crossEntropy({ data: f32(24), shape: [4, 6] }, { data: new Int32Array(4), shape: [2, 2] }), 'crossEntropy', arg('target'), /shape/));
  it('K-dim index target of the wrong shape', () =>
    expectLossError(() => L.crossEntropy({ data: f32(2 * 5 * 3), shape: [2, 5, 3] }, { data: new Int32Array(6), shape: [3, 2] }), 'crossEntropy', arg('target'), /shape/));
  it('probability target of the wrong length', () =>
    expectLossError(() => L.crossEntropy(x45(), f32(19, 0.2)), 'crossEntropy', arg('target'), value(19)));
  it('probability target tensor of the wrong shape', () =>
    expectLossError(() => L.crossEntropy(x45(), { data: f32(20, 0.2), shape: [5, 4] }), 'crossEntropy', arg('target'), /shape/));
  it('weight length ≠ C', () =>
    expectLossError(() => L.crossEntropy({ data: f32(24), shape: [4, 6] }, new Int32Array([0, 1, 2, 3]), { weight: f32(4, 1) }), 'crossEntropy', arg('weight'), value(4)));
  it('weight length ≠ C with probability targets', () =>
    expectLossError(() => L.crossEntropy(x45(), f32(20, 0.2), { weight: f32(7, 1) }), 'crossEntropy', arg('weight'), value(7)));
  for (const eps of [-0.1, 1.5, NaN]) {
    it(`labelSmoothing = ${eps}`, () =>
      expectLossError(() => L.crossEntropy(x45(), new Int32Array([0, 1, 2, 3]), { labelSmoothing: eps }), 'crossEntropy', arg('labelSmoothing'), value(eps)));
  }
  it('labelSmoothing out of range with probability targets', () =>
    expectLossError(() => L.crossEntropy(x45(), f32(20, 0.2), { labelSmoothing: 2 }), 'crossEntropy', arg('labelSmoothing'), value(2)));
  it('unknown reduction', () =>
    expectLossError(() => L.crossEntropy(x45(), new Int32Array([0, 1, 2, 3]), { reduction: 'avg' as never }), 'crossEntropy', arg('reduction'), value('avg')));
  it("reduction 'batchmean' (klDiv only)", () =>
    expectLossError(() => L.crossEntropy(x45(), new Int32Array([0, 1, 2, 3]), { reduction: 'batchmean' as never }), 'crossEntropy', arg('reduction'), value('batchmean')));
  it('non-integer ignoreIndex', () =>
    expectLossError(() => L.crossEntropy(x45(), new Int32Array([0, 1, 2, 3]), { ignoreIndex: 1.5 }), 'crossEntropy', arg('ignoreIndex'), value(1.5)));
  it('empty shape: input without a class dim', () =>
    expectLossError(() => L.crossEntropy({ data: f32(1), shape: [] }, new Int32Array([0])), 'crossEntropy', arg('input')));
  it('input data length ≠ product of its shape', () =>
    expectLossError(() => L.crossEntropy({ data: f32(11), shape: [3, 4] }, new Int32Array([0, 1, 2])), 'crossEntropy', arg('input'), value(11)));
  it('non-integer shape entry', () =>
    expectLossError(() => L.crossEntropy({ data: f32(10), shape: [2.5, 4] }, new Int32Array([0, 1])), 'crossEntropy', /shape/, value(2.5)));
  it('negative shape entry', () =>
    expectLossError(() => L.crossEntropy({ data: f32(8), shape: [-2, 4] }, new Int32Array([0, 1])), 'crossEntropy', /shape/, value(-2)));
});

describe('nllLoss', () => {
  it('class index above the range', () =>
    expectLossError(() => L.nllLoss(x45(), new Int32Array([6, 1, 2, 3])), 'nllLoss', arg('target'), value(6)));
  it('negative class index other than ignoreIndex', () =>
    expectLossError(() => L.nllLoss(x45(), new Int32Array([0, 1, 2, -2]), { ignoreIndex: -1 }), 'nllLoss', arg('target'), value(-2)));
  it('index target length ≠ number of rows', () =>
    expectLossError(() => L.nllLoss(x45(), new Int32Array([0, 1, 2, 3, 4, 0, 1])), 'nllLoss', arg('target'), value(7)));
  it('1-D input with more than one target', () =>
    expectLossError(() => L.nllLoss({ data: f32(6), shape: [6] }, new Int32Array([0, 1])), 'nllLoss', arg('target'), value(2)));
  it('weight length ≠ C', () =>
    expectLossError(() => L.nllLoss(x45(), new Int32Array([0, 1, 2, 3]), { weight: f32(3, 1) }), 'nllLoss', arg('weight'), value(3)));
  it('unknown reduction', () =>
    expectLossError(() => L.nllLoss(x45(), new Int32Array([0, 1, 2, 3]), { reduction: 'mean ' as never }), 'nllLoss', arg('reduction')));
  it("reduction 'batchmean' (klDiv only)", () =>
    expectLossError(() => L.nllLoss(x45(), new Int32Array([0, 1, 2, 3]), { reduction: 'batchmean' as never }), 'nllLoss', arg('reduction'), value('batchmean')));
  it('empty shape: input without a class dim', () =>
    expectLossError(() => L.nllLoss({ data: f32(1), shape: [] }, new Int32Array([0])), 'nllLoss', arg('input')));
  it('input data length ≠ product of its shape', () =>
    expectLossError(() => L.nllLoss({ data: f32(13), shape: [3, 4] }, new Int32Array([0, 1, 2])), 'nllLoss', arg('input'), value(13)));
});

describe('binaryCrossEntropy', () => {
  const x = () => ({ data: f32(20, 0.3), shape: [4, 5] });
  for (const bad of [-0.5, 1.5, NaN]) {
    it(`input ${bad} outside [0, 1]`, () => {
      const d = f32(20, 0.3);
      d[13] = bad;
      return expectLossError(() => L.binaryCrossEntropy({ data: d, shape: [4, 5] }, f32(20, 1)), 'binaryCrossEntropy', arg('input'), value(bad));
    });
  }
  it('input just below 0 (no silent clamp)', () => {
    const d = f32(20, 0.3);
    d[2] = -1e-7;
    return expectLossError(() => L.binaryCrossEntropy({ data: d, shape: [4, 5] }, f32(20, 1), { reduction: 'sum' }), 'binaryCrossEntropy', arg('input'));
  });
  it('weight length that is not a trailing-dims size', () =>
    expectLossError(() => L.binaryCrossEntropy(x(), f32(20, 1), { weight: f32(3, 1) }), 'binaryCrossEntropy', arg('weight'), value(3)));
  it('weight length 4 (a leading dim, not trailing)', () =>
    expectLossError(() => L.binaryCrossEntropy(x(), f32(20, 1), { weight: f32(4, 1) }), 'binaryCrossEntropy', arg('weight'), value(4)));
  it('weight tensor whose shape is not a suffix of the input shape', () =>
    expectLossError(() => L.binaryCrossEntropy(x(), f32(20, 1), { weight: { data: f32(8, 1), shape: [2, 4] } }), 'binaryCrossEntropy', arg('weight'), /shape/));
  it('weight tensor with data length ≠ its shape', () =>
    expectLossError(() => L.binaryCrossEntropy(x(), f32(20, 1), { weight: { data: f32(4, 1), shape: [5] } }), 'binaryCrossEntropy', arg('weight')));
  it('target of the wrong length', () =>
    expectLossError(() => L.binaryCrossEntropy(x(), f32(21, 1)), 'binaryCrossEntropy', arg('target'), value(21)));
  it('target tensor of the wrong shape', () =>
    expectLossError(() => L.binaryCrossEntropy(x(), { data: f32(20, 1), shape: [2, 10] }), 'binaryCrossEntropy', arg('target'), /shape/));
  it('unknown reduction', () =>
    expectLossError(() => L.binaryCrossEntropy(x(), f32(20, 1), { reduction: 'avg' as never }), 'binaryCrossEntropy', arg('reduction'), value('avg')));
  it("reduction 'batchmean' (klDiv only)", () =>
    expectLossError(() => L.binaryCrossEntropy(x(), f32(20, 1), { reduction: 'batchmean' as never }), 'binaryCrossEntropy', arg('reduction'), value('batchmean')));
  it('input data length ≠ product of its shape', () =>
    expectLossError(() => L.binaryCrossEntropy({ data: f32(19, 0.3), shape: [4, 5] }, f32(19, 1)), 'binaryCrossEntropy', arg('input'), value(19)));
});

describe('binaryCrossEntropyWithLogits', () => {
  const x = () => ({ data: f32(20, 0.3), shape: [4, 5] });
  it('posWeight length ≠ last dim', () =>
    expectLossError(() => L.binaryCrossEntropyWithLogits(x(), f32(20, 1), { posWeight: f32(3, 2) }), 'binaryCrossEntropyWithLogits', arg('posWeight'), value(3)));
  it('posWeight of the length of the first dim', () =>
    expectLossError(() => L.binaryCrossEntropyWithLogits(x(), f32(20, 1), { posWeight: f32(4, 2) }), 'binaryCrossEntropyWithLogits', arg('posWeight'), value(4)));
  it('weight length that is not a trailing-dims size', () =>
    expectLossError(() => L.binaryCrossEntropyWithLogits(x(), f32(20, 1), { weight: f32(7, 1) }), 'binaryCrossEntropyWithLogits', arg('weight'), value(7)));
  it('target of the wrong length', () =>
    expectLossError(() => L.binaryCrossEntropyWithLogits(x(), f32(18, 1)), 'binaryCrossEntropyWithLogits', arg('target'), value(18)));
  it('unknown reduction', () =>
    expectLossError(() => L.binaryCrossEntropyWithLogits(x(), f32(20, 1), { reduction: 'Sum' as never }), 'binaryCrossEntropyWithLogits', arg('reduction'), value('Sum')));
  it("reduction 'batchmean' (klDiv only)", () =>
    expectLossError(() => L.binaryCrossEntropyWithLogits(x(), f32(20, 1), { reduction: 'batchmean' as never }), 'binaryCrossEntropyWithLogits', arg('reduction'), value('batchmean')));
  it('non-integer shape entry', () =>
    expectLossError(() => L.binaryCrossEntropyWithLogits({ data: f32(6), shape: [1.5, 4] }, f32(6, 1)), 'binaryCrossEntropyWithLogits', /shape/, value(1.5)));
});

describe('klDiv', () => {
  const x = () => ({ data: f32(20, -1), shape: [4, 5] });
  it('unknown reduction', () =>
    expectLossError(() => L.klDiv(x(), f32(20, 0.2), { reduction: 'avg' as never }), 'klDiv', arg('reduction'), value('avg')));
  it('target of the wrong length', () =>
    expectLossError(() => L.klDiv(x(), f32(17, 0.2)), 'klDiv', arg('target'), value(17)));
  it('target tensor of the wrong shape', () =>
    expectLossError(() => L.klDiv(x(), { data: f32(20, 0.2), shape: [20] }), 'klDiv', arg('target'), /shape/));
  it("'batchmean' is accepted by klDiv (control for the cases above)", async () => {
    expect(typeof (await L.klDiv(x(), f32(20, 0.2), { reduction: 'batchmean' }))).toBe('number');
  });
});

describe('softmax, logSoftmax, sigmoid, entropy', () => {
  const x = () => ({ data: f32(12), shape: [3, 4] });
  for (const m of ['softmax', 'logSoftmax'] as const) {
    for (const dim of [2, -3, 1.5]) {
      it(`${m} dim = ${dim} out of range`, () => expectLossError(() => L[m](x(), { dim }), m, arg('dim'), value(dim)));
    }
    it(`${m} data length ≠ product of its shape`, () =>
      expectLossError(() => L[m]({ data: f32(11), shape: [3, 4] }), m, /\b(x|input)\b/, value(11)));
    it(`${m} negative shape entry`, () =>
      expectLossError(() => L[m]({ data: f32(12), shape: [3, -4] }), m, /shape/, value(-4)));
  }
  it('sigmoid data length ≠ product of its shape', () =>
    expectLossError(() => L.sigmoid({ data: f32(5), shape: [2, 3] }), 'sigmoid', /\b(x|input)\b/, value(5)));
  it('sigmoid non-integer shape entry', () =>
    expectLossError(() => L.sigmoid({ data: f32(5), shape: [2.5, 2] }), 'sigmoid', /shape/, value(2.5)));
  for (const dim of [2, -3, 0.5]) {
    it(`entropy dim = ${dim} out of range`, () => expectLossError(() => L.entropy(x(), { dim }), 'entropy', arg('dim'), value(dim)));
  }
  it('entropy unknown reduction', () =>
    expectLossError(() => L.entropy(x(), { reduction: 'avg' as never }), 'entropy', arg('reduction'), value('avg')));
  it("entropy reduction 'batchmean' (klDiv only)", () =>
    expectLossError(() => L.entropy(x(), { reduction: 'batchmean' as never }), 'entropy', arg('reduction'), value('batchmean')));
  it('entropy data length ≠ product of its shape', () =>
    expectLossError(() => L.entropy({ data: f32(13), shape: [3, 4] }), 'entropy', /\b(logits|input|x)\b/, value(13)));
});

describe('createLosses', () => {
  it("backend 'webgpu' without a GPU (plain Node: no navigator.gpu)", async () => {
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
    await expectLossError(() => createLosses({ backend: 'webgpu', gpu: undefined }), 'createLosses');
  });
  it('unknown backend', () =>
    expectLossError(() => createLosses({ backend: 'metal' as never }), 'createLosses', arg('backend'), value('metal')));
});
