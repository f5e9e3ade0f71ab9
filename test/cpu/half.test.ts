/**
 * Half-precision inputs and int64 labels (issue 11) on the CPU backend:
 * - this file's own float16 / bfloat16 codec (test/half.ts) checked against the IEEE definitions and torch's bits;
 * - every PyTorch fixture of test/fixtures/torch-half (scripts/torch-fixtures-half.py), one test per case, in the
 *   input's dtype, in float32 and in the other half dtype (test/half.ts, runHalfFixture), and the 8 × 128256
 *   bfloat16 cross-entropy with its gradient (also in place);
 * - the strong test: on fresh random inputs of every method (seed from SEED or the clock, printed on failure) a
 *   half input gives exactly, bit for bit, what the float32 input holding the decoded values gives, under the CPU's
 *   own plan and under a GPU's;
 * - int64 host labels (bare and { data, shape }), inPlace on a half host input, and the LossErrors of bad half
 *   inputs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createLosses, LossError } from '../../src/index.js';
import type { Losses, TensorInput } from '../../src/index.js';
import {
  argsOf, callOp, checkHalfCase, decodeBits, halfFixtureCases, halfFixtureVersion, halfValue, HALF_DTYPES, HALF_OPS, hex, identical,
  isCanonicalNan, randomHalfCases, roundToHalf, runHalfFixture, strongCheck, ulpDistance,
} from '../half.js';
import type { HalfCase, HalfDtype, HalfOp } from '../half.js';
import { baseSeed, Rng } from '../rng.js';

const cases = halfFixtureCases();
let losses: Losses;

beforeAll(async () => {
  losses = await createLosses({ backend: 'cpu' });
  expect(losses.backend).toBe('cpu');
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => null, (e: unknown) => e);
}

async function expectLossError(p: Promise<unknown>, pattern?: RegExp): Promise<void> {
  const err = await rejection(p);
  expect(err, 'expected a rejection').toBeInstanceOf(LossError);
  if (pattern) expect((err as Error).message).toMatch(pattern);
}

// ------------------------------------------------------------------ the test's own codec

describe('the test codec (test/half.ts)', () => {
  it('decodes from the IEEE definitions', () => {
    const f16: [number, number][] = [
      [0x3c00, 1], [0xc000, -2], [0x7bff, 65504], [0x0400, 2 ** -14], [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24],
      [0x3555, 0.333251953125], [0x7c00, Infinity], [0xfc00, -Infinity], [0x0000, 0],
    ];
    for (const [b, v] of f16) expect(halfValue(b, 'float16'), hex(b)).toBe(v);
    expect(Object.is(halfValue(0x8000, 'float16'), -0)).toBe(true);
    const bf16: [number, number][] = [
      [0x3f80, 1], [0xc000, -2], [0x7f7f, (2 - 2 ** -7) * 2 ** 127], [0x0080, 2 ** -126], [0x0001, 2 ** -133], [0x7f80, Infinity], [0x4049, 3.140625],
    ];
    for (const [b, v] of bf16) expect(halfValue(b, 'bfloat16'), hex(b)).toBe(v);
    for (const b of [0x7e00, 0x7c01, 0xfe00]) expect(halfValue(b, 'float16')).toBeNaN();
    for (const b of [0x7fc0, 0x7f81, 0xffc0]) expect(halfValue(b, 'bfloat16')).toBeNaN();
    // NaN keeps sign and payload in float32 bits
    expect(new Uint32Array(decodeBits([0xfd01], 'float16').buffer)[0]).toBe(0xffa02000);
    expect(new Uint32Array(decodeBits([0x7f81], 'bfloat16').buffer)[0]).toBe(0x7f810000);
  });

  it('round trips every non-NaN bit pattern, rounds half-way values to even, overflows to ±inf', () => {
    for (const dtype of HALF_DTYPES) {
      for (let b = 0; b < 65536; b++) {
        const v = halfValue(b, dtype);
        if (Number.isNaN(v)) expect(isCanonicalNan(roundToHalf(v, dtype), dtype)).toBe(true);
        else if (roundToHalf(v, dtype) !== b) throw new Error(`${dtype} ${hex(b)} → ${v} → ${hex(roundToHalf(v, dtype))}`);
      }
    }
    // ties: 1 + 2^-11 (float16) lies half-way between 1 and 1 + 2^-10: to even (1); 1 + 3·2^-11 to 1 + 2^-9
    expect(roundToHalf(1 + 2 ** -11, 'float16')).toBe(0x3c00);
    expect(roundToHalf(1 + 3 * 2 ** -11, 'float16')).toBe(0x3c02);
    expect(roundToHalf(1 + 2 ** -11 + 2 ** -20, 'float16')).toBe(0x3c01);
    expect(roundToHalf(2 ** -25, 'float16')).toBe(0); // half the smallest subnormal: to even (0)
    expect(roundToHalf(3 * 2 ** -25, 'float16')).toBe(2); // 1.5 subnormal quanta: to even (2)
    expect(roundToHalf(65519.99, 'float16')).toBe(0x7bff);
    expect(roundToHalf(65520, 'float16')).toBe(0x7c00);
    expect(roundToHalf(-1e9, 'float16')).toBe(0xfc00);
    expect(roundToHalf(1 + 2 ** -8, 'bfloat16')).toBe(0x3f80);
    expect(roundToHalf(1 + 3 * 2 ** -8, 'bfloat16')).toBe(0x3f82);
    expect(roundToHalf(3.4e38, 'bfloat16')).toBe(0x7f80);
    expect(roundToHalf(-0, 'bfloat16')).toBe(0x8000);
    expect(ulpDistance(0x0001, 0x8001, 'float16')).toBe(2);
    expect(ulpDistance(0x8000, 0x0000, 'float16')).toBe(0);
    expect(ulpDistance(0x7e00, 0xfe00, 'float16')).toBe(0);
  });

  it("agrees with torch's rounding of the fixtures' float64 results (through float32, as torch converts)", () => {
    let n = 0, off = 0;
    for (const c of cases) {
      for (const e of [c.expected.output, c.expected.grad, typeof c.expected.loss === 'object' ? c.expected.loss : undefined]) {
        if (!e?.data) continue;
        for (const dtype of HALF_DTYPES) {
          const bits = e[dtype]!;
          for (let i = 0; i < bits.length; i++) {
            const mine = roundToHalf(Math.fround(e.data[i]), dtype);
            n++;
            // the fixture's float64 has 12 significant digits: a value within 1e-12 of a rounding boundary may land either side
            // (the JSON's float64 0 has lost the sign of −0: ulpDistance counts ±0 as one value)
            if (ulpDistance(mine, bits[i], dtype) > 0 && !(Number.isNaN(e.data[i]) && isCanonicalNan(mine, dtype))) {
              off++;
              expect(ulpDistance(mine, bits[i], dtype), `${c.id} ${dtype} [${i}]`).toBeLessThanOrEqual(1);
            }
          }
        }
      }
    }
    expect(n).toBeGreaterThan(10000);
    expect(off).toBeLessThanOrEqual(n * 1e-4);
  });
});

// ------------------------------------------------------------------ the fixtures

it(`fixtures (torch ${halfFixtureVersion()}) cover every method in both dtypes, int64 labels and half gradOutput`, () => {
  for (const op of HALF_OPS) for (const dtype of HALF_DTYPES) expect(cases.filter((c) => c.op === op && c.dtype === dtype).length, `${op} ${dtype}`).toBeGreaterThan(0);
  expect(cases.some((c) => c.target?.kind === 'index' && c.target.dtype === 'int64' && c.target.asTensor)).toBe(true);
  expect(cases.some((c) => c.target?.kind === 'index' && c.target.dtype === 'int64' && !c.target.asTensor)).toBe(true);
  expect(cases.some((c) => (c.options.gradOutput as { kind?: string } | undefined)?.kind === 'half')).toBe(true);
  expect(cases.some((c) => c.input.shape.length === 3 && c.op === 'crossEntropy')).toBe(true);
});

for (const op of HALF_OPS) {
  describe(op, () => {
    for (const c of cases.filter((k) => k.op === op)) {
      it(c.name, async () => {
        const failures = await runHalfFixture(losses, c, { other: true });
        if (failures.length) throw new Error(failures.join('\n'));
      });
    }
  });
}

describe('8 × 128256 bfloat16 crossEntropy with its gradient (torch fixture)', () => {
  let big: HalfCase;
  it('the gradient in bfloat16 (within one ulp), in float32 (sampled) and in place', async () => {
    [big] = halfFixtureCases({ large: true });
    expect(big.input.shape).toEqual([8, 128256]);
    const failures = await runHalfFixture(losses, big);
    const a = argsOf(big, 'half');
    const r = await callOp(losses, big.op, a, { inPlace: true }) as { loss: number; grad: { data: Uint16Array; dtype: string } };
    expect(r.grad.data, 'inPlace: grad is the input array').toBe(a.x.data);
    const m = checkHalfCase(big, r, 'bfloat16');
    if (m) failures.push(`inPlace: ${m}`);
    if (failures.length) throw new Error(failures.join('\n'));
  });
});

// ------------------------------------------------------------------ the strong test

/** A GPU's plan for the CPU to run (256-lane workgroups, split rows): another order of operations. */
const GPU_PLAN = { emulated: false, subgroupSize: 32, maxGroupsPerDim: 65535, maxBindingBytes: 134217728 };

