/**
 * The streaming evaluator (issue 13) on the WebGPU backend (Node, Dawn; NaN-poisoned scratch buffers):
 * - the suite both backends run (test/eval-cases.ts): the digits fixture against scikit-learn and float64, fresh
 *   random batches (seed from SEED or the clock, printed on failure) with ignored rows, K-dim inputs, ties, -inf,
 *   float16, int64 labels, errors, perRow and the binary evaluator;
 * - WebGPU against the CPU backend within 1e-6 relative per metric (perplexity and ece on their error scales, see
 *   METRIC_REL in test/eval-cases.ts), under the adapter's own profile and the
 *   non-emulated workgroup profile, and with batches cut into chunks by a small maxBindingBytes;
 * - device-tensor batches (float32, float16, int32 and int64 labels) in place, mixed with host batches, bitwise the
 *   result of the same values from the host; perRow results left on the device; bad device labels and NaN
 *   device logits naming the batch and row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLosses } from '../../src/index.js';
import type { EvaluatorOptions, Losses, TensorInput } from '../../src/index.js';
import {
  compareMetrics, decodeF16, defineEvaluatorSuite, encodeF16, evaluate, expectBatchError, expectMetrics, expectSameBits, loadDigits,
  logitsInput, METRIC_REL, randomBatch, randomBinary, reference, refBatch, ROW_TOL, seeded, withScale,
} from '../eval-cases.js';
import type { Batch, BinaryBatch, SuiteContext } from '../eval-cases.js';
import { evaluateReference, metricKeys } from '../eval-reference.js';
import { baseSeed } from '../rng.js';
import { appDevice, COPY_DST, COPY_SRC, profilesOf, readBack, STORAGE, webgpuLosses } from './harness.js';

const SEED = baseSeed();
console.log(`test/gpu/evaluator.test.ts: SEED=${SEED}`);

let gpu: Losses;
let cpu: Losses;
let workgroup: Losses;
let chunked: Losses;
let device: GPUDevice;
let shared: Losses;

beforeAll(async () => {
  gpu = await webgpuLosses();
  cpu = await createLosses({ backend: 'cpu' });
  workgroup = await webgpuLosses({ profile: profilesOf(gpu.profile!).workgroup });
  chunked = await webgpuLosses({ maxBindingBytes: 1 << 16 });
  device = await appDevice();
  shared = await webgpuLosses({ device });
});

afterAll(() => {
  for (const l of [gpu, cpu, workgroup, chunked, shared]) l?.dispose();
  device?.destroy();
});

defineEvaluatorSuite({ seed: SEED, losses: () => gpu, name: 'webgpu' });

// ------------------------------------------------------------------ WebGPU vs the CPU backend

const ctx: SuiteContext = { seed: SEED, losses: () => gpu, name: 'webgpu vs cpu' };

async function againstCpu(l: Losses, batches: readonly (Batch | BinaryBatch)[], options: EvaluatorOptions, label: string, half = false) {
  const g = await evaluate(l, batches, options, half);
  const c = await evaluate(cpu, batches, options, half);
  // the scale of ece's float32 error (METRIC_REL): the rows' mean confidence, from the float64 reference
  const scale = evaluateReference(batches.map(refBatch), options).metrics;
  const f = compareMetrics(g, withScale(c, scale), METRIC_REL, undefined, `${label}: `);
  if (f.length) throw new Error(`WebGPU vs CPU:\n${f.join('\n')}\ngpu ${JSON.stringify(g)}\ncpu ${JSON.stringify(c)}`);
  return g;
}

describe('WebGPU vs the CPU backend (1e-6 relative per metric)', () => {
  const d = loadDigits();
  const digits: Batch = { logits: d.logits, shape: [d.rows, d.classes], labels: Int32Array.from(d.labels, Number) };
  const digits16: Batch = { logits: decodeF16(d.f16), bits: d.f16, shape: digits.shape, labels: digits.labels };

  for (const [name, get] of [['real', () => gpu], ['workgroup', () => workgroup], ['chunked', () => chunked]] as const) {
    seeded(ctx, `${name} profile: digits (float32, float16), random C 3…2000, K-dim, binary`, async (rng) => {
      const l = get();
      const opts = { topK: [3, 5] };
      expectMetrics(await againstCpu(l, [digits], opts, 'digits'), reference([digits], opts).metrics, METRIC_REL);
      await againstCpu(l, [digits16], opts, 'digits float16', true);
      for (const C of [3, 64, 65, 300, 2000]) {
        const sizes = C >= 300 ? [3, 150, 41] : [1, 700, 33];
        const batches = sizes.map((n) => randomBatch(rng, { n, C, ignoreIndex: -100, ignoreFrac: 0.1, agree: 0.5, ties: 0.05, negInf: 0.02 }));
        const m = await againstCpu(l, batches, opts, `C=${C}`);
        expectMetrics(m, reference(batches, opts).metrics, METRIC_REL, metricKeys(opts), `C=${C} vs float64: `);
      }
      const kdim = [randomBatch(rng, { n: 3, C: 12, dims: [7, 9], agree: 0.5 }), randomBatch(rng, { n: 5, C: 12, dims: [100], agree: 0.5, half: true })];
      await againstCpu(l, kdim, { calibrationBins: 10 }, 'K-dim');
      const bin = [randomBinary(rng, 1000, { zeros: 0.01 }), randomBinary(rng, 77, { column: true, intLabels: true, ignoreIndex: -100, ignoreFrac: 0.3 })];
      await againstCpu(l, bin, { binary: true }, 'binary');
    });
  }
});

// ------------------------------------------------------------------ device tensors

function uploadBytes(view: ArrayBufferView, owned: GPUBuffer[]): GPUBuffer {
  const padded = new Uint8Array(Math.max(16, Math.ceil(view.byteLength / 16) * 16));
  padded.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  const b = device.createBuffer({ size: padded.byteLength, usage: STORAGE | COPY_DST | COPY_SRC });
  device.queue.writeBuffer(b, 0, padded);
  owned.push(b);
  return b;
}

function rowShape(b: Batch): number[] {
  return b.shape.filter((_, k) => k !== 1);
}

/** The batch as device tensors: float32 or float16 logits, int32 or int64 labels. */
function onDevice(b: Batch, owned: GPUBuffer[], o: { half?: boolean; int64?: boolean } = {}): { logits: TensorInput; labels: { buffer: GPUBuffer; shape: number[]; dtype: 'int32' | 'int64' } } {
  const logits = o.half
    ? { buffer: uploadBytes(b.bits ?? encodeF16(b.logits), owned), shape: b.shape, dtype: 'float16' as const }
    : { buffer: uploadBytes(b.logits, owned), shape: b.shape, dtype: 'float32' as const };
  const labels = o.int64
    ? { buffer: uploadBytes(BigInt64Array.from(b.labels, (v) => BigInt(v)), owned), shape: rowShape(b), dtype: 'int64' as const }
    : { buffer: uploadBytes(b.labels, owned), shape: rowShape(b), dtype: 'int32' as const };
  return { logits, labels };
}

