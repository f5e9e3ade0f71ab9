/**
 * Half-precision inputs and int64 labels (issue 11) on the WebGPU backend (Dawn on SwiftShader or lavapipe; the
 * vitest project names the adapter), one library object per file (NaN-poisoned outputs, so that an element never
 * written shows) and its CPU oracle running the same plan:
 * - every PyTorch fixture of test/fixtures/torch-half (test/half.ts, runHalfFixture): in the input's dtype (within
 *   one half ulp of torch's float64 result rounded) and in float32; for the first case of each method and dtype in
 *   the other half dtype too, for its first three gradient cases without the gradient too; the 8 × 128256 bfloat16
 *   cross-entropy once, from the host and in place on the device;
 * - the strong test on fresh random inputs of every method (seed from SEED or the clock, printed on failure): a half
 *   input gives bit for bit what the float32 input holding the decoded values gives on this GPU, and agrees with the
 *   CPU oracle as the other GPU tests require (1e-5·max(1, |cpu|); half outputs within one ulp);
 * - device tensors: half inputs, targets, dy and gradOutput in buffers sized as the API needs (2 bytes an element,
 *   rounded up to 4), int64 labels (8 bytes a label), output 'device' in the half dtype and in float32, in place;
 *   out-of-range int64 labels flagged by the kernel; buffers too small rejected;
 * - host half inputs larger than maxBufferBytes (streamed in pieces): the CPU oracle, and the decoded float32 input
 *   streamed alike; int64 host labels and inPlace on half host inputs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLosses, LossError } from '../../src/index.js';
import type { Losses } from '../../src/index.js';
import {
  argsOf, callOp, checkHalfCase, closeHalf, decodeBits, halfFixtureCases, HALF_DTYPES, HALF_OPS, hasTensorResult, identical,
  NO_GRAD, randomHalfCases, roundToHalf, runHalfFixture, strongCheck,
} from '../half.js';
import type { Args, HalfCase, HalfOp, HalfSpec, TargetSpec } from '../half.js';
import { baseSeed, Rng } from '../rng.js';
import { COPY_DST, COPY_SRC, MAP_READ, STORAGE, webgpuLosses } from './harness.js';

const cases = halfFixtureCases();
let gpu: Losses;
let cpu: Losses;
let device: GPUDevice;
const owned: GPUBuffer[] = [];

beforeAll(async () => {
  gpu = await webgpuLosses(); // poison: true
  cpu = await createLosses({ backend: 'cpu', profile: gpu.profile });
  device = gpu.device as GPUDevice;
});

afterAll(() => {
  for (const b of owned) b.destroy();
  cpu?.dispose();
  gpu?.dispose();
});

function errText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function report(failures: string[], ran: number, head = ''): void {
  expect(ran, 'nothing ran').toBeGreaterThan(0);
  if (failures.length) throw new Error(`${head}${failures.length} failures (${ran} ran):\n${failures.join('\n')}`);
}

// ------------------------------------------------------------------ device buffers

/** A STORAGE | COPY_DST | COPY_SRC buffer of exactly `size` bytes (default: the data rounded up to 4) holding `data`. */
function bufferOf(data: ArrayBufferView, size = Math.max(4, Math.ceil(data.byteLength / 4) * 4)): GPUBuffer {
  const b = device.createBuffer({ size, usage: STORAGE | COPY_DST | COPY_SRC });
  const n = Math.min(Math.ceil(data.byteLength / 4) * 4, size - (size % 4));
  if (n > 0) {
    const padded = new Uint8Array(n);
    padded.set(new Uint8Array(data.buffer, data.byteOffset, Math.min(data.byteLength, n)));
    device.queue.writeBuffer(b, 0, padded);
  }
  owned.push(b);
  return b;
}

