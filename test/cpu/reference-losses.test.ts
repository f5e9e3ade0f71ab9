/**
 * The float64 references of issue 10's losses (test/reference-losses.ts, test/grad-reference-losses.ts),
 * held to real PyTorch and to themselves. The library (src/) is not called: it does not have these
 * losses yet; its own tests can run the same fixtures through `extFixtureCases()`.
 * (a) every case of test/fixtures/torch-losses (scripts/torch-fixtures-losses.py, torch 1.13): the
 *     reference's loss and gradient within 1e-9 relative (NaN/±inf exactly);
 * (b) the analytic gradients against central finite differences of the float64 losses on small random
 *     cases (a fresh seed each run, printed on failure; rerun with SEED=<n>);
 * (c) the reductions to what exists: focalGamma 0, zLoss 0 and softcap 1e30 give test/reference.ts's
 *     crossEntropy (and test/grad-reference.ts's gradient); sigmoidFocalLoss with gamma 0 and alpha < 0 is
 *     BCE with logits; a broadcast weight equals its expansion.
 */
import { describe, expect, it } from 'vitest';
import { compare } from '../fixtures.js';
import * as gref from '../grad-reference.js';
import * as gext from '../grad-reference-losses.js';
import type { GradRef } from '../grad-reference-losses.js';
import * as ref from '../reference.js';
import * as ext from '../reference-losses.js';
import type { ExtOp } from '../reference-losses.js';
import { baseSeed, classTargets, numel, probTargets, randn, Rng, uniform, weights } from '../rng.js';

const cases = ext.extFixtureCases();
const SEED = baseSeed();

const has = (re: RegExp, op?: ExtOp) => cases.some((c) => (!op || c.op === op) && re.test(c.name));
const count = (re: RegExp, op?: ExtOp) => cases.filter((c) => (!op || c.op === op) && re.test(c.name)).length;

// ------------------------------------------------------------------ (a) the references against torch