describe('strong: a half input gives bit for bit the float32 answer of its decoded values', () => {
  for (const plan of ['cpu', 'gpu plan'] as const) {
    for (const dtype of HALF_DTYPES) {
      it(`${dtype}, ${plan}`, async () => {
        const seed = baseSeed();
        const rng = Rng.for(seed, `half strong ${dtype} ${plan}`);
        const l = plan === 'cpu' ? losses : await createLosses({ backend: 'cpu', profile: GPU_PLAN });
        const failures: string[] = [];
        let n = 0;
        for (let rep = 0; rep < 4; rep++) {
          for (const c of randomHalfCases(rng, dtype)) {
            await strongCheck(l, c, failures, plan);
            n++;
          }
        }
        if (plan !== 'cpu') l.dispose();
        expect(n).toBeGreaterThan(50);
        if (failures.length) throw new Error(`seed ${seed} (rerun with SEED=${seed}): ${failures.length} failures:\n${failures.join('\n')}`);
      });
    }
  }
});

// ------------------------------------------------------------------ int64 host labels

/** (6, 5) logits in float32, float16 or bfloat16 (the same decoded values). */
function logits(dtype: 'float32' | HalfDtype, shape = [6, 5]): TensorInput {
  const n = shape.reduce((a, b) => a * b, 1);
  const rng = new Rng(1234);
  const v = Array.from({ length: n }, () => rng.normal(0, 2));
  if (dtype === 'float32') return { data: decodeBits(v.map((x) => roundToHalf(x, 'float16')), 'float16'), shape };
  return { data: Uint16Array.from(v, (x) => roundToHalf(x, dtype)), shape, dtype };
}

