/**
 * Gradients (issue 5) on WebGPU (Node + Dawn on SwiftShader):
 * - the PyTorch autograd fixtures on the GPU (docs/ARCHITECTURE.md, "The plan and the numerics contract": 2e-5·max(1, |e|), NaN/±inf exactly);
 * - GPU vs the CPU oracle running the GPU's plan, 1e-5·max(1, |cpu|) per element and exact NaN/±inf
 *   positions, with every output and scratch buffer NaN-poisoned, over C ∈ {2, 10, 257, 32000, 131072},
 *   70000 rows of 3 classes, K-dim inputs and backward ops along dim ≠ −1, under the adapter profiles
 *   that reach each kernel family (SwiftShader's own, a GPU without subgroups, one invocation per
 *   row, a 2-D grid, 64 KiB bindings that force chunking);
 * - device-tensor inputs, `output: 'device'` (read back), `inPlace` on host and on device inputs.
 * Inputs are drawn from SEED (or the clock), printed in every failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from 'webgpu';
import { createLosses, LossError } from '../../src/index.js';
import type { AdapterProfile, DeviceTensor, HostTensor, Losses } from '../../src/index.js';
import { GRAD_OPS, compareGradCase, gradFixtureCases, runGradCase } from '../grad-fixtures.js';
import { readBack as harnessReadBack } from './harness.js';
import type { GradOp } from '../grad-fixtures.js';
import * as ref from '../reference.js';
import { baseSeed, classTargets, logits, numel, probTargets, randn, Rng, uniform, weights } from '../rng.js';

/** Referenced from module scope for the life of the file: a collected GPU object aborts the process. */
const gpu = create([]);
const SEED = baseSeed();
const STORAGE = 128, COPY_DST = 8, COPY_SRC = 4;

interface Pair { name: string; gpu: Losses; oracle: Losses }
const pairs: Record<string, Pair> = {};
let main: Losses;
let device: GPUDevice;

const PROFILE_NAMES = ['swiftshader', 'workgroup', 'threadOnly', 'grid2d', 'chunked64k'] as const;
type ProfileName = typeof PROFILE_NAMES[number];

beforeAll(async () => {
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter: is VK_ICD_FILENAMES pointing at SwiftShader and libvulkan1 installed? (README.md, "WebGPU without a GPU")');
  main = await createLosses({ backend: 'webgpu', gpu, poison: true });
  expect(main.backend).toBe('webgpu');
  device = main.device!;
  const real = main.profile!;
  const profiles: Record<ProfileName, AdapterProfile | undefined> = {
    swiftshader: undefined,
    workgroup: { emulated: false, subgroupSize: 0, maxGroupsPerDim: 65535, maxBindingBytes: 1 << 30 },
    threadOnly: { ...real, subgroupSize: 0 },
    grid2d: { ...real, maxGroupsPerDim: 61 },
    chunked64k: { ...real, maxBindingBytes: 1 << 16 },
  };
  for (const name of PROFILE_NAMES) {
    const p = profiles[name];
    const g = p === undefined ? main : await createLosses({ backend: 'webgpu', gpu, device, poison: true, profile: p });
    pairs[name] = { name, gpu: g, oracle: await createLosses({ backend: 'cpu', profile: g.profile }) };
  }
  expect(pairs.chunked64k.gpu.profile!.maxBindingBytes).toBe(1 << 16);
});

afterAll(() => {
  for (const p of Object.values(pairs)) if (p.gpu !== main) p.gpu.dispose();
  main?.dispose();
});

// ------------------------------------------------------------------ helpers

