/**
 * Gradients (issue 5) on the CPU backend:
 * 1. the PyTorch autograd fixtures (test/fixtures/torch-grad, scripts/torch-grad-fixtures.py), on the
 *    CPU's own plans and on the plans of two WebGPU adapter profiles, at docs/ARCHITECTURE.md, "The plan and the numerics contract"'s tolerance
 *    (2e-5·max(1, |e|) for losses and gradients; NaN/±inf exactly);
 * 2. the float64 gradient reference (test/grad-reference.ts) against torch (1e-9) and against central
 *    finite differences of the forward reference (test/reference.ts) on small random cases;
 * 3. the CPU against that reference on fresh random inputs: the seed is SEED or the clock, and every
 *    failure prints it (rerun with `SEED=<n> npx vitest run test/cpu/grad.test.ts`);
 * 4. the API around `grad`: result shapes, `inPlace` on a host input, option errors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createLosses, LossError } from '../../src/index.js';
import type { AdapterProfile, HostTensor, Losses } from '../../src/index.js';
import { compare } from '../fixtures.js';
import type { ToleranceKind } from '../fixtures.js';
import { GRAD_OPS, copyInput, expectGradCase, gradFixtureCases, runGradCase } from '../grad-fixtures.js';
import type { GradCase, GradOp } from '../grad-fixtures.js';
import * as gref from '../grad-reference.js';
import type { GradRef } from '../grad-reference.js';
import * as ref from '../reference.js';
import { baseSeed, classTargets, logits, numel, probTargets, randn, Rng, uniform, weights } from '../rng.js';

const cases = gradFixtureCases();
const SEED = baseSeed();

/** Adapter profiles whose plans the CPU runs too: SwiftShader's, and a real GPU's without subgroups. */
const PROFILES: Record<string, AdapterProfile> = {
  'emulated, subgroups of 4': { emulated: true, subgroupSize: 4, maxGroupsPerDim: 65535, maxBindingBytes: 1 << 30 },
  'GPU, no subgroups': { emulated: false, subgroupSize: 0, maxGroupsPerDim: 65535, maxBindingBytes: 1 << 30 },
};

let cpu: Losses;
const planned: Record<string, Losses> = {};
beforeAll(async () => {
  cpu = await createLosses({ backend: 'cpu' });
  expect(cpu.backend).toBe('cpu');
  for (const [name, profile] of Object.entries(PROFILES)) planned[name] = await createLosses({ backend: 'cpu', profile });
});

// ------------------------------------------------------------------ 1. torch fixtures

it(`grad fixtures cover every op, reductions, gradOutput and the corner cases (${cases.length} cases)`, () => {
  for (const op of GRAD_OPS) expect(cases.filter((c) => c.op === op).length, op).toBeGreaterThan(5);
  const has = (re: RegExp, op?: GradOp) => cases.some((c) => (!op || c.op === op) && re.test(c.name));
  for (const op of ['crossEntropy', 'nllLoss', 'binaryCrossEntropy', 'binaryCrossEntropyWithLogits', 'klDiv'] as const) {
    expect(has(/ none gradOutput$/, op), `${op} gradOutput`).toBe(true);
    expect(has(/ none gradOutput=ones$/, op), `${op} default gradOutput`).toBe(true);
    expect(has(/ sum/, op) && has(/mean\(default\)/, op), op).toBe(true);
  }
  expect(has(/batchmean/, 'klDiv')).toBe(true);
  expect(has(/^all ignored .*mean/, 'crossEntropy') && has(/^all ignored .*mean/, 'nllLoss')).toBe(true);
  expect(has(/NCd1d2/, 'crossEntropy') && has(/NCd1/, 'nllLoss')).toBe(true);
  expect(has(/inputs 0 and 1/, 'binaryCrossEntropy')).toBe(true);
  expect(has(/extreme logits/, 'crossEntropy') && has(/extreme logits/, 'binaryCrossEntropyWithLogits')).toBe(true);
  expect(has(/-inf/, 'crossEntropy') && has(/-inf/, 'klDiv') && has(/-inf/, 'binaryCrossEntropyWithLogits')).toBe(true);
  // torch: 'mean' over all-ignored targets is a NaN loss with an all-zero gradient
  for (const c of cases.filter((k) => /^all ignored .*mean/.test(k.name))) {
    expect(Number.isNaN(c.loss as number), c.id).toBe(true);
    expect(Array.from(c.grad.data).every((v) => v === 0), c.id).toBe(true);
  }
});