describe('device-tensor batches', () => {
  const owned: GPUBuffer[] = [];
  afterAll(() => {
    for (const b of owned) b.destroy();
  });
  const dctx: SuiteContext = { seed: SEED, losses: () => shared, name: 'device tensors' };

  seeded(dctx, 'float32 / float16 logits and int32 / int64 labels in place, mixed with host batches: bitwise the host result', async (rng) => {
    const opts = { topK: [2, 4], ignoreIndex: -1 };
    const batches = [
      randomBatch(rng, { n: 300, C: 50, ignoreIndex: -1, ignoreFrac: 0.1, agree: 0.5, half: true }),
      randomBatch(rng, { n: 7, C: 50, dims: [3, 4], ignoreIndex: -1, ignoreFrac: 0.1, agree: 0.5, half: true }),
      randomBatch(rng, { n: 128, C: 50, ignoreIndex: -1, ignoreFrac: 0.1, agree: 0.5, half: true }),
      randomBatch(rng, { n: 65, C: 50, agree: 0.5, half: true }),
    ];
    // host: float32 values (exactly the float16 values) and int32 labels
    const host = shared.evaluator(opts);
    for (const b of batches) await host.add(logitsInput(b), b.labels);
    const want = await host.result();
    host.dispose();
    expectMetrics(want, reference(batches, opts).metrics, METRIC_REL, metricKeys(opts));
    // the same batches as float32 device tensors, then as float16 ones, int32 and int64 labels, some from the host
    for (const half of [false, true]) {
      const ev = shared.evaluator(opts);
      for (let i = 0; i < batches.length; i++) {
        const b = batches[i];
        if (i === 2) await ev.add(logitsInput(b, half), b.labels);
        else {
          const t = onDevice(b, owned, { half, int64: i % 2 === 1 });
          await ev.add(t.logits, t.labels);
        }
      }
      const got = await ev.result();
      ev.dispose();
      expectSameBits(got, want, `device ${half ? 'float16' : 'float32'} vs host float32`);
    }
  });

  seeded(dctx, "perRow with output 'device': loss and rank buffers the caller owns, equal to the host perRow results", async (rng) => {
    const b = randomBatch(rng, { n: 200, C: 30, dims: [2], ignoreIndex: -100, ignoreFrac: 0.2, agree: 0.5, ties: 0.1 });
    const ref = reference([b], { topK: [3] });
    const ev = shared.evaluator({ topK: [3] });
    const t = onDevice(b, owned);
    const per = await ev.add(t.logits, t.labels, { perRow: true, output: 'device' });
    expect(per).toBeDefined();
    const loss = per!.loss as { buffer: GPUBuffer; shape: number[]; dtype?: string };
    const rank = per!.rank as { buffer: GPUBuffer; shape: number[]; dtype?: string };
    expect(loss.buffer).toBeDefined();
    expect(rank.buffer).toBeDefined();
    expect(loss.dtype ?? 'float32').toBe('float32');
    expect(rank.dtype).toBe('int32');
    const rows = b.labels.length;
    const lossData = await readBack(device, loss.buffer, rows);
    const rankData = new Int32Array((await readBack(device, rank.buffer, rows)).buffer);
    loss.buffer.destroy();
    rank.buffer.destroy();
    const hostEv = shared.evaluator({ topK: [3] });
    const hostPer = await hostEv.add(logitsInput(b), b.labels, { perRow: true });
    const hl = (hostPer!.loss as { data: Float32Array }).data, hr = (hostPer!.rank as { data: Int32Array }).data;
    const f: string[] = [];
    const want = ref.perBatch[0];
    for (let r = 0; r < rows; r++) {
      if (!Object.is(lossData[r], hl[r]) || rankData[r] !== hr[r]) f.push(`row ${r}: device (${lossData[r]}, ${rankData[r]}) vs host (${hl[r]}, ${hr[r]})`);
      if (want.ignored[r]) continue;
      if (rankData[r] !== want.rank[r]) f.push(`row ${r}: rank ${rankData[r]}, expected ${want.rank[r]}`);
      if (!(Math.abs(lossData[r] - want.loss[r]) <= ROW_TOL * Math.max(1, Math.abs(want.loss[r])))) f.push(`row ${r}: loss ${lossData[r]}, expected ${want.loss[r]}`);
    }
    if (f.length) throw new Error(`${f.length} rows differ:\n${f.slice(0, 20).join('\n')}`);
    expectSameBits(await ev.result(), await hostEv.result(), 'device perRow vs host perRow');
    ev.dispose();
    hostEv.dispose();
  });

  seeded(dctx, 'bad device labels and NaN device logits name the batch and row; the evaluator stays usable', async (rng) => {
    const good = randomBatch(rng, { n: 100, C: 20, agree: 0.5 });
    const ev = shared.evaluator();
    const g = onDevice(good, owned);
    await ev.add(g.logits, g.labels);
    const first = await ev.result();
    const over = randomBatch(rng, { n: 90, C: 20 });
    over.labels[71] = 20;
    const o1 = onDevice(over, owned);
    await expectBatchError(ev.add(o1.logits, o1.labels), 1, 71);
    const neg = randomBatch(rng, { n: 10, C: 20 });
    neg.labels[9] = -7;
    const o2 = onDevice(neg, owned, { int64: true });
    await expectBatchError(ev.add(o2.logits, o2.labels), 2, 9);
    const huge = randomBatch(rng, { n: 4, C: 20 });
    const bigLabels = BigInt64Array.from(huge.labels, (v) => BigInt(v));
    bigLabels[1] = 2n ** 40n; // outside int32: its low word alone is 0, a valid class
    const o3 = { logits: onDevice(huge, owned).logits, labels: { buffer: uploadBytes(bigLabels, owned), shape: [4], dtype: 'int64' as const } };
    await expectBatchError(ev.add(o3.logits, o3.labels), 3, 1);
    const nan = randomBatch(rng, { n: 50, C: 20, half: true });
    nan.bits![33 * 20 + 19] = 0xfe00;
    const o4 = onDevice(nan, owned, { half: true });
    await expectBatchError(ev.add(o4.logits, o4.labels), 4, 33, /nan/i);
    expectSameBits(await ev.result(), first, 'after the rejected device batches');
    const more = randomBatch(rng, { n: 60, C: 20, agree: 0.5 });
    const m = onDevice(more, owned);
    await ev.add(m.logits, m.labels);
    expectSameBits(await ev.result(), await evaluate(shared, [good, more]), 'a later result vs the one without the bad batches');
    ev.dispose();
  });

  seeded(dctx, 'binary device logits (N, 1) with float32 and int32 labels', async (rng) => {
    const b = randomBinary(rng, 333, { column: true, zeros: 0.02 });
    const bi = randomBinary(rng, 100, { intLabels: true, ignoreIndex: -100, ignoreFrac: 0.2 });
    const opts = { binary: true };
    const ev = shared.evaluator(opts);
    await ev.add({ buffer: uploadBytes(b.logits, owned), shape: b.shape, dtype: 'float32' }, { buffer: uploadBytes(b.labels, owned), shape: b.shape, dtype: 'float32' });
    await ev.add({ buffer: uploadBytes(bi.logits, owned), shape: bi.shape, dtype: 'float32' }, { buffer: uploadBytes(bi.labels, owned), shape: bi.shape, dtype: 'int32' });
    const got = await ev.result();
    ev.dispose();
    expectMetrics(got, reference([b, bi], opts).metrics, METRIC_REL, metricKeys(opts));
    expectSameBits(got, await evaluate(shared, [b, bi], opts), 'binary device vs host');
  });
});