const INT_METHODS = ['crossEntropy', 'nllLoss'] as const;

describe('int64 host labels', () => {
  const t = [0, 4, 2, -100, 1, 3];

  it('a BigInt64Array, bare or as { data, shape }, gives exactly the Int32Array answer (every reduction, with grad)', async () => {
    for (const dtype of ['float32', ...HALF_DTYPES] as const) {
      for (const m of INT_METHODS) {
        for (const reduction of ['mean', 'sum', 'none'] as const) {
          for (const grad of [false, true]) {
            const o = { reduction, grad };
            const ref = await callOp(losses, m, { x: logits(dtype), target: Int32Array.from(t), options: o });
            const big = BigInt64Array.from(t, BigInt);
            for (const target of [big, { data: big, shape: [6] }]) {
              const r = await callOp(losses, m, { x: logits(dtype), target, options: o });
              const d = identical(r, ref);
              if (d) throw new Error(`${m} ${dtype} ${JSON.stringify(o)} ${ArrayBuffer.isView(target) ? 'bare' : 'tensor'}: ${d}`);
            }
          }
        }
      }
    }
  });

  it('K-dim targets (N, d1) of int64', async () => {
    const x = logits('bfloat16', [2, 5, 3]);
    const idx = [0, 4, -100, 1, 3, 2];
    for (const reduction of ['mean', 'none'] as const) {
      const ref = await losses.crossEntropy(x, { data: Int32Array.from(idx), shape: [2, 3] }, { reduction, grad: true });
      const r = await losses.crossEntropy(x, { data: BigInt64Array.from(idx, BigInt), shape: [2, 3] }, { reduction, grad: true });
      expect(identical(r, ref)).toBeNull();
    }
  });

  it('values outside [0, C) reject with a LossError, int32-overflowing ones included (even where their low word is in range or ignoreIndex)', async () => {
    const bad: [bigint, string][] = [
      [5n, 'C'], [-1n, '-1 (ignoreIndex is -100)'], [2n ** 31n, '2^31'], [-(2n ** 31n) - 1n, '-2^31 - 1'], [2n ** 40n, '2^40'],
      [2n ** 32n + 1n, '2^32 + 1 (low word 1)'], [2n ** 32n - 100n, '2^32 - 100 (low word -100)'], [-(2n ** 63n), '-2^63'],
      [2n ** 63n - 1n, '2^63 - 1'], [-(2n ** 32n) - 100n, '-2^32 - 100 (low word -100)'],
    ];
    for (const dtype of ['float32', 'float16'] as const) {
      for (const m of INT_METHODS) {
        for (const [v, what] of bad) {
          const big = BigInt64Array.from(t, BigInt);
          big[4] = v;
          for (const target of [big, { data: big, shape: [6] }]) {
            const err = await rejection(callOp(losses, m, { x: logits(dtype), target, options: {} }));
            expect(err, `${m} ${dtype} target[4] = ${what}`).toBeInstanceOf(LossError);
            expect((err as Error).message, what).toMatch(new RegExp(`^${m}: .*target`));
          }
        }
      }
    }
    // ignoreIndex must be an int32: so a label that only ignoreIndex could excuse always rejects
    const big = BigInt64Array.from(t, BigInt);
    big[0] = 2n ** 32n - 1n; // low word -1
    await expectLossError(losses.crossEntropy(logits('float16'), big, { ignoreIndex: -1 }));
    await expectLossError(losses.crossEntropy(logits('float16'), BigInt64Array.from(t, BigInt), { ignoreIndex: 2 ** 31 }), /ignoreIndex/);
  });

  it('ignoreIndex: the default -100, a valid class, -1', async () => {
    for (const [ignoreIndex, labels] of [[undefined, [-100, 1, 2, -100, 4, 0]], [2, [2, 1, 2, 3, 4, 0]], [-1, [-1, 1, 2, -1, 4, 0]]] as const) {
      for (const reduction of ['mean', 'none'] as const) {
        const o = ignoreIndex === undefined ? { reduction, grad: true } : { reduction, grad: true, ignoreIndex };
        const ref = await losses.crossEntropy(logits('bfloat16'), Int32Array.from(labels), o);
        const r = await losses.crossEntropy(logits('bfloat16'), BigInt64Array.from(labels, (v) => BigInt(v)), o);
        expect(identical(r, ref), `ignoreIndex ${ignoreIndex}`).toBeNull();
        const nll = await losses.nllLoss(logits('float16'), BigInt64Array.from(labels, (v) => BigInt(v)), o);
        expect(identical(nll, await losses.nllLoss(logits('float16'), Int32Array.from(labels), o))).toBeNull();
      }
    }
  });

  it('an int64 target of the wrong length or shape rejects', async () => {
    await expectLossError(losses.crossEntropy(logits('float16'), new BigInt64Array(5)));
    await expectLossError(losses.crossEntropy(logits('float16'), { data: new BigInt64Array(6), shape: [3, 2] }));
    await expectLossError(losses.nllLoss(logits('bfloat16'), { data: new BigInt64Array(6), shape: [5] }));
  });
});