describe(`torch 1.13 fixtures of issue 10 (${cases.length} cases)`, () => {
  it('cover every feature, combination, reduction and gradOutput the issue names', () => {
    expect(new Set(cases.map((c) => c.file))).toEqual(new Set(ext.EXT_FILES));
    for (const op of ext.EXT_OPS) {
      expect(count(/./, op), op).toBeGreaterThan(20);
      expect(has(/ none gradOutput$/, op) && has(/ none gradOutput=ones$/, op), `${op} gradOutput`).toBe(true);
      expect(has(/ sum( |$)/, op) && has(/mean\(default\)/, op), `${op} reductions`).toBe(true);
    }
    const ce = 'crossEntropy';
    for (const re of [/^index NC zLoss=[^ ]+ (none|sum|mean)/, /zLoss.* weight/, /zLoss.* ignored/, /zLoss.*labelSmoothing/,
      /^index NC softcap=3 (none|sum|mean)/, /softcap.*zLoss/, /\|x\| <= 200 softcap=30/, /weight ignored\(-100\)/,
      /focalGamma=0 weight ignored/, /focalGamma=0.5 weight ignored/, /focalGamma=2 weight ignored/, /focalGamma=5 weight ignored/,
      /focalGamma=2 softcap/, /focalGamma.*zLoss/, /^index NCd1 /, /^prob .*zLoss/, /^prob .*softcap/, /^vocab \(4,32000\)/,
      /^rows \(4096,10\)/, /ignoreIndex=2/, /ignoreIndex=-1/]) {
      expect(has(re, ce), String(re)).toBe(true);
    }
    expect(cases.some((c) => c.op === ce && c.input.shape.join() === '4,32000')).toBe(true);
    expect(cases.some((c) => c.op === ce && c.input.shape.join() === '4096,10')).toBe(true);
    expect(cases.some((c) => c.op === ce && Array.from(c.input.data).some((v) => Math.abs(v) > 150) && c.options.softcap === 30)).toBe(true);
    const sf = 'sigmoidFocalLoss';
    for (const re of [/defaults/, /alpha=-1/, /gamma=0 /, /gamma=2 /, /gamma=5 /, /extreme logits \+-50/]) expect(has(re, sf), String(re)).toBe(true);
    expect(cases.some((c) => c.op === sf && !('alpha' in c.options) && !('gamma' in c.options) && !('reduction' in c.options))).toBe(true);
    for (const op of ['binaryCrossEntropy', 'binaryCrossEntropyWithLogits'] as const) {
      for (const ws of ['[4, 1]', '[1, 4, 1]', '[3, 1, 5]', '[]']) expect(has(new RegExp(`weight\\${ws.slice(0, -1)}\\]`), op), `${op} ${ws}`).toBe(true);
    }
    expect(has(/posWeight/, 'binaryCrossEntropyWithLogits')).toBe(true);
    // a BCE weight is always a {data, shape} tensor here; crossEntropy's a bare per-class array
    for (const c of cases) {
      if (c.op.startsWith('binary')) expect((c.options.weight as ext.ExtTensor<Float32Array>).shape, c.id).toBeInstanceOf(Array);
      else if (c.options.weight !== undefined) expect(c.options.weight, c.id).toBeInstanceOf(Float32Array);
    }
  });

  for (const file of ext.EXT_FILES) {
    it(`${file}: the float64 references match torch's loss and gradient (1e-9 relative)`, () => {
      const bad: string[] = [];
      let n = 0;
      for (const c of cases.filter((k) => k.file === file)) {
        const r = gext.extCaseReference(c);
        const why = [compare(r.loss, c.loss, 'float64'), compare(r.grad, c.grad, 'float64')];
        if (why[0]) bad.push(`${c.id}: loss: ${why[0]}`);
        if (why[1]) bad.push(`${c.id}: grad: ${why[1]}`);
        n++;
      }
      expect(n).toBeGreaterThan(0);
      expect(bad, bad.slice(0, 10).join('\n')).toEqual([]);
    });
  }
});

// ------------------------------------------------------------------ random cases

type Kind = 'ce' | 'sfl' | 'bce' | 'bcel';

interface RandomCase {
  name: string;
  kind: Kind;
  x: Float32Array;
  shape: number[];
  target: Int32Array | Float32Array;
  opts: Record<string, unknown>;
}

const CE_SHAPES = [[6], [4, 5], [3, 6, 2], [2, 3, 2, 2], [2, 40], [5, 2]];
const EL_SHAPES = [[7], [4, 5], [3, 4, 2], [2, 3, 2, 2]];

/** A random weight shape that broadcasts to `shape`: a suffix of it with some dims set to 1. */
function randomWeightShape(rng: Rng, shape: readonly number[]): number[] {
  const m = rng.int(0, shape.length + 1);
  return shape.slice(shape.length - m).map((d) => (rng.bool(0.5) ? 1 : d));
}