describe('torch autograd fixtures on the CPU backend', () => {
  for (const op of GRAD_OPS) {
    describe(op, () => {
      for (const c of cases.filter((k) => k.op === op)) {
        it(c.name, async () => expectGradCase(c, await runGradCase(cpu, c)));
      }
    });
  }
});

describe('torch autograd fixtures on the CPU backend running WebGPU plans', () => {
  for (const name of Object.keys(PROFILES)) {
    it(name, async () => {
      const bad: string[] = [];
      for (const c of cases) {
        try {
          expectGradCase(c, await runGradCase(planned[name], c));
        } catch (e) {
          bad.push((e as Error).message);
        }
      }
      expect(bad, bad.slice(0, 10).join('\n\n')).toEqual([]);
    });
  }
});

// ------------------------------------------------------------------ 2. the reference itself

/** The float64 reference on a case, in the reference's own option names. */
function reference(op: GradOp, x: ArrayLike<number>, shape: readonly number[], target: Int32Array | Float32Array, o: Record<string, unknown>): GradRef {
  const arr = (v: unknown) => (v === undefined ? undefined : v instanceof Float32Array ? v : (v as HostTensor).data);
  const opts = { ...o, weight: arr(o.weight), posWeight: arr(o.posWeight), gradOutput: arr(o.gradOutput) } as never;
  switch (op) {
    case 'crossEntropy': return gref.crossEntropyGrad(x, shape, target, opts);
    case 'nllLoss': return gref.nllLossGrad(x, shape, target, opts);
    case 'binaryCrossEntropy': return gref.binaryCrossEntropyGrad(x, shape, target, opts);
    case 'binaryCrossEntropyWithLogits': return gref.binaryCrossEntropyWithLogitsGrad(x, shape, target, opts);
    case 'klDiv': return gref.klDivGrad(x, shape, target, opts);
    case 'softmaxBackward': return { loss: NaN, grad: gref.softmaxBackward(x, shape, target, opts) };
    case 'logSoftmaxBackward': return { loss: NaN, grad: gref.logSoftmaxBackward(x, shape, target, opts) };
  }
}

function targetData(c: GradCase): Int32Array | Float32Array {
  return c.target instanceof Int32Array || c.target instanceof Float32Array ? c.target : c.target.data;
}

describe('the float64 gradient reference', () => {
  it('matches torch on every fixture (1e-9 relative; NaN/±inf exactly)', () => {
    const bad: string[] = [];
    for (const c of cases) {
      const r = reference(c.op, c.input.data, c.input.shape, targetData(c), c.options);
      const why = [
        c.loss !== undefined && c.loss !== null ? compare(r.loss, c.loss, 'float64') : null,
        compare(r.grad, c.grad, 'float64'),
      ].filter((w) => w !== null);
      if (why.length) bad.push(`${c.id}: ${why.join('; ')}`);
    }
    expect(bad, bad.slice(0, 10).join('\n')).toEqual([]);
  });

  it('matches central finite differences of test/reference.ts on small random cases', () => {
    const rng = Rng.for(SEED, 'finite differences');
    const bad: string[] = [];
    let n = 0;
    for (const op of GRAD_OPS) {
      for (let k = 0; k < 30; k++) {
        const rc = randomCase(rng, op, true);
        const r = reference(op, rc.x, rc.shape, rc.target, rc.opts);
        const go = rc.opts.gradOutput as Float32Array | undefined;
        let f: (x: Float64Array) => number;
        let at: ArrayLike<number> = rc.x;
        let grad = r.grad.data;
        if (op === 'softmaxBackward' || op === 'logSoftmaxBackward') {
          // d/dx Σ dy·softmax(x) is softmaxBackward(softmax(x), dy): take y from the float64 forward op
          const fwd = op === 'softmaxBackward' ? ref.softmax : ref.logSoftmax;
          const dim = rc.opts.dim as number | undefined;
          at = rc.logits!;
          const y = fwd(at, rc.shape, { dim }).data;
          grad = (op === 'softmaxBackward' ? gref.softmaxBackward : gref.logSoftmaxBackward)(y, rc.shape, rc.target, { dim }).data;
          f = (x) => { const v = fwd(x, rc.shape, { dim }).data; let s = 0; for (let i = 0; i < v.length; i++) s += rc.target[i] * v[i]; return s; };
        } else {
          f = (x) => gref.scalarOf(reference(op, x, rc.shape, rc.target, { ...rc.opts, gradOutput: undefined }).loss, go);
        }
        // the backward ops' scalar sums every element of x (roundoff ~1e-16·Σ|terms|/h): a larger step
        const fd = gref.centralDifferences(f, at, op.endsWith('Backward') ? 1e-4 : 1e-6);
        for (let i = 0; i < fd.length; i++) {
          if (!(Math.abs(fd[i] - grad[i]) <= 1e-6 * Math.max(1, Math.abs(grad[i])))) {
            bad.push(`${rc.name} [${i}]: analytic ${grad[i]}, finite difference ${fd[i]}`);
            break;
          }
        }
        n++;
      }
    }
    expect(n).toBe(30 * GRAD_OPS.length);
    expect(bad, `SEED=${SEED}\n${bad.slice(0, 10).join('\n')}`).toEqual([]);
  });
});