// ------------------------------------------------------------------ inPlace and bad half inputs

describe('inPlace on a half host input', () => {
  const ops: HalfOp[] = ['crossEntropy', 'nllLoss', 'binaryCrossEntropy', 'binaryCrossEntropyWithLogits', 'klDiv', 'sigmoidFocalLoss'];
  for (const dtype of HALF_DTYPES) {
    it(`${dtype}: the gradient's bits are written into the input's Uint16Array`, async () => {
      let ran = 0;
      for (const op of ops) {
        const mine = cases.filter((c) => c.op === op && c.dtype === dtype && c.options.grad === true);
        for (const c of [mine.find((k) => k.options.reduction !== 'none'), mine.find((k) => k.options.gradOutput !== undefined)]) {
          if (!c) continue;
          const ref = await callOp(losses, op, argsOf(c, 'half'));
          const a = argsOf(c, 'half');
          const r = await callOp(losses, op, a, { inPlace: true }) as { grad: { data: unknown; dtype: unknown } };
          expect(r.grad.data, c.id).toBe(a.x.data);
          expect(r.grad.dtype, c.id).toBe(dtype);
          expect(identical(r, ref, dtype), c.id).toBeNull();
          ran++;
        }
      }
      expect(ran).toBeGreaterThanOrEqual(ops.length);
    });
  }
});