function upload(data: Float32Array | Int32Array): GPUBuffer {
  const b = device.createBuffer({ size: Math.max(16, Math.ceil(data.byteLength / 16) * 16), usage: STORAGE | COPY_SRC | COPY_DST });
  device.queue.writeBuffer(b, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  return b;
}

function readBack(buffer: GPUBuffer, floats: number): Promise<Float32Array> {
  return harnessReadBack(device, buffer, floats);
}

async function readTensor(t: DeviceTensor): Promise<HostTensor> {
  return { data: await readBack(t.buffer, numel(t.shape)), shape: [...t.shape] };
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toPrecision(9) : String(v));

/** Mismatches of a GPU result against the oracle's (1e-5·max(1, |cpu|), exact NaN/±inf, same shapes). */
function disagreements(got: unknown, want: unknown, tol = 1e-5): string[] {
  const flat = (r: unknown, what: string): { values: ArrayLike<number>; shape: string } => {
    if (typeof r === 'number') return { values: [r], shape: 'number' };
    const t = r as HostTensor;
    if (!t || !(t.data instanceof Float32Array)) throw new Error(`${what} is not a number or a host tensor: ${JSON.stringify(r)?.slice(0, 80)}`);
    return { values: t.data, shape: `[${t.shape}]` };
  };
  const out: string[] = [];
  const g = flat(got, 'GPU result'), w = flat(want, 'oracle result');
  if (g.shape !== w.shape || g.values.length !== w.values.length) return [`shape ${g.shape} (${g.values.length}) != oracle ${w.shape} (${w.values.length})`];
  let bad = 0;
  for (let i = 0; i < w.values.length; i++) {
    const a = g.values[i], e = w.values[i];
    const ok = Number.isNaN(e) ? Number.isNaN(a) : !Number.isFinite(e) ? a === e : Number.isFinite(a) && Math.abs(a - e) <= tol * Math.max(1, Math.abs(e));
    if (!ok && bad++ < 5) out.push(`[${i}] gpu ${fmt(a)}, cpu ${fmt(e)}`);
  }
  if (bad > 5) out.push(`… ${bad} of ${w.values.length} differ`);
  return out;
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i]) && !(a[i] === 0 && b[i] === 0)) return false;
  return true;
}

// ------------------------------------------------------------------ 1. torch fixtures on the GPU

describe('torch autograd fixtures on WebGPU', () => {
  const cases = gradFixtureCases();
  for (const op of GRAD_OPS) {
    describe(`${op} (SwiftShader's plans)`, () => {
      for (const c of cases.filter((k) => k.op === op)) {
        it(c.name, async () => {
          const why = compareGradCase(c, await runGradCase(main, c));
          if (why) throw new Error(`${c.id}:\n${why}`);
        });
      }
    });
  }
  it(`all ${cases.length} cases on the plans of a GPU without subgroups (workgroup / split families)`, async () => {
    const bad: string[] = [];
    for (const c of cases) {
      const why = compareGradCase(c, await runGradCase(pairs.workgroup.gpu, c));
      if (why) bad.push(`${c.id}: ${why}`);
    }
    expect(bad, bad.slice(0, 12).join('\n')).toEqual([]);
  });
});

// ------------------------------------------------------------------ 2. GPU vs the CPU oracle

interface Variant {
  name: string;
  op: GradOp;
  /** Library options; gradOutput/weight/posWeight filled in by `materialize`. */
  opts: Record<string, unknown>;
  input: 'logits' | 'extreme' | 'negInf' | 'prob01' | 'logprob' | 'softmaxOut' | 'logSoftmaxOut';
  target: 'index' | 'ignore' | 'prob' | 'dy' | 'binary' | 'klProb' | 'klLog';
  weight?: boolean;
  posWeight?: boolean;
  gradOutput?: boolean;
}

interface Materialized {
  x: Float32Array;
  shape: number[];
  target: Int32Array | Float32Array;
  opts: Record<string, unknown>;
}

const ROW_VARIANTS: Variant[] = [
  { name: 'CE mean', op: 'crossEntropy', opts: { grad: true }, input: 'logits', target: 'index' },
  { name: 'CE weight ignore smoothing mean', op: 'crossEntropy', opts: { grad: true, labelSmoothing: 0.1 }, input: 'negInf', target: 'ignore', weight: true },
  { name: 'CE none gradOutput smoothing', op: 'crossEntropy', opts: { grad: true, reduction: 'none', labelSmoothing: 0.2 }, input: 'extreme', target: 'ignore', gradOutput: true },
  { name: 'CE prob weight smoothing sum', op: 'crossEntropy', opts: { grad: true, reduction: 'sum', labelSmoothing: 0.15 }, input: 'logits', target: 'prob', weight: true },
  { name: 'CE prob none gradOutput', op: 'crossEntropy', opts: { grad: true, reduction: 'none' }, input: 'logits', target: 'prob', gradOutput: true },
  { name: 'NLL weight ignore mean', op: 'nllLoss', opts: { grad: true }, input: 'logits', target: 'ignore', weight: true },
  { name: 'NLL none gradOutput', op: 'nllLoss', opts: { grad: true, reduction: 'none' }, input: 'logits', target: 'index', gradOutput: true },
  { name: 'softmaxBackward', op: 'softmaxBackward', opts: {}, input: 'softmaxOut', target: 'dy' },
  { name: 'logSoftmaxBackward', op: 'logSoftmaxBackward', opts: {}, input: 'logSoftmaxOut', target: 'dy' },
];

