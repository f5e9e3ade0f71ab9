/**
 * The streaming evaluator (issue 13, `losses.evaluator`) on the CPU backend:
 * - the test's own tools first: the float64 reference (test/eval-reference.ts) against numpy's float64 values and
 *   scikit-learn's metrics in test/fixtures/eval/digits.json (scripts/eval-fixtures.py), the float16 codec, the
 *   .npy / .safetensors readers;
 * - then the suite both backends run (test/eval-cases.ts): the digits fixture (float32, float16, .safetensors,
 *   binary) against scikit-learn and float64, and fresh random batches every run (seed from SEED or the clock,
 *   printed on failure: `SEED=<seed> npx vitest run --project swiftshader test/cpu/evaluator.test.ts -t '<name>'`)
 *   with ignored rows, K-dim inputs, ties, -inf, float16, int64 labels, errors, perRow and the binary evaluator.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createLosses } from '../../src/index.js';
import type { Losses } from '../../src/index.js';
import { evaluateReference, binOf } from '../eval-reference.js';
import { decodeF16, defineEvaluatorSuite, encodeF16, expectMetrics, f16Bits, f16Value, loadDigits } from '../eval-cases.js';
import { baseSeed } from '../rng.js';

const SEED = baseSeed();
console.log(`test/cpu/evaluator.test.ts: SEED=${SEED}`);

let cpu: Losses;
beforeAll(async () => {
  cpu = await createLosses({ backend: 'cpu' });
  expect(cpu.backend).toBe('cpu');
});

describe('the test tools', () => {
  const d = loadDigits();
  const N = d.rows, C = d.classes;

  it('the float64 reference reproduces numpy and scikit-learn on the digits fixture', () => {
    const r = evaluateReference([{ logits: d.logits, shape: [N, C], labels: d.labels }], { topK: [3, 5] });
    expect(r.ambiguous).toBe(0);
    const { ece10, ...m32 } = d.json.float32;
    expectMetrics(r.metrics, { rows: N, count: N, ...m32 }, 1e-12);
    const r10 = evaluateReference([{ logits: d.logits, shape: [N, C], labels: d.labels }], { calibrationBins: 10 });
    expect(Math.abs(r10.metrics.ece - ece10)).toBeLessThan(1e-12);
    const sk = d.json.sklearn;
    expect(Math.abs(r.metrics.crossEntropy - sk.log_loss)).toBeLessThan(1e-12);
    expect(r.metrics.accuracy).toBe(sk.accuracy_score);
    expect(r.metrics.top3).toBe(sk.top_k_accuracy_score_k3);
    expect(r.metrics.top5).toBe(sk.top_k_accuracy_score_k5);
    // the fixture is worth having: errors beyond the top 1, 3 and 5, and real float16 ties
    expect(r.metrics.accuracy).toBeLessThan(r.metrics.top3);
    expect(r.metrics.top3).toBeLessThan(r.metrics.top5);
    expect(r.metrics.top5).toBeLessThan(1);
    expect(d.json.float16Ties).toBeGreaterThan(0);
  });

  it('the float16 file is the float32 logits rounded by this test\'s encoder', () => {
    const mine = encodeF16(d.logits);
    expect(Array.from(mine)).toEqual(Array.from(d.f16));
  });

  it('the float16 codec: IEEE binary16 values, round to nearest even, overflow, subnormals', () => {
    const cases: [number, number][] = [
      [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65519.99, 0x7bff], [65520, 0x7c00], [2 ** -14, 0x0400], [2 ** -24, 0x0001],
      [2 ** -25, 0x0000], [3 * 2 ** -26, 0x0001], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [Infinity, 0x7c00], [-Infinity, 0xfc00],
      [0.333251953125, 0x3555], [-0, 0x8000], [1023 * 2 ** -24 + 2 ** -25, 0x0400],
    ];
    for (const [v, bits] of cases) expect(f16Bits(v), String(v)).toBe(bits);
    expect(f16Bits(NaN) & 0x7c00).toBe(0x7c00);
    for (let b = 0; b < 0x10000; b++) {
      const v = f16Value(b);
      if (Number.isNaN(v)) continue;
      if (f16Bits(v) !== b) throw new Error(`bits ${b.toString(16)} do not round-trip`);
    }
    expect(Array.from(decodeF16([0x3c00, 0xfbff]))).toEqual([1, -65504]);
  });

  it('binOf: bins (b/B, (b+1)/B]', () => {
    expect(binOf(0.5, 10)).toBe(4);
    expect(binOf(0.5000001, 10)).toBe(5);
    expect(binOf(1, 15)).toBe(14);
    expect(binOf(0.2, 5)).toBe(0);
    expect(binOf(1e-9, 15)).toBe(0);
    expect(binOf(0.3, 10)).toBe(2); // 0.3·10 rounds to 3.0000000000000004 in float64; 0.3 ≤ 3/10
  });
});

defineEvaluatorSuite({ seed: SEED, losses: () => cpu, name: 'cpu' });

describe('empty batches (hostile input)', () => {
  it('cost nothing whatever their class count, fix no class count, and count no rows', async () => {
    const L = await createLosses({ backend: 'cpu' });
    const ev = L.evaluator({ topK: [2] });
    expect(await ev.add({ data: new Float32Array(0), shape: [0, 1e9] }, new Int32Array(0))).toBeUndefined();
    const per = await ev.add({ data: new Float32Array(0), shape: [0, 3] }, new Int32Array(0), { perRow: true });
    expect(per?.loss.shape).toEqual([0]);
    await ev.add({ data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] }, new Int32Array([0, 1]));
    const m = await ev.result();
    expect([m.rows, m.count, m.accuracy, m.top2]).toEqual([2, 2, 0.5, 1]);
    // float64: rows (1, 2) and (3, 4), targets 0 and 1
    const ce = (Math.log(Math.exp(1) + Math.exp(2)) - 1 + Math.log(Math.exp(3) + Math.exp(4)) - 4) / 2;
    expect(Math.abs(m.crossEntropy - ce)).toBeLessThan(1e-6 * ce);
    await expect(ev.add({ data: new Float32Array(3), shape: [1, 3] }, new Int32Array([0]))).rejects.toThrow(/3 classes, earlier batches 2/);
  });
});