describe('half host memory', () => {
  it('SharedArrayBuffer-backed half inputs and int64 labels give the same answer, inPlace included', async () => {
    const c = cases.find((k) => k.op === 'crossEntropy' && k.dtype === 'bfloat16' && k.options.gradOutput !== undefined && k.target?.kind === 'index')!;
    const ref = await callOp(losses, c.op, argsOf(c, 'half'));
    const a = argsOf(c, 'half');
    const shared = new Uint16Array(new SharedArrayBuffer(a.x.data.byteLength));
    shared.set(a.x.data as Uint16Array);
    const t = c.target as { data: number[]; shape: number[] };
    const labels = new BigInt64Array(new SharedArrayBuffer(8 * t.data.length));
    labels.set(t.data.map(BigInt));
    const x = { data: shared, shape: a.x.shape, dtype: c.dtype };
    expect(identical(await callOp(losses, c.op, { ...a, x, target: { data: labels, shape: t.shape } }), ref, c.dtype)).toBeNull();
    const r = await callOp(losses, c.op, { ...a, x, target: labels }, { inPlace: true }) as { grad: { data: unknown } };
    expect(r.grad.data).toBe(shared);
    expect(identical(r, ref, c.dtype)).toBeNull();
  });

  it('inPlace rejects when a half target or gradOutput shares the input memory', async () => {
    const buf = new ArrayBuffer(24);
    const x = { data: new Uint16Array(buf, 0, 6).fill(0x3800), shape: [2, 3], dtype: 'float16' as const };
    const t = { data: new Uint16Array(buf, 12, 6).fill(0x3400), shape: [2, 3], dtype: 'float16' as const };
    await expectLossError(losses.binaryCrossEntropyWithLogits(x, { data: new Uint16Array(buf, 4, 6), shape: [2, 3], dtype: 'float16' }, { grad: true, inPlace: true }), /inPlace/);
    const ok = await losses.binaryCrossEntropyWithLogits(x, t, { grad: true, inPlace: true }) as { grad: { data: unknown } };
    expect(ok.grad.data).toBe(x.data);
    const y = { data: new Uint16Array(buf, 0, 6).fill(0x3800), shape: [2, 3], dtype: 'float16' as const };
    await expectLossError(losses.binaryCrossEntropyWithLogits(y, t, { reduction: 'none', grad: true, inPlace: true, gradOutput: { data: new Uint16Array(buf, 2, 6), shape: [2, 3], dtype: 'float16' } }), /inPlace/);
  });
});