const ELEMENT_VARIANTS: Variant[] = [
  { name: 'BCE weight mean', op: 'binaryCrossEntropy', opts: { grad: true }, input: 'prob01', target: 'binary', weight: true },
  { name: 'BCE none gradOutput', op: 'binaryCrossEntropy', opts: { grad: true, reduction: 'none' }, input: 'prob01', target: 'binary', gradOutput: true },
  { name: 'BCE-logits weight posWeight sum', op: 'binaryCrossEntropyWithLogits', opts: { grad: true, reduction: 'sum' }, input: 'extreme', target: 'binary', weight: true, posWeight: true },
  { name: 'BCE-logits none gradOutput posWeight', op: 'binaryCrossEntropyWithLogits', opts: { grad: true, reduction: 'none' }, input: 'logits', target: 'binary', posWeight: true, gradOutput: true },
  { name: 'KL batchmean', op: 'klDiv', opts: { grad: true, reduction: 'batchmean' }, input: 'logprob', target: 'klProb' },
  { name: 'KL logTarget mean', op: 'klDiv', opts: { grad: true, logTarget: true }, input: 'logprob', target: 'klLog' },
  { name: 'KL none gradOutput', op: 'klDiv', opts: { grad: true, reduction: 'none' }, input: 'logprob', target: 'klProb', gradOutput: true },
];

function materialize(rng: Rng, shape: number[], v: Variant, dim?: number): Materialized {
  const n = numel(shape);
  const cdim = shape.length === 1 ? 0 : 1;
  const C = shape[cdim];
  const lossShape = v.op === 'crossEntropy' || v.op === 'nllLoss' ? shape.filter((_, i) => i !== cdim) : shape;
  const opts: Record<string, unknown> = { ...v.opts };
  if (dim !== undefined) opts.dim = dim;
  let x: Float32Array;
  switch (v.input) {
    case 'logits': x = logits(rng, shape); break;
    case 'extreme': x = logits(rng, shape, { extreme: 0.2 }); break;
    case 'negInf': x = logits(rng, shape, { negInf: C > 1 ? 0.2 : 0 }); break;
    // inside (0, 1), with values where the gradient's denominator (1 − x)·x is clamped at 1e-12 (x = 0 and 1: their own test)
    case 'prob01': x = uniform(rng, n, 1e-6, 1 - 1e-6).map((u) => (rng.bool(0.05) ? rng.pick([1e-13, 1e-30, 1 - 2 ** -24]) : u)); break;
    case 'logprob': x = randn(rng, n, 1.5, -2); break;
    case 'softmaxOut': x = new Float32Array(ref.softmax(finiteRows(logits(rng, shape, { negInf: 0.05 }), shape, dim), shape, { dim }).data); break;
    case 'logSoftmaxOut': x = new Float32Array(ref.logSoftmax(finiteRows(logits(rng, shape, { negInf: 0.05 }), shape, dim), shape, { dim }).data); break;
  }
  let target: Int32Array | Float32Array;
  switch (v.target) {
    case 'index':
    case 'ignore': {
      // (a target may sit on a -inf logit: an infinite loss with a finite gradient, on both backends)
      target = classTargets(rng, numel(lossShape), C, v.target === 'ignore' ? { ignoreIndex: -100, ignoreFrac: 0.3 } : {});
      break;
    }
    case 'prob': target = probTargets(rng, shape); break;
    case 'dy': target = randn(rng, n, 1.5); break;
    case 'binary': target = uniform(rng, n).map((u) => (u < 0.3 ? 0 : u > 0.7 ? 1 : u)); break;
    case 'klProb': target = uniform(rng, n, 0, 1).map((u) => (u < 0.1 ? 0 : u)); break;
    case 'klLog': target = randn(rng, n, 1, -2); break;
  }
  if (v.weight) opts.weight = v.op === 'crossEntropy' || v.op === 'nllLoss' ? weights(rng, C) : weights(rng, shape[shape.length - 1]);
  if (v.posWeight) opts.posWeight = weights(rng, shape[shape.length - 1], 0.2, 3);
  if (v.gradOutput) opts.gradOutput = randn(rng, numel(lossShape), 1.5);
  return { x, shape, target, opts };
}