// ------------------------------------------------------------------ random cases

interface RandomCase {
  name: string;
  op: GradOp;
  x: Float32Array;
  shape: number[];
  target: Int32Array | Float32Array;
  /** Library options (grad: true except for the backward ops). */
  opts: Record<string, unknown>;
  /** The logits behind y of a backward op (finite-difference mode). */
  logits?: Float32Array;
}

const CLASS_SHAPES = [[7], [5, 6], [3, 9, 4], [2, 5, 3, 2], [4, 80], [2, 300], [16, 3], [1, 1], [3, 1, 2]];
const ELEM_SHAPES = [[9], [4, 5], [2, 3, 4], [2, 3, 2, 3], [3, 65], [1]];

/** A case with fresh random inputs and options. `smooth`: finite, well-conditioned values only (finite differences). */
function randomCase(rng: Rng, op: GradOp, smooth: boolean): RandomCase {
  const shape = [...rng.pick(op === 'crossEntropy' || op === 'nllLoss' || op.endsWith('Backward') ? CLASS_SHAPES : ELEM_SHAPES)];
  const n = numel(shape);
  const cdim = shape.length === 1 ? 0 : 1;
  const C = shape[cdim];
  const lossShape = shape.filter((_, i) => i !== cdim);
  const reduction = rng.pick(op === 'klDiv' ? ['mean', 'sum', 'none', 'batchmean'] : ['mean', 'sum', 'none']);
  const opts: Record<string, unknown> = { grad: true };
  if (rng.bool(0.8)) opts.reduction = reduction;
  const red = (opts.reduction as string | undefined) ?? 'mean';
  const withUpstream = (m: number) => {
    if (red === 'none' && rng.bool(0.75)) opts.gradOutput = randn(rng, m, 1.5);
  };
  // -inf logits never fill a whole row (C = 1): torch's gradient of such a row is NaN even when its target is
  // ignored (a fixture covers that); NLL takes no extreme logits (its signed ±3e4 losses cancel in the sum).
  const wilds = C === 1 ? [{}] : op === 'nllLoss' ? [{}, { negInf: 0.15 }] : [{}, {}, { negInf: 0.15 }, { extreme: 0.3 }];
  const wild = smooth ? {} : rng.pick(wilds);
  let x: Float32Array;
  let target: Int32Array | Float32Array;
  let extra: Partial<RandomCase> = {};
  switch (op) {
    case 'crossEntropy':
    case 'nllLoss': {
      x = op === 'nllLoss' && smooth ? randn(rng, n, 2) : logits(rng, shape, wild);
      if (rng.bool(0.5)) opts.weight = weights(rng, C);
      const prob = op === 'crossEntropy' && rng.bool(0.35);
      if (op === 'crossEntropy' && rng.bool(0.5)) opts.labelSmoothing = rng.pick([0.05, 0.1, 0.3, 1, Math.fround(rng.uniform(0, 1))]);
      if (prob) {
        target = probTargets(rng, shape);
      } else {
        const ignore = rng.pick([undefined, -100, -1, ...(C > 1 ? [Math.min(2, C - 1)] : [])]);
        if (ignore !== undefined && ignore !== -100) opts.ignoreIndex = ignore;
        target = classTargets(rng, numel(lossShape), C, { ignoreIndex: ignore ?? -100, ignoreFrac: ignore === undefined ? 0 : 0.3 });
        // finite differences need a finite loss: keep one target (a 'mean' over no targets is NaN)
        if (smooth && target.every((v) => v === (ignore ?? -100))) target[0] = 0;
      }
      withUpstream(numel(lossShape));
      break;
    }
    case 'binaryCrossEntropy':
      x = smooth ? uniform(rng, n, 0.05, 0.95) : uniform(rng, n, 0, 1).map((v) => (rng.bool(0.1) ? rng.pick([0, 1]) : v));
      target = rng.bool(0.5) ? uniform(rng, n) : uniform(rng, n).map((v) => (v < 0.5 ? 0 : 1));
      if (rng.bool(0.5)) opts.weight = weights(rng, rng.pick([1, shape[shape.length - 1], n]));
      withUpstream(n);
      break;
    case 'binaryCrossEntropyWithLogits':
      x = logits(rng, shape, smooth ? {} : rng.pick([{}, { extreme: 0.3 }]));
      target = uniform(rng, n);
      if (rng.bool(0.5)) opts.weight = weights(rng, rng.pick([1, shape[shape.length - 1], n]));
      if (rng.bool(0.5)) opts.posWeight = weights(rng, rng.pick([1, shape[shape.length - 1]]), 0.2, 4);
      withUpstream(n);
      break;
    case 'klDiv':
      x = randn(rng, n, 2, -1);
      if (rng.bool(0.5)) {
        opts.logTarget = true;
        target = randn(rng, n, 1.5, -1);
      } else {
        target = uniform(rng, n, 0, 2).map((v) => (!smooth && rng.bool(0.2) ? rng.pick([0, -0.5]) : v));
        if (rng.bool(0.3)) opts.logTarget = false;
      }
      withUpstream(n);
      break;
    case 'softmaxBackward':
    case 'logSoftmaxBackward': {
      delete opts.grad;
      delete opts.reduction;
      const dim = rng.int(-Math.max(1, shape.length), Math.max(1, shape.length));
      if (rng.bool(0.8)) opts.dim = dim;
      const z = logits(rng, shape, smooth ? {} : rng.pick([{}, { negInf: 0.1 }]));
      const y = (op === 'softmaxBackward' ? ref.softmax : ref.logSoftmax)(z, shape, { dim: opts.dim as number | undefined }).data;
      x = new Float32Array(y);
      target = randn(rng, n, 1.5);
      extra = { logits: z };
      break;
    }
  }
  const desc = Object.entries(opts).filter(([k]) => k !== 'grad').map(([k, v]) => (ArrayBuffer.isView(v) ? `${k}[${(v as Float32Array).length}]` : `${k}=${String(v)}`));
  const kind = target instanceof Int32Array ? 'index' : op === 'crossEntropy' ? 'prob' : '';
  return { name: `${op} [${shape}] ${kind} ${desc.join(' ')}${Object.keys(wild).length ? ` ${JSON.stringify(wild)}` : ''}`, op, x, shape, target, opts, ...extra };
}