describe('bad half inputs reject with a LossError', () => {
  const u16 = (n: number) => new Uint16Array(n).fill(0x3c00);
  it('input tensors', async () => {
    await expectLossError(losses.softmax({ data: u16(6), shape: [2, 3] } as never), /^softmax: /);
    await expectLossError(losses.softmax({ data: new Float32Array(6), shape: [2, 3], dtype: 'float16' } as never), /^softmax: /);
    await expectLossError(losses.softmax({ data: u16(6), shape: [2, 3], dtype: 'half' } as never), /half/);
    await expectLossError(losses.softmax({ data: u16(6), shape: [2, 3], dtype: 'float64' } as never));
    await expectLossError(losses.softmax({ data: new Int16Array(6), shape: [2, 3], dtype: 'float16' } as never));
    await expectLossError(losses.softmax({ data: u16(5), shape: [2, 3], dtype: 'float16' } as never), /^softmax: /);
    await expectLossError(losses.sigmoid({ data: u16(7), shape: [2, 3], dtype: 'bfloat16' } as never));
    await expectLossError(losses.crossEntropy({ data: u16(6), shape: [2, 3] } as never, new Int32Array([0, 1])));
    await expectLossError(losses.binaryCrossEntropy({ data: u16(4), shape: [4], dtype: 'bfloat16' } as never, { data: u16(3), shape: [3], dtype: 'bfloat16' } as never));
  });

  it('targets, dy, gradOutput, weights', async () => {
    const x = { data: u16(6), shape: [2, 3], dtype: 'float16' as const };
    await expectLossError(losses.crossEntropy(x as never, u16(6) as never), /^crossEntropy: /); // a bare Uint16Array: no dtype
    await expectLossError(losses.crossEntropy(x as never, { data: u16(6), shape: [2, 3] } as never));
    await expectLossError(losses.crossEntropy(x as never, { data: u16(5), shape: [2, 3], dtype: 'float16' } as never));
    await expectLossError(losses.klDiv(x as never, { data: u16(6), shape: [3, 2], dtype: 'float16' } as never));
    await expectLossError(losses.softmaxBackward(x as never, u16(6) as never));
    await expectLossError(losses.softmaxBackward(x as never, { data: u16(6), shape: [2, 3], dtype: 'half' } as never));
    const labels = new Int32Array([0, 1]);
    await expectLossError(losses.crossEntropy(x as never, labels, { reduction: 'none', grad: true, gradOutput: { data: u16(3), shape: [3], dtype: 'float16' } } as never));
    await expectLossError(losses.crossEntropy(x as never, labels, { reduction: 'none', grad: true, gradOutput: { data: u16(2), shape: [2] } } as never));
    await expectLossError(losses.crossEntropy(x as never, labels, { weight: { data: u16(3), shape: [3], dtype: 'float16' } } as never), /weight/);
    await expectLossError(losses.crossEntropy(x as never, labels, { weight: u16(3) } as never), /weight/);
    await expectLossError(losses.binaryCrossEntropyWithLogits(x as never, { data: u16(6), shape: [2, 3], dtype: 'float16' } as never, { posWeight: u16(3) } as never), /posWeight/);
  });

  it('outputDtype must be float32, float16 or bfloat16', async () => {
    const x = { data: u16(6), shape: [2, 3], dtype: 'float16' as const };
    for (const bad of ['float64', 'half', 'int32', 16, null]) {
      await expectLossError(losses.softmax(x as never, { outputDtype: bad } as never), /outputDtype/);
      await expectLossError(losses.crossEntropy(x as never, new Int32Array([0, 1]), { grad: true, outputDtype: bad } as never), /outputDtype/);
    }
  });
});

const F16 = (globalThis as { Float16Array?: new (a: ArrayLike<number> | number) => ArrayLike<number> & ArrayBufferView }).Float16Array;

describe.skipIf(!F16)('Float16Array (where the runtime has it)', () => {
  it('a Float16Array input and a bare Float16Array target equal the Uint16Array bits of the same values', async () => {
    const bits = Uint16Array.from([0x3c00, 0xc000, 0x3555, 0x0001, 0x7bff, 0xb800]);
    const values = decodeBits(bits, 'float16');
    const viaBits = await losses.binaryCrossEntropyWithLogits({ data: bits, shape: [2, 3], dtype: 'float16' }, { data: bits.slice(), shape: [2, 3], dtype: 'float16' } as never, { reduction: 'none' });
    const viaF16 = await losses.binaryCrossEntropyWithLogits({ data: new F16!(values), shape: [2, 3] } as never, new F16!(values) as never, { reduction: 'none' }) as { data: ArrayBufferView; shape: number[]; dtype?: string };
    // the output is float16 (a Uint16Array of bits; a Float16Array would do too): compare its bits
    const d = viaF16.data;
    const asBits = { data: new Uint16Array(d.buffer, d.byteOffset, d.byteLength / 2), shape: viaF16.shape, dtype: 'float16' };
    expect(identical(asBits, viaBits, 'float16')).toBeNull();
  });
});