/** Rows (along dim) that are entirely -inf get one 0: their softmax would be NaN (NaN inputs have their own test). */
function finiteRows(x: Float32Array, shape: number[], dim = -1): Float32Array {
  const d = dim < 0 ? dim + shape.length : dim;
  const C = shape[d], inner = shape.slice(d + 1).reduce((a, b) => a * b, 1), outer = x.length / (C * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let all = true;
      for (let c = 0; c < C && all; c++) all = x[(o * C + c) * inner + i] === -Infinity;
      if (all) x[o * C * inner + i] = 0;
    }
  }
  return x;
}

type AnyResult = { loss?: unknown; grad: unknown };

/** Calls the method of `op`; `x` and `target` may be host or device tensors. */
async function call(losses: Losses, op: GradOp, x: HostTensor | DeviceTensor, target: unknown, opts: Record<string, unknown>): Promise<AnyResult> {
  const o = opts as never, t = target as never;
  switch (op) {
    case 'softmaxBackward': return { grad: await losses.softmaxBackward(x, t, o) };
    case 'logSoftmaxBackward': return { grad: await losses.logSoftmaxBackward(x, t, o) };
    case 'crossEntropy': return (await losses.crossEntropy(x, t, o)) as AnyResult;
    case 'nllLoss': return (await losses.nllLoss(x, t, o)) as AnyResult;
    case 'binaryCrossEntropy': return (await losses.binaryCrossEntropy(x, t, o)) as AnyResult;
    case 'binaryCrossEntropyWithLogits': return (await losses.binaryCrossEntropyWithLogits(x, t, o)) as AnyResult;
    case 'klDiv': return (await losses.klDiv(x, t, o)) as AnyResult;
  }
}

const host = (m: Materialized): HostTensor => ({ data: new Float32Array(m.x), shape: m.shape });

/** GPU vs oracle on one materialized case: the mismatches, prefixed. */
async function versusOracle(pair: Pair, v: Variant, m: Materialized, label: string): Promise<string[]> {
  const got = await call(pair.gpu, v.op, host(m), m.target, m.opts);
  const want = await call(pair.oracle, v.op, host(m), m.target, m.opts);
  const out: string[] = [];
  if (want.loss !== undefined) out.push(...disagreements(got.loss, want.loss).map((s) => `${label} loss ${s}`));
  out.push(...disagreements(got.grad, want.grad).map((s) => `${label} grad ${s}`));
  return out;
}

/** Shapes of the row ops (class dim 1); C ∈ {2, 10, 257, 32000, 131072}, > 65535 rows, K-dim inputs. */
const ROW_SHAPES: number[][] = [[512, 2], [1000, 10], [300, 257], [8, 32000], [2, 131072], [70000, 3], [16, 10, 7], [4, 257, 3], [2, 3, 5, 4], [257]];
/** Backward ops along dim ≠ −1: [shape, dim]. */
const BACKWARD_DIMS: [number[], number][] = [[[7, 300, 5], 1], [[300, 20], 0], [[3, 4, 2000], -2], [[2, 3, 40000], 2], [[5, 2, 64, 3], -3]];
/** Element-wise shapes, including counts that are not multiples of 4. */
const ELEMENT_SHAPES: number[][] = [[70000, 3], [1001, 7], [256, 257], [9], [3, 5, 7]];

/** Floats of one outer slice along `dim` (C·inner): what must fit one binding. */
function sliceFloats(shape: number[], dim: number): number {
  const d = dim < 0 ? dim + shape.length : dim;
  return shape.slice(d).reduce((a, b) => a * b, 1);
}

/** Which row shapes each profile runs: with 64 KiB bindings a slice must fit 16320 floats. */
function rowShapesOf(p: ProfileName): number[][] {
  if (p === 'chunked64k') return ROW_SHAPES.filter((s) => sliceFloats(s, s.length === 1 ? 0 : 1) <= 16000);
  return ROW_SHAPES;
}