async function callLibrary(losses: Losses, rc: RandomCase, input: HostTensor = { data: new Float32Array(rc.x), shape: rc.shape }): Promise<{ loss?: unknown; grad: unknown }> {
  const o = rc.opts as never;
  const t = rc.target as never;
  switch (rc.op) {
    case 'softmaxBackward': return { grad: await losses.softmaxBackward(input, t, o) };
    case 'logSoftmaxBackward': return { grad: await losses.logSoftmaxBackward(input, t, o) };
    case 'crossEntropy': return (await losses.crossEntropy(input, t, o)) as { loss: unknown; grad: unknown };
    case 'nllLoss': return (await losses.nllLoss(input, t, o)) as { loss: unknown; grad: unknown };
    case 'binaryCrossEntropy': return (await losses.binaryCrossEntropy(input, t, o)) as { loss: unknown; grad: unknown };
    case 'binaryCrossEntropyWithLogits': return (await losses.binaryCrossEntropyWithLogits(input, t, o)) as { loss: unknown; grad: unknown };
    case 'klDiv': return (await losses.klDiv(input, t, o)) as { loss: unknown; grad: unknown };
  }
}

// ------------------------------------------------------------------ 3. CPU vs the reference

describe(`CPU vs the float64 gradient reference on fresh random inputs (SEED=${SEED})`, () => {
  const TRIALS = 60;
  for (const op of GRAD_OPS) {
    it(`${op}: ${TRIALS} random cases on the CPU plans and both WebGPU profiles' plans`, async () => {
      const rng = Rng.for(SEED, `cpu vs reference ${op}`);
      const bad: string[] = [];
      for (let k = 0; k < TRIALS; k++) {
        const rc = randomCase(rng, op, false);
        const r = reference(op, rc.x, rc.shape, rc.target, rc.opts);
        const backends: [string, Losses][] = [['cpu', cpu], ...Object.entries(planned)];
        for (const [bname, losses] of backends) {
          const got = await callLibrary(losses, rc);
          const kind: ToleranceKind = 'loss';
          const why = [
            op.endsWith('Backward') ? null : compare(got.loss, r.loss, kind),
            compare(got.grad, r.grad, kind),
          ].filter((w) => w !== null);
          if (why.length) bad.push(`${rc.name} on ${bname}: ${why.join('; ')}`);
        }
      }
      expect(bad, `SEED=${SEED} (rerun: SEED=${SEED} npx vitest run test/cpu/grad.test.ts)\n${bad.slice(0, 8).join('\n')}`).toEqual([]);
    });
  }
});