/** A random case of one of the four losses; finite, well-conditioned values (finite differences). */
function randomCase(rng: Rng, kind: Kind): RandomCase {
  const opts: Record<string, unknown> = {};
  const reduction = rng.pick(['mean', 'sum', 'none'] as const);
  if (rng.bool(0.85)) opts.reduction = reduction;
  const red = (opts.reduction as string | undefined) ?? 'mean';
  const up = (m: number) => {
    if (red === 'none' && rng.bool(0.75)) opts.gradOutput = randn(rng, m, 1.5);
  };
  let shape: number[];
  let x: Float32Array;
  let target: Int32Array | Float32Array;
  if (kind === 'ce') {
    shape = [...rng.pick(CE_SHAPES)];
    const cdim = shape.length === 1 ? 0 : 1;
    const C = shape[cdim];
    const rows = numel(shape) / C;
    x = randn(rng, numel(shape), 2.5);
    if (rng.bool(0.5)) opts.weight = weights(rng, C);
    if (rng.bool(0.6)) opts.zLoss = rng.pick([0, 0.01, 0.1, 0.5, Math.fround(rng.uniform(0, 1))]);
    if (rng.bool(0.5)) opts.softcap = rng.pick([0.5, 1, 3, 30, Math.fround(rng.uniform(0.5, 10))]);
    const focal = rng.bool(0.4);
    if (!focal && rng.bool(0.6)) {
      target = probTargets(rng, shape);
      if (rng.bool(0.5)) opts.labelSmoothing = rng.pick([0.1, 0.3, 1]);
    } else {
      if (focal) opts.focalGamma = rng.pick([0, 0.5, 1, 2, 5, Math.fround(rng.uniform(0, 4))]);
      else if (rng.bool(0.5)) opts.labelSmoothing = rng.pick([0.05, 0.2, 1]);
      const ignore = rng.pick([undefined, -100, -1, Math.min(2, C - 1)]);
      if (ignore !== undefined && ignore !== -100) opts.ignoreIndex = ignore;
      target = classTargets(rng, rows, C, { ignoreIndex: ignore ?? -100, ignoreFrac: ignore === undefined ? 0 : 0.3 });
      // a 'mean' over no targets is NaN: keep one (class 0 unless that is the ignore index)
      if (target.every((v) => v === (ignore ?? -100))) target[0] = ignore === 0 ? 1 : 0;
    }
    up(rows);
  } else {
    shape = [...rng.pick(EL_SHAPES)];
    const n = numel(shape);
    const wshape = randomWeightShape(rng, shape);
    if (kind !== 'sfl' && rng.bool(0.8)) {
      opts.weight = rng.bool(0.8) ? { data: weights(rng, numel(wshape)), shape: wshape } : weights(rng, rng.pick([1, shape[shape.length - 1], n]));
    }
    target = rng.bool(0.5) ? uniform(rng, n) : uniform(rng, n).map((v) => (v < 0.5 ? 0 : 1));
    if (kind === 'bce') {
      x = uniform(rng, n, 0.05, 0.95);
    } else {
      x = randn(rng, n, kind === 'sfl' ? 2 : 3);
      if (kind === 'bcel' && rng.bool(0.5)) opts.posWeight = weights(rng, rng.pick([1, shape[shape.length - 1]]), 0.2, 4);
      if (kind === 'sfl') {
        if (rng.bool(0.7)) opts.alpha = rng.pick([0.25, 0.5, 0, 1, -1, Math.fround(rng.uniform(0, 1))]);
        if (rng.bool(0.7)) opts.gamma = rng.pick([0, 1, 1.5, 2, 5, Math.fround(rng.uniform(1, 4))]);
      }
    }
    up(n);
  }
  const desc = Object.entries(opts).map(([k, v]) => (ArrayBuffer.isView(v) ? `${k}[${(v as Float32Array).length}]`
    : typeof v === 'object' ? `${k}[${(v as { shape: number[] }).shape}]` : `${k}=${String(v)}`));
  const tk = target instanceof Int32Array ? 'index' : 'float';
  return { name: `${kind} [${shape}] ${tk} target ${desc.join(' ')}`, kind, x, shape, target, opts };
}

function gradOf(rc: RandomCase, x: ArrayLike<number> = rc.x, opts = rc.opts): GradRef {
  const o = opts as never;
  switch (rc.kind) {
    case 'ce': return gext.crossEntropyExtGrad(x, rc.shape, rc.target, o);
    case 'sfl': return gext.sigmoidFocalLossGrad(x, rc.shape, rc.target, o);
    case 'bce': return gext.binaryCrossEntropyGrad(x, rc.shape, rc.target, o);
    case 'bcel': return gext.binaryCrossEntropyWithLogitsGrad(x, rc.shape, rc.target, o);
  }
}