describe(`GPU vs the CPU oracle on the GPU's plan (SEED=${SEED})`, () => {
  for (const pname of PROFILE_NAMES) {
    describe(pname, () => {
      it('row losses and backward ops over the shape set', async () => {
        const pair = pairs[pname];
        const bad: string[] = [];
        for (const shape of rowShapesOf(pname)) {
          const rng = Rng.for(SEED, `${pname} ${shape}`);
          for (const v of ROW_VARIANTS) {
            bad.push(...(await versusOracle(pair, v, materialize(rng, shape, v), `${v.name} [${shape}]`)));
          }
        }
        expect(bad, `SEED=${SEED} profile ${pname} ${JSON.stringify(pair.gpu.profile)}\n${bad.slice(0, 16).join('\n')}`).toEqual([]);
      });

      it('backward ops along dim ≠ -1', async () => {
        const pair = pairs[pname];
        const bad: string[] = [];
        for (const [shape, dim] of BACKWARD_DIMS) {
          if (pname === 'chunked64k' && sliceFloats(shape, dim) > 16000) continue;
          const rng = Rng.for(SEED, `${pname} backward ${shape} ${dim}`);
          for (const v of ROW_VARIANTS.filter((k) => k.op.endsWith('Backward'))) {
            bad.push(...(await versusOracle(pair, v, materialize(rng, shape, v, dim), `${v.name} [${shape}] dim=${dim}`)));
          }
        }
        expect(bad, `SEED=${SEED} profile ${pname}\n${bad.slice(0, 16).join('\n')}`).toEqual([]);
      });

      it('element-wise losses', async () => {
        const pair = pairs[pname];
        const bad: string[] = [];
        for (const shape of ELEMENT_SHAPES) {
          const rng = Rng.for(SEED, `${pname} elements ${shape}`);
          for (const v of ELEMENT_VARIANTS) bad.push(...(await versusOracle(pair, v, materialize(rng, shape, v), `${v.name} [${shape}]`)));
        }
        expect(bad, `SEED=${SEED} profile ${pname}\n${bad.slice(0, 16).join('\n')}`).toEqual([]);
      });
    });
  }

  it('BCE at inputs exactly 0 and 1 (log terms clamped at -100, the gradient denominator at 1e-12)', async () => {
    const bad: string[] = [];
    const x = new Float32Array([0, 1, 0, 1, 0, 1, 0.5, 0, 1, 0.25, 0, 1, 1e-30]);
    const t = new Float32Array([0, 1, 1, 0, 0.5, 0.5, 0.5, 0.3, 0.7, 1, 1, 0, 1]);
    for (const pname of ['swiftshader', 'chunked64k'] as const) {
      for (const opts of [{ grad: true }, { grad: true, reduction: 'sum' }, { grad: true, reduction: 'none' }, { grad: true, reduction: 'none', weight: weights(Rng.for(SEED, 'bce01'), 13) }]) {
        const v: Variant = { name: `BCE 0/1 ${JSON.stringify(opts).slice(0, 40)}`, op: 'binaryCrossEntropy', opts, input: 'prob01', target: 'binary' };
        bad.push(...(await versusOracle(pairs[pname], v, { x, shape: [13], target: t, opts }, `${pname} ${v.name}`)));
      }
    }
    expect(bad, bad.slice(0, 12).join('\n')).toEqual([]);
  });

  it('NaN and ±inf inputs give NaN/±inf where the oracle does (docs/ARCHITECTURE.md, "The plan and the numerics contract": NaN propagates)', async () => {
    const rng = Rng.for(SEED, 'nan');
    const withNaN = (a: Float32Array, k = 3) => {
      for (let j = 0; j < k; j++) a[rng.int(0, a.length)] = NaN;
      return a;
    };
    const shape = [8, 70];
    const n = numel(shape);
    const x = withNaN(logits(rng, shape));
    x[5] = Infinity;
    const t = classTargets(rng, 8, 70, { ignoreIndex: -100, ignoreFrac: 0.3 });
    const y = new Float32Array(ref.logSoftmax(logits(rng, shape), shape).data);
    const cases: [Variant, Materialized][] = [
      [ROW_VARIANTS[0], { x, shape, target: t, opts: { grad: true, reduction: 'none' } }],
      [ROW_VARIANTS[1], { x, shape, target: t, opts: { grad: true, labelSmoothing: 0.1 } }],
      [ROW_VARIANTS[4], { x, shape, target: probTargets(rng, shape), opts: { grad: true, reduction: 'sum' } }],
      [ROW_VARIANTS[8], { x: withNaN(new Float32Array(y)), shape, target: randn(rng, n), opts: {} }],
      [ROW_VARIANTS[7], { x: new Float32Array(ref.softmax(logits(rng, shape), shape).data), shape, target: withNaN(randn(rng, n)), opts: {} }],
      [ELEMENT_VARIANTS[3], { x: withNaN(logits(rng, shape)), shape, target: withNaN(uniform(rng, n)), opts: { grad: true, reduction: 'none' } }],
      [ELEMENT_VARIANTS[6], { x: withNaN(randn(rng, n, 1, -2)), shape, target: withNaN(uniform(rng, n)), opts: { grad: true, reduction: 'none' } }],
      [ELEMENT_VARIANTS[5], { x: randn(rng, n, 1, -2), shape, target: withNaN(randn(rng, n, 1, -2)), opts: { grad: true, logTarget: true, reduction: 'none' } }],
    ];
    const bad: string[] = [];
    for (const [v, m] of cases) bad.push(...(await versusOracle(pairs.swiftshader, v, m, `${v.name} with NaN/inf`)));
    expect(bad, `SEED=${SEED}\n${bad.slice(0, 60).join('\n')}`).toEqual([]);
  });

  it('chunked64k: a row slice larger than the binding is a LossError, not a wrong answer', async () => {
    const x = { data: new Float32Array(2 * 32000), shape: [2, 32000] };
    const err = await pairs.chunked64k.gpu.crossEntropy(x, new Int32Array([1, 2]), { grad: true }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(LossError);
  });
});

// ------------------------------------------------------------------ 3. device tensors, device outputs, inPlace

/** One case per op family, on a shape that takes the subgroup plan and one that takes the thread plan. */
const IO_CASES: [Variant, number[]][] = [
  [ROW_VARIANTS[1], [40, 257]],
  [ROW_VARIANTS[2], [64, 10, 3]],
  [ROW_VARIANTS[4], [8, 300]],
  [ROW_VARIANTS[6], [33, 7]],
  [ROW_VARIANTS[7], [6, 100]],
  [ROW_VARIANTS[8], [6, 100]],
  [ELEMENT_VARIANTS[0], [10, 13]],
  [ELEMENT_VARIANTS[3], [10, 13]],
  [ELEMENT_VARIANTS[4], [16, 16]],
  [ELEMENT_VARIANTS[6], [7, 9]],
  [ROW_VARIANTS[0], [3, 32000]],
];

/** Every operand of a case moved to device tensors (targets int32 where they are class indices). */
function onDevice(m: Materialized, lossShape: number[]): { x: DeviceTensor; target: DeviceTensor; opts: Record<string, unknown>; buffers: GPUBuffer[] } {
  const buffers: GPUBuffer[] = [];
  const up = (d: Float32Array | Int32Array) => {
    const b = upload(d);
    buffers.push(b);
    return b;
  };
  const isIndex = m.target instanceof Int32Array;
  const opts = { ...m.opts };
  if (opts.gradOutput) opts.gradOutput = { buffer: up(opts.gradOutput as Float32Array), shape: lossShape };
  return {
    x: { buffer: up(m.x), shape: m.shape },
    target: isIndex ? { buffer: up(m.target), shape: lossShape, dtype: 'int32' } : { buffer: up(m.target), shape: m.shape },
    opts, buffers,
  };
}

function lossShapeOf(v: Variant, shape: number[]): number[] {
  if (v.op !== 'crossEntropy' && v.op !== 'nllLoss') return shape;
  const cdim = shape.length === 1 ? 0 : 1;
  return shape.filter((_, i) => i !== cdim);
}

describe('device tensors, output device and inPlace', () => {
  it('device-tensor inputs (x, targets, gradOutput, dy) give the host-input results, bit for bit, and match the oracle', async () => {
    const bad: string[] = [];
    for (const [v, shape] of IO_CASES) {
      const m = materialize(Rng.for(SEED, `device ${v.name} ${shape}`), shape, v);
      const d = onDevice(m, lossShapeOf(v, shape));
      const fromHost = await call(main, v.op, host(m), m.target, m.opts);
      const fromDevice = await call(main, v.op, d.x, d.target, d.opts);
      const label = `${v.name} [${shape}]`;
      if (v.op !== 'softmaxBackward' && v.op !== 'logSoftmaxBackward') {
        if (typeof fromHost.loss === 'number' ? !Object.is(fromHost.loss, fromDevice.loss) : !sameValues((fromHost.loss as HostTensor).data, (fromDevice.loss as HostTensor).data)) bad.push(`${label}: loss differs`);
      }
      if (!sameValues((fromHost.grad as HostTensor).data, (fromDevice.grad as HostTensor).data)) bad.push(`${label}: grad differs`);
      // the app's buffers are read, never written
      if (!sameValues(await readBack(d.x.buffer, m.x.length), m.x)) bad.push(`${label}: the input buffer changed`);
      bad.push(...(await versusOracle(pairs.swiftshader, v, m, label)));
      for (const b of d.buffers) b.destroy();
    }
    expect(bad, `SEED=${SEED}\n${bad.join('\n')}`).toEqual([]);
  });

  it("output: 'device' returns caller-owned buffers holding the host results (grad, 'none' losses)", async () => {
    const bad: string[] = [];
    for (const [v, shape] of IO_CASES) {
      const m = materialize(Rng.for(SEED, `output ${v.name} ${shape}`), shape, v);
      const hostRes = await call(main, v.op, host(m), m.target, m.opts);
      for (const deviceInputs of [false, true]) {
        const d = deviceInputs ? onDevice(m, lossShapeOf(v, shape)) : undefined;
        const res = await call(main, v.op, d ? d.x : host(m), d ? d.target : m.target, { ...(d ? d.opts : m.opts), output: 'device' });
        const label = `${v.name} [${shape}]${deviceInputs ? ' device inputs' : ''}`;
        const g = res.grad as DeviceTensor;
        if (!g || !g.buffer || g.dtype !== 'float32') {
          bad.push(`${label}: grad is not a device tensor`);
          continue;
        }
        expect(g.shape).toEqual(shape);
        if (!sameValues((await readTensor(g)).data, (hostRes.grad as HostTensor).data)) bad.push(`${label}: device grad differs from host grad`);
        if (typeof hostRes.loss === 'number') {
          if (!Object.is(res.loss, hostRes.loss)) bad.push(`${label}: loss ${res.loss} != ${hostRes.loss}`);
        } else if (hostRes.loss !== undefined) {
          const l = res.loss as DeviceTensor;
          if (!l?.buffer) bad.push(`${label}: 'none' loss is not a device tensor`);
          else {
            expect(l.shape).toEqual((hostRes.loss as HostTensor).shape);
            if (!sameValues((await readTensor(l)).data, (hostRes.loss as HostTensor).data)) bad.push(`${label}: device loss differs`);
            l.buffer.destroy();
          }
        }
        g.buffer.destroy(); // the caller owns it: destroying must not break later calls
        for (const b of d?.buffers ?? []) b.destroy();
      }
    }
    // the library still works after the caller destroyed the returned buffers
    const m = materialize(Rng.for(SEED, 'after destroy'), [40, 257], ROW_VARIANTS[0]);
    bad.push(...(await versusOracle(pairs.swiftshader, ROW_VARIANTS[0], m, 'after destroying returned buffers')));
    expect(bad, `SEED=${SEED}\n${bad.join('\n')}`).toEqual([]);
  });

  it("output: 'device' for softmax, logSoftmax, sigmoid and entropy 'none'", async () => {
    const shape = [37, 257];
    const x = logits(Rng.for(SEED, 'elementwise outputs'), shape, { negInf: 0.05 });
    const t = { data: x, shape };
    const bad: string[] = [];
    const checks: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
      ['softmax', () => main.softmax(t), () => main.softmax(t, { output: 'device' })],
      ['logSoftmax dim 0', () => main.logSoftmax(t, { dim: 0 }), () => main.logSoftmax(t, { dim: 0, output: 'device' })],
      ['sigmoid', () => main.sigmoid(t), () => main.sigmoid(t, { output: 'device' })],
      ['entropy none', () => main.entropy(t), () => main.entropy(t, { output: 'device' })],
    ];
    for (const [name, h, d] of checks) {
      const a = (await h()) as HostTensor;
      const b = (await d()) as DeviceTensor;
      if (!b?.buffer) {
        bad.push(`${name}: not a device tensor`);
        continue;
      }
      expect(b.shape, name).toEqual(a.shape);
      if (!sameValues((await readTensor(b)).data, a.data)) bad.push(`${name}: device output differs from host output`);
      b.buffer.destroy();
    }
    expect(bad).toEqual([]);
  });

  it('inPlace on a host input: the array is overwritten with the gradient and returned as grad.data; the loss is unchanged', async () => {
    const bad: string[] = [];
    for (const [v, shape] of IO_CASES.filter(([k]) => !k.op.endsWith('Backward'))) {
      for (const pname of ['swiftshader', 'chunked64k'] as const) {
        if (pname === 'chunked64k' && shape[shape.length - 1] === 32000) continue;
        const m = materialize(Rng.for(SEED, `inPlace host ${v.name} ${shape}`), shape, v);
        const g = pairs[pname].gpu;
        const fresh = await call(g, v.op, host(m), m.target, m.opts);
        const input = host(m);
        const res = await call(g, v.op, input, m.target, { ...m.opts, inPlace: true });
        const label = `${v.name} [${shape}] ${pname}`;
        if ((res.grad as HostTensor).data !== input.data) bad.push(`${label}: grad.data is not the input array`);
        if (!sameValues(input.data, (fresh.grad as HostTensor).data)) bad.push(`${label}: the input does not hold the gradient`);
        const l = res.loss;
        if (typeof l === 'number' ? !Object.is(l, fresh.loss) : !sameValues((l as HostTensor).data, (fresh.loss as HostTensor).data)) bad.push(`${label}: loss changed`);
      }
    }
    expect(bad, `SEED=${SEED}\n${bad.join('\n')}`).toEqual([]);
  });

  it('inPlace on a device input: its buffer holds the gradient afterwards (host output and device output)', async () => {
    const bad: string[] = [];
    for (const [v, shape] of IO_CASES.filter(([k]) => !k.op.endsWith('Backward'))) {
      const m = materialize(Rng.for(SEED, `inPlace device ${v.name} ${shape}`), shape, v);
      const fresh = await call(main, v.op, host(m), m.target, m.opts);
      const want = (fresh.grad as HostTensor).data;
      const label = `${v.name} [${shape}]`;
      for (const output of ['host', 'device'] as const) {
        const d = onDevice(m, lossShapeOf(v, shape));
        const res = await call(main, v.op, d.x, d.target, { ...d.opts, inPlace: true, output });
        if (!sameValues(await readBack(d.x.buffer, m.x.length), want)) bad.push(`${label} output ${output}: the input buffer does not hold the gradient`);
        if (output === 'host') {
          if (!sameValues((res.grad as HostTensor).data, want)) bad.push(`${label}: returned grad differs`);
        } else {
          if ((res.grad as DeviceTensor).buffer !== d.x.buffer) bad.push(`${label}: grad.buffer is not the input buffer`);
          if (res.loss !== undefined && typeof res.loss !== 'number') (res.loss as DeviceTensor).buffer.destroy();
        }
        const l = res.loss;
        if (typeof l === 'number' && !Object.is(l, fresh.loss)) bad.push(`${label} output ${output}: loss ${l} != ${fresh.loss}`);
        if (output === 'host' && typeof l !== 'number' && !sameValues((l as HostTensor).data, (fresh.loss as HostTensor).data)) bad.push(`${label}: 'none' loss differs`);
        for (const b of d.buffers) b.destroy();
      }
    }
    expect(bad, `SEED=${SEED}\n${bad.join('\n')}`).toEqual([]);
  });

  it("inPlace on a host input with output: 'device' rejects (a host input's gradient lands in its own array)", async () => {
    for (const v of [ROW_VARIANTS[0], ELEMENT_VARIANTS[3]]) {
      const m = materialize(Rng.for(SEED, `inPlace host device ${v.name}`), [64, 100], v);
      const err = await call(pairs.swiftshader.gpu, v.op, host(m), m.target, { ...m.opts, inPlace: true, output: 'device' }).then(() => null, (e: unknown) => e);
      expect(err, v.name).toBeInstanceOf(LossError);
      expect((err as Error).message).toMatch(/inPlace with output 'device' needs a device input/);
    }
  });
});

it('GRAD_OPS are all exercised by the GPU variants', () => {
  const ops = new Set([...ROW_VARIANTS, ...ELEMENT_VARIANTS].map((v) => v.op));
  for (const op of GRAD_OPS) expect(ops.has(op), op).toBe(true);
});