// ------------------------------------------------------------------ 4. the API around grad

describe('grad, gradOutput and inPlace on the CPU backend', () => {
  const x = { data: new Float32Array([0.5, -1, 2, 0.25, 3, -2, 1, 1, -0.5, 0, 0.75, -3]), shape: [4, 3] };
  const t = new Int32Array([2, 0, -100, 1]);

  it('grad: true resolves to { loss, grad } with the input shape; without it to the plain loss', async () => {
    const plain = await cpu.crossEntropy(x, t);
    const r = await cpu.crossEntropy(x, t, { grad: true });
    expect(r.loss).toBe(plain);
    expect(r.grad.shape).toEqual([4, 3]);
    expect(r.grad.data).toBeInstanceOf(Float32Array);
    expect(r.grad.data).not.toBe(x.data);
    const none = await cpu.crossEntropy(x, t, { grad: true, reduction: 'none' });
    expect(none.loss.shape).toEqual([4]);
    expect(Array.from(none.loss.data)).toEqual(Array.from((await cpu.crossEntropy(x, t, { reduction: 'none' })).data));
    const k = await cpu.klDiv(x, new Float32Array(12).fill(0.25), { grad: true, reduction: 'batchmean' });
    expect(typeof k.loss).toBe('number');
    expect(k.grad.shape).toEqual([4, 3]);
  });

  it('gradOutput scales each row; the default equals all ones; a tensor or a bare array both work', async () => {
    const ones = await cpu.crossEntropy(x, t, { grad: true, reduction: 'none' });
    const explicit = await cpu.crossEntropy(x, t, { grad: true, reduction: 'none', gradOutput: new Float32Array(4).fill(1) });
    expect(Array.from(explicit.grad.data)).toEqual(Array.from(ones.grad.data));
    const go = new Float32Array([2, -1, 5, 0.5]);
    const scaled = await cpu.crossEntropy(x, t, { grad: true, reduction: 'none', gradOutput: { data: go, shape: [4] } });
    for (let i = 0; i < 12; i++) expect(scaled.grad.data[i]).toBeCloseTo(go[Math.floor(i / 3)] * ones.grad.data[i], 6);
  });

  it('inPlace overwrites the host input with the gradient and returns that array; the loss is unaffected', async () => {
    const ops: [string, (inp: HostTensor, o: Record<string, unknown>) => Promise<{ loss: unknown; grad: HostTensor }>][] = [
      ['crossEntropy', (inp, o) => cpu.crossEntropy(inp, t, o as never) as never],
      ['crossEntropy prob', (inp, o) => cpu.crossEntropy(inp, new Float32Array(12).fill(1 / 3), o as never) as never],
      ['nllLoss', (inp, o) => cpu.nllLoss(inp, t, o as never) as never],
      ['binaryCrossEntropyWithLogits', (inp, o) => cpu.binaryCrossEntropyWithLogits(inp, new Float32Array(12).fill(0.3), o as never) as never],
      ['klDiv', (inp, o) => cpu.klDiv(inp, new Float32Array(12).fill(0.2), o as never) as never],
    ];
    for (const [name, run] of ops) {
      for (const reduction of ['mean', 'none'] as const) {
        const fresh = await run({ data: new Float32Array(x.data), shape: [4, 3] }, { grad: true, reduction });
        const input = { data: new Float32Array(x.data), shape: [4, 3] };
        const r = await run(input, { grad: true, reduction, inPlace: true });
        expect(r.grad.data, name).toBe(input.data);
        expect(Array.from(input.data), name).toEqual(Array.from(fresh.grad.data));
        expect(r.loss, name).toEqual(fresh.loss);
      }
    }
    const p = { data: new Float32Array([0, 0.25, 1, 0.5]), shape: [4] };
    const bt = new Float32Array([0, 1, 1, 0.5]);
    const fresh = await cpu.binaryCrossEntropy({ data: new Float32Array(p.data), shape: [4] }, bt, { grad: true });
    const r = await cpu.binaryCrossEntropy(p, bt, { grad: true, inPlace: true });
    expect(r.grad.data).toBe(p.data);
    expect(Array.from(p.data)).toEqual(Array.from(fresh.grad.data));
    expect(r.loss).toBe(fresh.loss);
  });

  it('inPlace on a fixture input gives the fixture gradient', async () => {
    for (const c of cases.filter((k) => !k.op.endsWith('Backward')).slice(0, 60)) {
      const input = copyInput(c);
      const r = await runGradCase(cpu, c, { inPlace: true }, input);
      expect((r.grad as HostTensor).data).toBe(input.data);
      expectGradCase(c, r, `${c.id} (inPlace)`);
    }
  });

  it('rejects gradOutput without reduction none, gradOutput/inPlace without grad, bad gradOutput lengths, output device on the CPU', async () => {
    const rejects = async (p: Promise<unknown>, re: RegExp) => {
      const err = await p.then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(LossError);
      expect((err as Error).message).toMatch(re);
    };
    await rejects(cpu.crossEntropy(x, t, { grad: true, gradOutput: new Float32Array(4) }), /^crossEntropy: gradOutput/);
    await rejects(cpu.klDiv(x, new Float32Array(12), { grad: true, reduction: 'sum', gradOutput: new Float32Array(12) }), /^klDiv: gradOutput/);
    await rejects(cpu.crossEntropy(x, t, { reduction: 'none', gradOutput: new Float32Array(4) }), /^crossEntropy: .*grad: true/);
    await rejects(cpu.nllLoss(x, t, { inPlace: true }), /^nllLoss: .*grad: true/);
    await rejects(cpu.crossEntropy(x, t, { grad: true, reduction: 'none', gradOutput: new Float32Array(3) }), /^crossEntropy: gradOutput has 3 elements/);
    await rejects(cpu.binaryCrossEntropyWithLogits(x, new Float32Array(12), { grad: true, reduction: 'none', gradOutput: new Float32Array(4) }), /gradOutput/);
    await rejects(cpu.crossEntropy(x, t, { grad: 1 as never }), /^crossEntropy: grad = 1/);
    await rejects(cpu.crossEntropy(x, t, { grad: true, output: 'device' }), /^crossEntropy: output 'device' needs the webgpu backend/);
  });

  it('an empty batch: the CPU answer (NaN mean loss, empty gradient)', async () => {
    const r = await cpu.crossEntropy({ data: new Float32Array(0), shape: [0, 3] }, new Int32Array(0), { grad: true });
    expect(Number.isNaN(r.loss)).toBe(true);
    expect(r.grad.shape).toEqual([0, 3]);
    expect(r.grad.data.length).toBe(0);
  });
});