function lossOf(rc: RandomCase, x: ArrayLike<number>): number | ref.Ref {
  const { gradOutput: _go, ...o } = rc.opts;
  switch (rc.kind) {
    case 'ce': return ext.crossEntropyExt(x, rc.shape, rc.target, o as never);
    case 'sfl': return ext.sigmoidFocalLoss(x, rc.shape, rc.target, o as never);
    case 'bce': return ext.binaryCrossEntropy(x, rc.shape, rc.target, o as never);
    case 'bcel': return ext.binaryCrossEntropyWithLogits(x, rc.shape, rc.target, o as never);
  }
}

// ------------------------------------------------------------------ (b) analytic vs finite differences

describe(`the analytic gradients against central finite differences (SEED=${SEED})`, () => {
  const TRIALS = 60;
  for (const kind of ['ce', 'sfl', 'bce', 'bcel'] as const) {
    it(`${kind}: ${TRIALS} random cases`, () => {
      const rng = Rng.for(SEED, `finite differences ${kind}`);
      const bad: string[] = [];
      for (let k = 0; k < TRIALS; k++) {
        const rc = randomCase(rng, kind);
        const r = gradOf(rc);
        // the loss the gradient was taken with is the forward reference's
        expect(compare(r.loss, lossOf(rc, rc.x), 'float64'), rc.name).toBeNull();
        const go = rc.opts.gradOutput as Float32Array | undefined;
        const fd = gref.centralDifferences((v) => gref.scalarOf(lossOf(rc, v), go), rc.x, 1e-6);
        for (let i = 0; i < fd.length; i++) {
          const a = r.grad.data[i];
          if (!(Math.abs(fd[i] - a) <= 1e-6 * Math.max(1, Math.abs(a)))) {
            bad.push(`${rc.name} [${i}]: analytic ${a}, finite difference ${fd[i]}`);
            break;
          }
        }
      }
      expect(bad, `SEED=${SEED} (rerun: SEED=${SEED} npx vitest run test/cpu/reference-losses.test.ts)\n${bad.slice(0, 10).join('\n')}`).toEqual([]);
    });
  }
});

// ------------------------------------------------------------------ (c) reductions to the existing references

/** Relative 1e-12 (NaN/±inf exactly). */
function near(a: number | ref.Ref, e: number | ref.Ref): string | null {
  const one = (u: number, v: number) => (Number.isNaN(v) ? Number.isNaN(u) : !Number.isFinite(v) ? u === v : Math.abs(u - v) <= 1e-12 * Math.max(1, Math.abs(v)));
  if (typeof e === 'number') return typeof a === 'number' && one(a, e) ? null : `got ${String(a)}, expected ${e}`;
  if (typeof a === 'number') return `got a number, expected a tensor`;
  if (a.shape.join() !== e.shape.join()) return `shape [${a.shape}] != [${e.shape}]`;
  for (let i = 0; i < e.data.length; i++) if (!one(a.data[i], e.data[i])) return `[${i}] got ${a.data[i]}, expected ${e.data[i]}`;
  return null;
}