/** `bytes` bytes of a buffer, read back. */
async function readBytes(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  const size = Math.max(4, Math.ceil(bytes / 4) * 4);
  const staging = device.createBuffer({ size, usage: MAP_READ | COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, staging, 0, size);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(MAP_READ);
  const out = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  staging.destroy();
  return out;
}

/** A result with device tensors read back into host tensors ({ data: Uint16Array, dtype } for half ones), the buffers destroyed. */
async function hostOf(r: unknown, what: string): Promise<unknown> {
  if (typeof r === 'number') return r;
  if (r && typeof r === 'object' && 'loss' in r && 'grad' in r) {
    const g = r as { loss: unknown; grad: unknown };
    return { loss: await hostOf(g.loss, `${what}.loss`), grad: await hostOf(g.grad, `${what}.grad`) };
  }
  if (r && typeof r === 'object' && 'buffer' in r && 'shape' in r) {
    const t = r as { buffer: GPUBuffer; shape: number[]; dtype?: string };
    const n = t.shape.reduce((a, b) => a * b, 1);
    const dtype = t.dtype ?? 'float32';
    const esize = dtype === 'float32' ? 4 : 2;
    const need = Math.ceil((n * esize) / 4) * 4;
    if (t.buffer.size < need) throw new Error(`${what}: a ${dtype} device result of ${n} elements in a buffer of ${t.buffer.size} bytes`);
    const bytes = await readBytes(t.buffer, n * esize);
    t.buffer.destroy();
    return dtype === 'float32' ? { data: new Float32Array(bytes), shape: [...t.shape], dtype } : { data: new Uint16Array(bytes), shape: [...t.shape], dtype };
  }
  throw new Error(`${what}: not a device result: ${JSON.stringify(r)}`);
}

function halfDevice(s: HalfSpec) {
  return { buffer: bufferOf(s.bits), shape: [...s.shape], dtype: s.dtype };
}

function targetDevice(t: TargetSpec) {
  if (t.kind === 'half') return halfDevice(t);
  if (t.kind === 'float32') return { buffer: bufferOf(t.data), shape: [...t.shape], dtype: 'float32' as const };
  const data = t.dtype === 'int64' ? BigInt64Array.from(t.data, (v) => BigInt(v)) : Int32Array.from(t.data);
  return { buffer: bufferOf(data), shape: [...t.shape], dtype: t.dtype };
}

/** A case's arguments with every tensor (input, target or dy, gradOutput) in a device buffer. */
function deviceArgs(c: { input: HalfSpec; target?: TargetSpec; options: Record<string, unknown> }): Args {
  const a = argsOf(c, 'half');
  const go = c.options.gradOutput as TargetSpec | undefined;
  if (go) a.options.gradOutput = targetDevice(go);
  return { x: halfDevice(c.input) as never, target: c.target && targetDevice(c.target), options: a.options };
}

// ------------------------------------------------------------------ the fixtures

describe('torch fixtures on WebGPU', () => {
  for (const op of HALF_OPS) {
    for (const dtype of HALF_DTYPES) {
      it(`${op} ${dtype}`, async () => {
        const mine = cases.filter((c) => c.op === op && c.dtype === dtype);
        const failures: string[] = [];
        // Every case in its dtype and in float32; the other half dtype once, and the loss without its gradient for
        // the first few gradient cases only (the fixtures hold '(no grad)' cases of their own, and every extra option
        // combination is a pipeline that lavapipe compiles for seconds).
        let withGrad = 0;
        for (const [i, c] of mine.entries()) {
          const grad = c.options.grad === true;
          failures.push(...await runHalfFixture(gpu, c, { other: i === 0, noGrad: grad && withGrad++ < 3 }));
        }
        report(failures, mine.length);
      });
    }
  }
});

describe('8 × 128256 bfloat16 crossEntropy with its gradient (torch fixture)', () => {
  it('from the host; then in place on device logits with device int64 labels', async () => {
    const [big] = halfFixtureCases({ large: true });
    const failures = await runHalfFixture(gpu, big);
    const d = deviceArgs(big);
    const x = d.x as unknown as { buffer: GPUBuffer };
    const r = await callOp(gpu, big.op, d, { inPlace: true, output: 'device' }) as { loss: number; grad: { buffer: GPUBuffer; dtype: string } };
    expect(r.grad.buffer, 'inPlace: the gradient is the input buffer').toBe(x.buffer);
    expect(r.grad.dtype).toBe('bfloat16');
    const m = checkHalfCase(big, await hostOf(r, 'large'), 'bfloat16');
    if (m) failures.push(`device inPlace: ${m}`);
    report(failures, 1);
  });
});

// ------------------------------------------------------------------ strong test and oracle

describe('strong: a half input gives bit for bit the float32 answer of its decoded values, and agrees with the CPU oracle', () => {
  for (const dtype of HALF_DTYPES) {
    it(dtype, async () => {
      const seed = baseSeed();
      const rng = Rng.for(seed, `gpu half strong ${dtype}`);
      const failures: string[] = [];
      let n = 0;
      for (const c of randomHalfCases(rng, dtype)) {
        n++;
        const g = await strongCheck(gpu, c, failures, 'gpu');
        // the CPU oracle, running this GPU's plan, on the half input
        const tensors = hasTensorResult(c.op, c.options);
        for (const [extra, got] of [[tensors ? { outputDtype: 'float32' } : {}, g.f32], [{}, tensors ? g.half : undefined]] as const) {
          if (got === undefined) continue;
          try {
            const want = await callOp(cpu, c.op, argsOf(c, 'half'), extra);
            const d = closeHalf(got, want, dtype);
            if (d) failures.push(`oracle ${c.name} ${JSON.stringify(extra)}: ${d}`);
          } catch (e) {
            failures.push(`oracle ${c.name}: the CPU rejected: ${errText(e)}`);
          }
        }
      }
      report(failures, n, `seed ${seed} (rerun with SEED=${seed}): `);
    });
  }
});

// ------------------------------------------------------------------ device tensors

/** The first cases of each method and dtype that have a tensor result: one with grad where there is one. */
function deviceCases(): HalfCase[] {
  const out: HalfCase[] = [];
  for (const op of HALF_OPS) {
    for (const dtype of HALF_DTYPES) {
      const mine = cases.filter((c) => c.op === op && c.dtype === dtype && hasTensorResult(c.op, c.options));
      const picks = new Set([mine[0], mine.find((c) => c.options.gradOutput !== undefined), mine.find((c) => c.options.grad && c.options.reduction !== 'none'),
        mine.find((c) => c.target?.kind === 'index' && c.target.dtype === 'int64')]);
      for (const c of picks) if (c) out.push(c);
    }
  }
  return out;
}

describe('device tensors', () => {
  it("half inputs, targets and gradOutput on the device, output 'device' in the half dtype and in float32: exactly the host answer", async () => {
    const failures: string[] = [];
    const todo = deviceCases();
    for (const c of todo) {
      for (const extra of [{}, { outputDtype: 'float32' }] as const) {
        try {
          const host = await callOp(gpu, c.op, argsOf(c, 'half'), extra);
          const dev = await callOp(gpu, c.op, deviceArgs(c), { ...extra, output: 'device' });
          const back = await hostOf(dev, c.id);
          const d = identical(back, host, c.dtype);
          if (d) failures.push(`${c.id} ${JSON.stringify(extra)}: device != host: ${d}`);
          const m = checkHalfCase(c, back, 'outputDtype' in extra ? 'float32' : c.dtype);
          if (m) failures.push(`${c.id} ${JSON.stringify(extra)} (device): ${m}`);
        } catch (e) {
          failures.push(`${c.id} ${JSON.stringify(extra)}: ${errText(e)}`);
        }
      }
    }
    expect(todo.some((c) => c.options.gradOutput !== undefined && (c.options.gradOutput as TargetSpec).kind === 'half')).toBe(true);
    report(failures, todo.length);
  });

  it('inPlace on a half device input: the gradient bits are written into its buffer', async () => {
    const failures: string[] = [];
    const todo = deviceCases().filter((c) => c.options.grad === true);
    for (const c of todo) {
      try {
        const host = await callOp(gpu, c.op, argsOf(c, 'half')) as { grad: unknown };
        const d = deviceArgs(c);
        const x = d.x as unknown as { buffer: GPUBuffer };
        const r = await callOp(gpu, c.op, d, { inPlace: true, output: 'device' }) as { loss: unknown; grad: { buffer: GPUBuffer; shape: number[]; dtype: string } };
        if (r.grad.buffer !== x.buffer) failures.push(`${c.id}: grad.buffer is not the input buffer`);
        if (r.grad.dtype !== c.dtype) failures.push(`${c.id}: grad.dtype ${r.grad.dtype}`);
        const n = c.input.bits.length;
        const bits = new Uint16Array(await readBytes(x.buffer, n * 2));
        const dd = identical({ data: bits, shape: r.grad.shape, dtype: c.dtype }, host.grad, c.dtype);
        if (dd) failures.push(`${c.id}: in-place bits != host gradient: ${dd}`);
        if (typeof r.loss !== 'number') await hostOf(r.loss, c.id);
      } catch (e) {
        failures.push(`${c.id}: ${errText(e)}`);
      }
    }
    report(failures, todo.length);
  });

  describe('int64 device labels (8 bytes a label, little endian)', () => {
    const C = 3;
    const xBits = Uint16Array.from([0.5, 1.5, -2, 3, 0.1, 0.2], (v) => roundToHalf(v, 'bfloat16'));
    const x = () => ({ buffer: bufferOf(xBits), shape: [2, C], dtype: 'bfloat16' as const });
    const labels = (v: bigint[]) => ({ buffer: bufferOf(BigInt64Array.from(v)), shape: [2], dtype: 'int64' as const });

    it('out of range, or outside int32 (even where the low word is in range or ignoreIndex): the kernel flags it, the call rejects', async () => {
      const bad: [bigint[], string, number?][] = [
        [[1n, 3n], 'C'], [[-5n, 0n], '-5'], [[2n ** 32n + 1n, 0n], '2^32 + 1 (low word 1)'], [[0n, 2n ** 40n], '2^40'],
        [[0n, -(2n ** 31n) - 1n], '-2^31 - 1'], [[0n, 2n ** 31n], '2^31'], [[2n ** 32n - 100n, 0n], '2^32 - 100 (low word -100)'],
        [[2n ** 32n - 1n, 1n], '2^32 - 1 with ignoreIndex -1 (low word -1)', -1], [[-(2n ** 63n), 1n], '-2^63'],
      ];
      for (const m of ['crossEntropy', 'nllLoss'] as const) {
        for (const [v, what, ignoreIndex] of bad) {
          for (const o of [{ reduction: 'mean' }, { reduction: 'none' }, { reduction: 'sum', grad: true }, { reduction: 'none', grad: true, output: 'device' }]) {
            const opts = ignoreIndex === undefined ? o : { ...o, ignoreIndex };
            const err = await callOp(gpu, m, { x: x(), target: labels(v), options: opts }).then(() => null, (e: unknown) => e);
            expect(err, `${m} ${what} ${JSON.stringify(opts)}`).toBeInstanceOf(LossError);
            expect((err as Error).message, what).toMatch(new RegExp(`^${m}: .*target`));
          }
        }
      }
    });

    it('in range (ignoreIndex included): exactly the int32 answer, host labels and device labels alike', async () => {
      const good: [number[], number?][] = [[[0, 2]], [[-100, 2]], [[2, 1]], [[-1, 1], -1], [[1, 1], 1]];
      for (const m of ['crossEntropy', 'nllLoss'] as const) {
        for (const [v, ignoreIndex] of good) {
          for (const o of [{ reduction: 'mean' }, { reduction: 'sum' }, { reduction: 'none' }, { reduction: 'mean', grad: true }, { reduction: 'none', grad: true }]) {
            const opts = ignoreIndex === undefined ? o : { ...o, ignoreIndex };
            if (opts.reduction === 'mean' && v.every((t) => t === (ignoreIndex ?? -100))) continue;
            const ref = await callOp(gpu, m, { x: x(), target: Int32Array.from(v), options: opts });
            const dev = await callOp(gpu, m, { x: x(), target: labels(v.map(BigInt)), options: opts });
            const host = await callOp(gpu, m, { x: x(), target: BigInt64Array.from(v, BigInt), options: opts });
            const int32dev = await callOp(gpu, m, { x: x(), target: { buffer: bufferOf(Int32Array.from(v)), shape: [2], dtype: 'int32' }, options: opts });
            for (const [name, r] of [['int64 device', dev], ['int64 host', host], ['int32 device', int32dev]] as const) {
              const d = identical(r, ref, 'bfloat16');
              if (d) throw new Error(`${m} ${JSON.stringify(v)} ${JSON.stringify(opts)} ${name}: ${d}`);
            }
          }
        }
      }
    });

    it('K-dim int64 device labels (N, d1)', async () => {
      const xs = Uint16Array.from({ length: 2 * 4 * 3 }, (_, i) => roundToHalf(Math.sin(i) * 3, 'float16'));
      const t = [0, 3, -100, 1, 2, 3];
      for (const o of [{ reduction: 'mean', grad: true }, { reduction: 'none' }] as const) {
        const ref = await gpu.crossEntropy({ data: xs, shape: [2, 4, 3], dtype: 'float16' }, { data: Int32Array.from(t), shape: [2, 3] }, o);
        const dev = await gpu.crossEntropy({ buffer: bufferOf(xs), shape: [2, 4, 3], dtype: 'float16' },
          { buffer: bufferOf(BigInt64Array.from(t, BigInt)), shape: [2, 3], dtype: 'int64' }, o);
        expect(identical(dev, ref, 'float16')).toBeNull();
      }
    });
  });

  it('buffers smaller than the API needs reject with a LossError (half: 2 bytes an element rounded up to 4; int64: 8)', async () => {
    const bits = Uint16Array.from([0x3c00, 0x4000, 0xbc00, 0x3800, 0x0000]); // 5 halves: 10 bytes, 12 needed
    const rejects = async (p: Promise<unknown>, what: string) => {
      const err = await p.then(() => null, (e: unknown) => e);
      expect(err, what).toBeInstanceOf(LossError);
    };
    for (const dtype of HALF_DTYPES) {
      await rejects(gpu.softmax({ buffer: bufferOf(bits, 8), shape: [5], dtype }), `${dtype} 8 bytes for 5`);
      await rejects(gpu.softmax({ buffer: bufferOf(bits, 10), shape: [5], dtype }), `${dtype} 10 bytes for 5 (12 needed)`);
      const ok = await gpu.softmax({ buffer: bufferOf(bits, 12), shape: [5], dtype }) as { data: Uint16Array; dtype: string };
      expect(ok.dtype).toBe(dtype);
      expect(identical(ok, await gpu.softmax({ data: bits, shape: [5], dtype }), dtype)).toBeNull();
      const y = { buffer: bufferOf(bits, 12), shape: [5], dtype };
      await rejects(gpu.softmaxBackward(y, { buffer: bufferOf(bits, 8), shape: [5], dtype }), `${dtype} dy too small`);
      await rejects(gpu.binaryCrossEntropyWithLogits(y, { buffer: bufferOf(bits, 8), shape: [5], dtype }), `${dtype} target too small`);
      await rejects(gpu.binaryCrossEntropyWithLogits(y, { data: bits, shape: [5], dtype }, { reduction: 'none', grad: true, gradOutput: { buffer: bufferOf(bits, 8), shape: [5], dtype } }),
        `${dtype} gradOutput too small`);
    }
    const x = { data: Uint16Array.from([0x3c00, 0x4000, 0xbc00, 0x3800, 0, 0x3c00, 0x4000, 0xbc00, 0x3800]), shape: [3, 3], dtype: 'float16' as const };
    await rejects(gpu.crossEntropy(x, { buffer: bufferOf(new BigInt64Array(2), 16), shape: [3], dtype: 'int64' }), 'int64 labels: 16 bytes for 3');
    await rejects(gpu.crossEntropy(x, { buffer: bufferOf(new BigInt64Array(3), 20), shape: [3], dtype: 'int64' }), 'int64 labels: 20 bytes for 3');
    expect(typeof await gpu.crossEntropy(x, { buffer: bufferOf(new BigInt64Array(3), 24), shape: [3], dtype: 'int64' })).toBe('number');
  });

  it('a device tensor with a dtype the API does not know rejects ("half", "uint64")', async () => {
    const b = bufferOf(new Uint16Array(6));
    const err = await gpu.softmax({ buffer: b, shape: [2, 3], dtype: 'half' } as never).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(LossError);
    const labels = await gpu.crossEntropy({ buffer: b, shape: [2, 3], dtype: 'float16' }, { buffer: bufferOf(new BigInt64Array(2)), shape: [2], dtype: 'uint64' } as never)
      .then(() => null, (e: unknown) => e);
    expect(labels).toBeInstanceOf(LossError);
  });
});

// ------------------------------------------------------------------ streamed host inputs

// Host streaming is the same on every adapter: not on lavapipe (as vitest.config.ts leaves out the other streaming test).
describe.skipIf(process.env.WGL_ADAPTER === 'llvmpipe')('host half inputs larger than maxBufferBytes (streamed through the device)', () => {
  it('agree with the CPU oracle, in the half dtype and in float32, and equal the decoded float32 input streamed alike', async () => {
    const small = await webgpuLosses({ maxBufferBytes: 16384 });
    try {
      const failures: string[] = [];
      const rng = new Rng(11);
      let ran = 0;
      for (const dtype of HALF_DTYPES) {
        // 48 rows of 300: 28 800 bytes of halves (57 600 as float32), several pieces of whole rows either way
        const shape = [48, 300];
        const n = shape[0] * shape[1];
        const input: HalfSpec = { kind: 'half', dtype, bits: Uint16Array.from({ length: n }, () => roundToHalf(rng.normal(0, 3), dtype)), shape };
        const labels: TargetSpec = { kind: 'index', dtype: 'int64', data: Array.from({ length: shape[0] }, (_, i) => (i % 7 === 3 ? -100 : rng.int(0, shape[1]))), shape: [shape[0]], asTensor: false };
        const probs: TargetSpec = { kind: 'half', dtype, bits: Uint16Array.from({ length: n }, () => roundToHalf(rng.uniform(0, 1), dtype)), shape };
        const go: TargetSpec = { kind: 'half', dtype, bits: Uint16Array.from({ length: shape[0] }, () => roundToHalf(rng.normal(0, 1), dtype)), shape: [shape[0]] };
        const todo: { op: HalfOp; target?: TargetSpec; options: Record<string, unknown> }[] = [
          { op: 'crossEntropy', target: labels, options: { grad: true, labelSmoothing: 0.1 } },
          { op: 'crossEntropy', target: labels, options: { reduction: 'none', grad: true, gradOutput: go } },
          { op: 'logSoftmax', options: {} },
          { op: 'binaryCrossEntropyWithLogits', target: probs, options: { reduction: 'sum', grad: true } },
          { op: 'entropy', options: { reduction: 'mean' } },
        ];
        for (const t of todo) {
          ran++;
          const c = { input, target: t.target, options: t.options };
          const name = `${dtype} ${t.op} ${JSON.stringify(Object.keys(t.options))}`;
          try {
            const tensors = hasTensorResult(t.op, t.options);
            for (const extra of tensors ? [{}, { outputDtype: 'float32' }] : [{}]) {
              const got = await callOp(small, t.op, argsOf(c, 'half'), extra);
              const want = await callOp(cpu, t.op, argsOf(c, 'half'), extra);
              const d = closeHalf(got, want, dtype);
              if (d) failures.push(`${name} ${JSON.stringify(extra)} vs the CPU oracle: ${d}`);
            }
            const half = await callOp(small, t.op, argsOf(c, 'half'), tensors ? { outputDtype: 'float32' } : {});
            const f32 = await callOp(small, t.op, argsOf(c, 'float32'));
            const d = identical(half, f32);
            if (d) failures.push(`${name}: streamed half input != streamed float32 input of the decoded values: ${d}`);
          } catch (e) {
            failures.push(`${name}: ${errText(e)}`);
          }
        }
      }
      report(failures, ran);
    } finally {
      small.dispose();
    }
  });
});

// ------------------------------------------------------------------ host int64 labels and inPlace on the GPU

describe('host half inputs on the GPU', () => {
  it('int64 host labels: exactly the int32 answer; out-of-int32 values reject', async () => {
    const x = { data: Uint16Array.from({ length: 12 }, (_, i) => roundToHalf(Math.cos(i) * 2, 'bfloat16')), shape: [4, 3], dtype: 'bfloat16' as const };
    const t = [2, -100, 0, 1];
    for (const o of [{}, { reduction: 'none', grad: true }] as const) {
      const ref = await gpu.crossEntropy(x, Int32Array.from(t), o);
      expect(identical(await gpu.crossEntropy(x, BigInt64Array.from(t, BigInt), o), ref, 'bfloat16')).toBeNull();
      expect(identical(await gpu.nllLoss(x, { data: BigInt64Array.from(t, BigInt), shape: [4] }, o),
        await gpu.nllLoss(x, Int32Array.from(t), o), 'bfloat16')).toBeNull();
    }
    for (const v of [2n ** 31n, -(2n ** 31n) - 1n, 2n ** 40n, 2n ** 32n + 1n]) {
      const err = await gpu.crossEntropy(x, BigInt64Array.from([0n, v, 1n, 2n])).then(() => null, (e: unknown) => e);
      expect(err, String(v)).toBeInstanceOf(LossError);
    }
  });

  it('inPlace on a half host input writes the gradient bits into its Uint16Array', async () => {
    const ops: HalfOp[] = ['crossEntropy', 'nllLoss', 'binaryCrossEntropy', 'binaryCrossEntropyWithLogits', 'klDiv', 'sigmoidFocalLoss'];
    const failures: string[] = [];
    let ran = 0;
    for (const dtype of HALF_DTYPES) {
      for (const op of ops) {
        const c = cases.find((k) => k.op === op && k.dtype === dtype && k.options.grad === true && k.options.gradOutput !== undefined);
        if (!c) continue;
        ran++;
        const ref = await callOp(gpu, op, argsOf(c, 'half'));
        const a = argsOf(c, 'half');
        const r = await callOp(gpu, op, a, { inPlace: true }) as { grad: { data: unknown } };
        if (r.grad.data !== a.x.data) failures.push(`${c.id}: grad.data is not the input's array`);
        const d = identical(r, ref, dtype);
        if (d) failures.push(`${c.id}: ${d}`);
        const noGrad = await callOp(gpu, op, argsOf(c, 'half'), NO_GRAD);
        const m = checkHalfCase(c, noGrad, dtype, false);
        if (m) failures.push(`${c.id} (no grad): ${m}`);
      }
    }
    report(failures, ran);
  });

  it('the decoded float32 input and the half input differ only in dtype: one poisoned output each, every element written', async () => {
    // a long row (split / vec4 paths) and odd sizes (a half output whose last word is half used)
    const rng = new Rng(7);
    for (const dtype of HALF_DTYPES) {
      for (const shape of [[3, 4099], [1, 9000], [5, 7], [1]]) {
        const n = shape.reduce((a, b) => a * b, 1);
        const bits = Uint16Array.from({ length: n }, () => roundToHalf(rng.normal(0, 3), dtype));
        const half = await gpu.logSoftmax({ data: bits, shape, dtype }) as { data: Uint16Array };
        const f32 = await gpu.logSoftmax({ data: decodeBits(bits, dtype), shape }, { outputDtype: dtype }) as { data: Uint16Array };
        expect(identical(half, f32, dtype), `${dtype} [${shape}]`).toBeNull();
        const want = await cpu.logSoftmax({ data: bits, shape, dtype });
        expect(closeHalf(half, want, dtype), `${dtype} [${shape}] vs CPU`).toBeNull();
      }
    }
  });
});