describe(`the new options at their neutral values reduce to the existing references (SEED=${SEED})`, () => {
  const TRIALS = 80;
  it(`crossEntropy: focalGamma 0, zLoss 0, softcap 1e30 (alone and together) give test/reference.ts's loss and gradient (${TRIALS} random cases)`, () => {
    const rng = Rng.for(SEED, 'neutral crossEntropy');
    const bad: string[] = [];
    for (let k = 0; k < TRIALS; k++) {
      const rc = randomCase(rng, 'ce');
      // the plain options: weight, ignoreIndex, labelSmoothing, reduction, gradOutput
      const { zLoss: _z, softcap: _c, focalGamma: _g, ...plain } = rc.opts;
      // focal needs index targets and no smoothing; test the others on any target
      const focalOk = rc.target instanceof Int32Array && !plain.labelSmoothing;
      const expected = gref.crossEntropyGrad(rc.x, rc.shape, rc.target, plain as never);
      const variants: Record<string, unknown>[] = [{ zLoss: 0 }, { softcap: 1e30 }, { zLoss: 0, softcap: 1e30 }];
      if (focalOk) variants.push({ focalGamma: 0 }, { focalGamma: 0, zLoss: 0, softcap: 1e30 });
      for (const v of variants) {
        const got = gext.crossEntropyExtGrad(rc.x, rc.shape, rc.target, { ...plain, ...v } as never);
        const why = [near(got.loss, expected.loss), near(got.grad, expected.grad)].filter((w) => w !== null);
        if (why.length) bad.push(`${rc.name} with ${JSON.stringify(v)}: ${why.join('; ')}`);
      }
      // and the forward reference of test/reference.ts directly
      const { gradOutput: _go, ...fwd } = plain;
      const why = near(ext.crossEntropyExt(rc.x, rc.shape, rc.target, { ...fwd, zLoss: 0, softcap: 1e30 } as never), ref.crossEntropy(rc.x, rc.shape, rc.target, fwd as never));
      if (why) bad.push(`${rc.name} forward: ${why}`);
    }
    expect(bad, `SEED=${SEED}\n${bad.slice(0, 10).join('\n')}`).toEqual([]);
  });

  it(`sigmoidFocalLoss with gamma 0 and alpha < 0 is BCE with logits; alpha = 0.5 halves it (${TRIALS} random cases)`, () => {
    const rng = Rng.for(SEED, 'neutral sigmoidFocalLoss');
    const bad: string[] = [];
    for (let k = 0; k < TRIALS; k++) {
      const rc = randomCase(rng, 'sfl');
      const base = { reduction: rc.opts.reduction, gradOutput: rc.opts.gradOutput } as never;
      const e = gref.binaryCrossEntropyWithLogitsGrad(rc.x, rc.shape, rc.target, base);
      const g = gext.sigmoidFocalLossGrad(rc.x, rc.shape, rc.target, { ...(base as object), gamma: 0, alpha: -1 });
      const why = [near(g.loss, e.loss), near(g.grad, e.grad)].filter((w) => w !== null);
      if (why.length) bad.push(`${rc.name} alpha=-1 gamma=0: ${why.join('; ')}`);
      const h = gext.sigmoidFocalLossGrad(rc.x, rc.shape, rc.target, { ...(base as object), gamma: 0, alpha: 0.5 });
      const half = (v: number | ref.Ref): number | ref.Ref => (typeof v === 'number' ? v / 2 : { data: v.data.map((u) => u / 2), shape: v.shape });
      const why2 = [near(h.loss, half(e.loss)), near(h.grad, half(e.grad) as ref.Ref)].filter((w) => w !== null);
      if (why2.length) bad.push(`${rc.name} alpha=0.5 gamma=0: ${why2.join('; ')}`);
    }
    expect(bad, `SEED=${SEED}\n${bad.slice(0, 10).join('\n')}`).toEqual([]);
  });

  it(`BCE and BCE with logits: a broadcast weight equals its expansion to the input's shape (${TRIALS} random cases)`, () => {
    const rng = Rng.for(SEED, 'neutral bce');
    const bad: string[] = [];
    for (let k = 0; k < TRIALS; k++) {
      const rc = randomCase(rng, rng.pick(['bce', 'bcel'] as const));
      const w = rc.opts.weight as { data: Float32Array; shape: number[] } | Float32Array | undefined;
      if (w === undefined || ArrayBuffer.isView(w)) continue;
      const at = ext.broadcastIndex(w.shape, rc.shape);
      const full = new Float32Array(numel(rc.shape)).map((_, i) => w.data[at(i)]);
      const o = { ...rc.opts, weight: full } as never;
      const e = rc.kind === 'bce' ? gref.binaryCrossEntropyGrad(rc.x, rc.shape, rc.target, o) : gref.binaryCrossEntropyWithLogitsGrad(rc.x, rc.shape, rc.target, o);
      const g = gradOf(rc);
      const why = [near(g.loss, e.loss), near(g.grad, e.grad)].filter((v) => v !== null);
      if (why.length) bad.push(`${rc.name}: ${why.join('; ')}`);
    }
    expect(bad, `SEED=${SEED}\n${bad.slice(0, 10).join('\n')}`).toEqual([]);
  });

  it('broadcastIndex follows PyTorch: right-aligned, dims 1 or equal, no more dims than the input', () => {
    const idx = (ws: number[], s: number[]) => Array.from({ length: numel(s) }, (_, i) => ext.broadcastIndex(ws, s)(i));
    expect(idx([], [2, 3])).toEqual([0, 0, 0, 0, 0, 0]);
    expect(idx([2, 1], [2, 3])).toEqual([0, 0, 0, 1, 1, 1]);
    expect(idx([1, 3], [2, 3])).toEqual([0, 1, 2, 0, 1, 2]);
    expect(idx([3], [2, 3])).toEqual([0, 1, 2, 0, 1, 2]);
    expect(idx([1, 2, 1], [2, 2, 2])).toEqual([0, 0, 1, 1, 0, 0, 1, 1]);
    expect(idx([2, 1, 2], [2, 2, 2])).toEqual([0, 1, 0, 1, 2, 3, 2, 3]);
    expect(idx([2, 1], [2, 2, 2])).toEqual([0, 0, 1, 1, 0, 0, 1, 1]);
    expect(() => ext.broadcastIndex([3, 1], [2, 3])).toThrow();
    expect(() => ext.broadcastIndex([1, 2, 3], [2, 3])).toThrow();
  });

  it('the references reject what the issue rejects', () => {
    const x = [0.5, -1, 2, 0.25, 3, -2];
    const t = new Int32Array([2, 0]);
    const p = new Float32Array([0.2, 0.3, 0.5, 0.1, 0.1, 0.8]);
    expect(() => ext.crossEntropyExt(x, [2, 3], t, { focalGamma: 2, labelSmoothing: 0.1 })).toThrow(/labelSmoothing/);
    expect(() => ext.crossEntropyExt(x, [2, 3], p, { focalGamma: 2 })).toThrow(/index/);
    expect(() => ext.crossEntropyExt(x, [2, 3], t, { focalGamma: -1 })).toThrow(/focalGamma/);
    expect(() => ext.crossEntropyExt(x, [2, 3], t, { zLoss: -0.1 })).toThrow(/zLoss/);
    expect(() => ext.crossEntropyExt(x, [2, 3], t, { softcap: 0 })).toThrow(/softcap/);
    expect(() => ext.sigmoidFocalLoss(x, [2, 3], p, { gamma: -1 })).toThrow(/gamma/);
    expect(() => ext.binaryCrossEntropyWithLogits(x, [2, 3], p, { weight: { data: [1, 2], shape: [2] } })).toThrow(/broadcast/);
    // the z-loss by hand: the row [0, 0, 0] has lse = ln 3 and −log p_t = ln 3
    const z = ext.crossEntropyExt([0, 0, 0], [3], new Int32Array([1]), { zLoss: 0.5, reduction: 'sum' }) as number;
    expect(z).toBeCloseTo(Math.log(3) + 0.5 * Math.log(3) ** 2, 14);
    // the focal loss by hand: p_t = 1/3, (1 − p_t)^2·ln 3
    const f = ext.crossEntropyExt([0, 0, 0], [3], new Int32Array([1]), { focalGamma: 2 }) as number;
    expect(f).toBeCloseTo((4 / 9) * Math.log(3), 14);
    // the softcap by hand: c·tanh(x/c) of [30, -30] with c = 30 is ±30·tanh(1)
    const s = ext.crossEntropyExt([30, -30], [2], new Int32Array([0]), { softcap: 30 }) as number;
    expect(s).toBeCloseTo(Math.log1p(Math.exp(-60 * Math.tanh(1))), 14);
  });
});

