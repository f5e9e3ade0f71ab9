/**
 * The CPU backend against the independent float64 reference (test/reference.ts) on fresh random
 * inputs every run. The seed comes from $SEED or the clock and is printed in every failure message;
 * each test draws from its own generator derived from (seed, test name), so
 *   SEED=<seed> npx vitest run test/cpu/reference.test.ts -t '<test name>'
 * reproduces one failure exactly.
 *
 * Also checks the reference itself against every PyTorch fixture, so the oracle is trustworthy.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createLosses } from '../../src/index.js';
import type { AdapterProfile, HostTensor, Losses } from '../../src/index.js';
import * as ref from '../reference.js';
import { expectClose, torchFixtureCases } from '../fixtures.js';
import type { Expected, FixtureCase, ToleranceKind } from '../fixtures.js';
import { baseSeed, classTargets, logits, numel, probTargets, randn, Rng, uniform, weights } from '../rng.js';

const SEED = baseSeed();
console.log(`test/cpu/reference.test.ts: SEED=${SEED}`);

type Red = 'none' | 'mean' | 'sum';
const REDS: readonly Red[] = ['none', 'mean', 'sum'];
const CS = [1, 2, 5, 257, 1000, 50257];
/** Rows per case, so that the largest C stays cheap. */
const rowsFor = (C: number) => (C <= 5 ? 33 : C <= 257 ? 17 : C <= 1000 ? 9 : 3);

let cpu: Losses;
beforeAll(async () => {
  cpu = await createLosses({ backend: 'cpu' });
  expect(cpu.backend).toBe('cpu');
});

/** Registers a test with its own generator; failures carry the seed and the test name. */
function check(name: string, body: (rng: Rng, ctx: string) => Promise<void>) {
  it(name, async () => {
    const ctx = `SEED=${SEED} [${name}]`;
    try {
      await body(Rng.for(SEED, name), ctx);
    } catch (err) {
      if (err instanceof Error && !err.message.includes(`SEED=${SEED}`)) err.message = `${ctx}: ${err.message}`;
      throw err;
    }
  });
}

function close(actual: unknown, expected: number | ref.Ref, kind: ToleranceKind, ctx: string) {
  expectClose(actual, expected as Expected, kind, ctx);
}

/** Sometimes leave a default option out, sometimes pass it explicitly. */
function reductionOption(rng: Rng, red: Red): { reduction?: Red } {
  return red === 'mean' && rng.bool() ? {} : { reduction: red };
}

function classDim(shape: readonly number[]) {
  return shape.length === 1 ? 0 : 1;
}
function targetShape(shape: readonly number[]) {
  const d = classDim(shape);
  return shape.filter((_, i) => i !== d);
}

/** -100 (the default), -1, or a valid class. */
function pickIgnore(rng: Rng, C: number): number {
  const r = rng.int(0, 3);
  return r === 0 ? -100 : r === 1 ? -1 : rng.int(0, C);
}

function pickSmoothing(rng: Rng): number {
  return rng.bool(0.15) ? 1 : rng.uniform(0.01, 0.6);
}

/** Bare Int32Array or a {data, shape} tensor, at random. */
function indexArg(rng: Rng, t: Int32Array, shape: number[]) {
  return rng.bool() ? t : { data: t, shape };
}
function floatArg(rng: Rng, t: Float32Array, shape: readonly number[]) {
  return rng.bool() ? t : { data: t, shape: [...shape] };
}

// ------------------------------------------------------------------ class-dim losses

interface Variant {
  name: string;
  weight?: boolean;
  ignore?: boolean;
  smoothing?: boolean;
}
const CE_VARIANTS: Variant[] = [
  { name: 'plain' },
  { name: 'weight', weight: true },
  { name: 'ignoreIndex', ignore: true },
  { name: 'labelSmoothing', smoothing: true },
  { name: 'weight+ignoreIndex+labelSmoothing', weight: true, ignore: true, smoothing: true },
  { name: 'ignoreIndex+labelSmoothing', ignore: true, smoothing: true },
];
const PROB_VARIANTS: Variant[] = [
  { name: 'plain' },
  { name: 'weight', weight: true },
  { name: 'labelSmoothing', smoothing: true },
  { name: 'weight+labelSmoothing', weight: true, smoothing: true },
];
const NLL_VARIANTS: Variant[] = [
  { name: 'plain' },
  { name: 'weight', weight: true },
  { name: 'ignoreIndex', ignore: true },
  { name: 'weight+ignoreIndex', weight: true, ignore: true },
];

interface Extras {
  negInf?: number;
  extreme?: number;
  std?: number;
  losses?: () => Losses;
}

async function ceIndex(rng: Rng, ctx: string, shape: number[], v: Variant, red: Red, ex: Extras = {}) {
  const C = shape[classDim(shape)];
  const ts = targetShape(shape);
  const x = logits(rng, shape, { std: ex.std ?? 3, negInf: ex.negInf, extreme: ex.extreme });
  const ii = v.ignore ? pickIgnore(rng, C) : undefined;
  const t = classTargets(rng, numel(ts), C, ii !== undefined ? { ignoreIndex: ii, ignoreFrac: 0.3 } : {});
  const w = v.weight ? weights(rng, C) : undefined;
  const eps = v.smoothing ? pickSmoothing(rng) : undefined;
  const options: Record<string, unknown> = { ...reductionOption(rng, red) };
  if (w) options.weight = w;
  if (ii !== undefined && (ii !== -100 || rng.bool())) options.ignoreIndex = ii;
  if (eps !== undefined) options.labelSmoothing = eps;
  const L = ex.losses?.() ?? cpu;
  const actual = await L.crossEntropy({ data: x, shape }, indexArg(rng, t, ts), options);
  const expected = ref.crossEntropy(x, shape, t, { weight: w, ignoreIndex: ii, labelSmoothing: eps, reduction: red });
  close(actual, expected, 'loss', `${ctx} options=${JSON.stringify({ ...options, weight: w ? `[${w.length}]` : undefined })}`);
}

async function ceProb(rng: Rng, ctx: string, shape: number[], v: Variant, red: Red, ex: Extras = {}) {
  const C = shape[classDim(shape)];
  const x = logits(rng, shape, { std: ex.std ?? 3, negInf: ex.negInf, extreme: ex.extreme });
  const p = probTargets(rng, shape);
  const w = v.weight ? weights(rng, C) : undefined;
  const eps = v.smoothing ? pickSmoothing(rng) : undefined;
  const options: Record<string, unknown> = { ...reductionOption(rng, red) };
  if (w) options.weight = w;
  if (eps !== undefined) options.labelSmoothing = eps;
  const L = ex.losses?.() ?? cpu;
  const actual = await L.crossEntropy({ data: x, shape }, floatArg(rng, p, shape), options);
  const expected = ref.crossEntropy(x, shape, p, { weight: w, labelSmoothing: eps, reduction: red });
  close(actual, expected, 'loss', `${ctx} labelSmoothing=${eps}`);
}

async function nll(rng: Rng, ctx: string, shape: number[], v: Variant, red: Red, ex: Extras = {}) {
  const C = shape[classDim(shape)];
  const ts = targetShape(shape);
  const x = logits(rng, shape, { std: ex.std ?? 3, negInf: ex.negInf, extreme: ex.extreme });
  const ii = v.ignore ? pickIgnore(rng, C) : undefined;
  const t = classTargets(rng, numel(ts), C, ii !== undefined ? { ignoreIndex: ii, ignoreFrac: 0.3 } : {});
  const w = v.weight ? weights(rng, C) : undefined;
  const options: Record<string, unknown> = { ...reductionOption(rng, red) };
  if (w) options.weight = w;
  if (ii !== undefined && (ii !== -100 || rng.bool())) options.ignoreIndex = ii;
  const L = ex.losses?.() ?? cpu;
  const actual = await L.nllLoss({ data: x, shape }, indexArg(rng, t, ts), options);
  const expected = ref.nllLoss(x, shape, t, { weight: w, ignoreIndex: ii, reduction: red });
  close(actual, expected, 'loss', `${ctx} ignoreIndex=${ii}`);
}

async function rowOps(rng: Rng, ctx: string, shape: number[], dim: number | undefined, ex: Extras = {}) {
  const x = logits(rng, shape, { std: ex.std ?? 3, negInf: ex.negInf, extreme: ex.extreme });
  const o = dim === undefined ? {} : { dim };
  const L = ex.losses?.() ?? cpu;
  close(await L.softmax({ data: x, shape }, o), ref.softmax(x, shape, o), 'prob', `${ctx} softmax`);
  close(await L.logSoftmax({ data: x, shape }, o), ref.logSoftmax(x, shape, o), 'loss', `${ctx} logSoftmax`);
  close(await L.entropy({ data: x, shape }, o), ref.entropy(x, shape, o), 'loss', `${ctx} entropy (default reduction)`);
  for (const red of REDS) {
    close(await L.entropy({ data: x, shape }, { ...o, reduction: red }), ref.entropy(x, shape, { ...o, reduction: red }), 'loss',
      `${ctx} entropy reduction=${red}`);
  }
}

describe('class counts C ∈ {1, 2, 5, 257, 1000, 50257}, input (N, C)', () => {
  for (const C of CS) {
    const shape = [rowsFor(C), C];
    check(`softmax/logSoftmax/entropy C=${C}`, (rng, ctx) => rowOps(rng, ctx, shape, undefined));
    for (const v of CE_VARIANTS) {
      for (const red of REDS) check(`crossEntropy index ${v.name} ${red} C=${C}`, (rng, ctx) => ceIndex(rng, ctx, shape, v, red));
    }
    for (const v of PROB_VARIANTS) {
      for (const red of REDS) check(`crossEntropy prob ${v.name} ${red} C=${C}`, (rng, ctx) => ceProb(rng, ctx, shape, v, red));
    }
    for (const v of NLL_VARIANTS) {
      for (const red of REDS) check(`nllLoss ${v.name} ${red} C=${C}`, (rng, ctx) => nll(rng, ctx, shape, v, red));
    }
  }
});

describe('1-D input (C): target of shape ()', () => {
  for (const C of [1, 5, 1000, 50257]) {
    for (const v of CE_VARIANTS) {
      for (const red of REDS) check(`crossEntropy index ${v.name} ${red} (C=${C})`, (rng, ctx) => ceIndex(rng, ctx, [C], v, red));
    }
    for (const v of PROB_VARIANTS) check(`crossEntropy prob ${v.name} none (C=${C})`, (rng, ctx) => ceProb(rng, ctx, [C], v, 'none'));
    for (const v of NLL_VARIANTS) check(`nllLoss ${v.name} none (C=${C})`, (rng, ctx) => nll(rng, ctx, [C], v, 'none'));
    check(`softmax/logSoftmax/entropy (C=${C})`, (rng, ctx) => rowOps(rng, ctx, [C], undefined));
  }
});

const KSHAPES = [[3, 5, 7], [2, 7, 3, 4], [2, 257, 3], [2, 3, 2, 2, 2], [1, 1000, 5], [2, 1, 4]];
describe('K-dim inputs (N, C, d1, …, dk)', () => {
  for (const shape of KSHAPES) {
    const s = `(${shape.join(',')})`;
    check(`softmax/logSoftmax/entropy dim=1 ${s}`, (rng, ctx) => rowOps(rng, ctx, shape, 1));
    for (const v of CE_VARIANTS) {
      for (const red of REDS) check(`crossEntropy index ${v.name} ${red} ${s}`, (rng, ctx) => ceIndex(rng, ctx, shape, v, red));
    }
    for (const v of PROB_VARIANTS) {
      for (const red of REDS) check(`crossEntropy prob ${v.name} ${red} ${s}`, (rng, ctx) => ceProb(rng, ctx, shape, v, red));
    }
    for (const v of NLL_VARIANTS) {
      for (const red of REDS) check(`nllLoss ${v.name} ${red} ${s}`, (rng, ctx) => nll(rng, ctx, shape, v, red));
    }
  }
});

describe('softmax, logSoftmax and entropy over dim ≠ -1', () => {
  const cases: [number[], number | undefined][] = [
    [[4, 6, 5], 0], [[4, 6, 5], 1], [[4, 6, 5], -2], [[4, 6, 5], -3], [[4, 6, 5], 2], [[3, 4], 0], [[3, 4], -2],
    [[2, 3, 4, 5], 2], [[2, 3, 4, 5], -3], [[2, 3, 4, 5], 0], [[7], 0], [[3, 300, 4], 1], [[5000, 3], 0], [[2, 3], undefined],
  ];
  for (const [shape, dim] of cases) check(`(${shape.join(',')}) dim=${dim}`, (rng, ctx) => rowOps(rng, ctx, shape, dim));
});

describe('special values', () => {
  // -inf logits: probability 0, no NaN (unless a whole row is -inf, which torch makes NaN)
  for (const C of [2, 5, 257, 50257]) {
    check(`softmax/logSoftmax/entropy with -inf logits C=${C}`, (rng, ctx) => rowOps(rng, ctx, [rowsFor(C), C], undefined, { negInf: 0.3 }));
    check(`softmax/logSoftmax/entropy with ±3e4 logits C=${C}`, (rng, ctx) => rowOps(rng, ctx, [rowsFor(C), C], undefined, { extreme: 0.3 }));
    for (const red of REDS) {
      check(`crossEntropy -inf logits off the target ${red} C=${C}`, async (rng, ctx) => {
        const N = rowsFor(C);
        const x = logits(rng, [N, C], { negInf: 0.3 });
        const t = classTargets(rng, N, C);
        for (let n = 0; n < N; n++) x[n * C + t[n]] = rng.normal(0, 3); // the target stays finite
        const w = rng.bool() ? weights(rng, C) : undefined;
        close(await cpu.crossEntropy({ data: x, shape: [N, C] }, t, { weight: w, reduction: red }),
          ref.crossEntropy(x, [N, C], t, { weight: w, reduction: red }), 'loss', ctx);
        // with label smoothing every class gets mass: a row holding a -inf logit gives +inf
        close(await cpu.crossEntropy({ data: x, shape: [N, C] }, t, { labelSmoothing: 0.1, reduction: red }),
          ref.crossEntropy(x, [N, C], t, { labelSmoothing: 0.1, reduction: red }), 'loss', `${ctx} labelSmoothing=0.1`);
      });
      check(`crossEntropy ±3e4 logits weight+ignoreIndex+labelSmoothing ${red} C=${C}`, (rng, ctx) =>
        ceIndex(rng, ctx, [rowsFor(C), C], CE_VARIANTS[4], red, { extreme: 0.5 }));
      check(`crossEntropy prob ±3e4 logits weight+labelSmoothing ${red} C=${C}`, (rng, ctx) =>
        ceProb(rng, ctx, [rowsFor(C), C], PROB_VARIANTS[3], red, { extreme: 0.5 }));
    }
    check(`crossEntropy -inf logit at the target gives +inf C=${C}`, async (rng, ctx) => {
      const N = rowsFor(C);
      const x = logits(rng, [N, C]);
      const t = classTargets(rng, N, C);
      x[t[0]] = -Infinity;
      for (const red of REDS) {
        const expected = ref.crossEntropy(x, [N, C], t, { reduction: red });
        close(await cpu.crossEntropy({ data: x, shape: [N, C] }, t, { reduction: red }), expected, 'loss', `${ctx} ${red}`);
      }
      close(await cpu.nllLoss({ data: x, shape: [N, C] }, t, { reduction: 'none' }), ref.nllLoss(x, [N, C], t, { reduction: 'none' }),
        'loss', `${ctx} nllLoss none`);
    });
  }
  for (const red of REDS) {
    check(`NaN logits propagate except in ignored rows ${red}`, async (rng, ctx) => {
      const N = 12, C = 7;
      const x = logits(rng, [N, C]);
      const t = classTargets(rng, N, C, { ignoreIndex: -100, ignoreFrac: 0.4 });
      t[0] = -100;
      t[1] = 3;
      x[0 * C + 2] = NaN; // an ignored row: no effect
      x[1 * C + 5] = NaN; // a counted row: NaN
      for (const eps of [0, 0.2]) {
        close(await cpu.crossEntropy({ data: x, shape: [N, C] }, t, { reduction: red, labelSmoothing: eps }),
          ref.crossEntropy(x, [N, C], t, { reduction: red, labelSmoothing: eps }), 'loss', `${ctx} labelSmoothing=${eps}`);
      }
      // nll only reads the target entry: NaN elsewhere never matters
      close(await cpu.nllLoss({ data: x, shape: [N, C] }, t, { reduction: red }), ref.nllLoss(x, [N, C], t, { reduction: red }),
        'loss', `${ctx} nllLoss`);
      const xs = logits(rng, [N, C]);
      xs[4] = NaN;
      close(await cpu.softmax({ data: xs, shape: [N, C] }), ref.softmax(xs, [N, C]), 'prob', `${ctx} softmax`);
      close(await cpu.entropy({ data: xs, shape: [N, C] }, { reduction: red }), ref.entropy(xs, [N, C], { reduction: red }), 'loss', `${ctx} entropy`);
    });
    check(`every target ignored ${red}`, async (rng, ctx) => {
      const shape = [5, 4, 3];
      const x = logits(rng, shape);
      const ii = pickIgnore(rng, 4);
      const t = new Int32Array(15).fill(ii);
      for (const o of [{}, { weight: weights(rng, 4) }, { labelSmoothing: 0.3 }, { weight: weights(rng, 4), labelSmoothing: 0.3 }]) {
        close(await cpu.crossEntropy({ data: x, shape }, t, { ...o, ignoreIndex: ii, reduction: red }),
          ref.crossEntropy(x, shape, t, { ...o, ignoreIndex: ii, reduction: red }), 'loss', `${ctx} crossEntropy ${Object.keys(o)}`);
      }
      close(await cpu.nllLoss({ data: x, shape }, t, { ignoreIndex: ii, reduction: red }),
        ref.nllLoss(x, shape, t, { ignoreIndex: ii, reduction: red }), 'loss', `${ctx} nllLoss`);
    });
  }
  check('a row of -inf logits is NaN (as torch)', async (rng, ctx) => {
    const x = logits(rng, [4, 6]);
    for (let c = 0; c < 6; c++) x[6 + c] = -Infinity;
    close(await cpu.softmax({ data: x, shape: [4, 6] }), ref.softmax(x, [4, 6]), 'prob', `${ctx} softmax`);
    close(await cpu.logSoftmax({ data: x, shape: [4, 6] }), ref.logSoftmax(x, [4, 6]), 'loss', `${ctx} logSoftmax`);
    close(await cpu.entropy({ data: x, shape: [4, 6] }), ref.entropy(x, [4, 6]), 'loss', `${ctx} entropy`);
  });
});

describe('large batches (fixed-order batch sums)', () => {
  for (const shape of [[65536, 3], [4096, 10, 2], [2, 131072]]) {
    const s = `(${shape.join(',')})`;
    for (const red of ['mean', 'sum'] as const) {
      check(`crossEntropy index weight+ignoreIndex+labelSmoothing ${red} ${s}`, (rng, ctx) => ceIndex(rng, ctx, shape, CE_VARIANTS[4], red));
      check(`crossEntropy index plain ${red} ${s}`, (rng, ctx) => ceIndex(rng, ctx, shape, CE_VARIANTS[0], red));
      check(`crossEntropy prob weight+labelSmoothing ${red} ${s}`, (rng, ctx) => ceProb(rng, ctx, shape, PROB_VARIANTS[3], red));
      check(`nllLoss weight+ignoreIndex ${red} ${s}`, (rng, ctx) => nll(rng, ctx, shape, NLL_VARIANTS[3], red));
      check(`elementwise losses ${red} ${s}`, async (rng, ctx) => {
        const n = numel(shape);
        const last = shape[shape.length - 1];
        const x = bceInputs(rng, n);
        const t = bceTargets(rng, n);
        const w = weights(rng, last);
        close(await cpu.binaryCrossEntropy({ data: x, shape }, t, { weight: w, reduction: red }),
          ref.binaryCrossEntropy(x, shape, t, { weight: w, reduction: red }), 'loss', `${ctx} bce`);
        const z = logits(rng, shape, { std: 4 });
        close(await cpu.binaryCrossEntropyWithLogits({ data: z, shape }, t, { posWeight: w, reduction: red }),
          ref.binaryCrossEntropyWithLogits(z, shape, t, { posWeight: w, reduction: red }), 'loss', `${ctx} bceLogits`);
        const lp = new Float32Array(ref.logSoftmax(z, shape, { dim: 1 }).data);
        const p = probTargets(rng, shape, 1);
        close(await cpu.klDiv({ data: lp, shape }, p, { reduction: red }), ref.klDiv(lp, shape, p, { reduction: red }), 'loss', `${ctx} klDiv`);
        close(await cpu.klDiv({ data: lp, shape }, p, { reduction: 'batchmean' }), ref.klDiv(lp, shape, p, { reduction: 'batchmean' }), 'loss',
          `${ctx} klDiv batchmean`);
      });
    }
    check(`softmax/logSoftmax/entropy ${s}`, (rng, ctx) => rowOps(rng, ctx, shape, 1));
  }
});

// ------------------------------------------------------------------ element-wise losses

const ESHAPES = [[17], [8, 5], [2, 3, 4], [2, 3, 4, 5], [3, 257], [2, 50257]];
type WeightKind = 'none' | 'len1' | 'last' | 'last2' | 'full' | 'tensor';
const WEIGHT_KINDS: WeightKind[] = ['none', 'len1', 'last', 'last2', 'full', 'tensor'];

function makeWeight(rng: Rng, kind: WeightKind, shape: readonly number[]): { arg?: Float32Array | HostTensor; data?: Float32Array } {
  const n = numel(shape);
  switch (kind) {
    case 'none': return {};
    case 'len1': { const w = weights(rng, 1); return { arg: w, data: w }; }
    case 'last': { const w = weights(rng, shape[shape.length - 1]); return { arg: w, data: w }; }
    case 'last2': { const w = weights(rng, numel(shape.slice(-2))); return { arg: w, data: w }; }
    case 'full': { const w = weights(rng, n); return { arg: w, data: w }; }
    case 'tensor': {
      const k = rng.int(1, shape.length + 1);
      const s = shape.slice(shape.length - k);
      const w = weights(rng, numel(s));
      return { arg: { data: w, shape: [...s] }, data: w };
    }
  }
}

function bceInputs(rng: Rng, n: number): Float32Array {
  const x = uniform(rng, n, 0, 1);
  for (let i = 0; i < n; i++) if (rng.bool(0.05)) x[i] = rng.bool() ? 0 : 1; // log terms clamped at -100
  return x;
}
function bceTargets(rng: Rng, n: number): Float32Array {
  const binary = rng.bool();
  const t = uniform(rng, n, 0, 1);
  if (binary) for (let i = 0; i < n; i++) t[i] = t[i] < 0.5 ? 0 : 1;
  return t;
}

describe('binaryCrossEntropy', () => {
  for (const shape of ESHAPES) {
    for (const wk of WEIGHT_KINDS) {
      if (wk === 'last2' && shape.length < 2) continue;
      for (const red of REDS) {
        check(`weight=${wk} ${red} (${shape.join(',')})`, async (rng, ctx) => {
          const n = numel(shape);
          const x = bceInputs(rng, n);
          const t = bceTargets(rng, n);
          const w = makeWeight(rng, wk, shape);
          const options: Record<string, unknown> = { ...reductionOption(rng, red) };
          if (w.arg) options.weight = w.arg;
          close(await cpu.binaryCrossEntropy({ data: x, shape }, floatArg(rng, t, shape), options),
            ref.binaryCrossEntropy(x, shape, t, { weight: w.data, reduction: red }), 'loss', ctx);
        });
      }
    }
  }
});

describe('binaryCrossEntropyWithLogits', () => {
  const combos: [WeightKind, 'none' | 'last' | 'len1'][] = [
    ['none', 'none'], ['last', 'none'], ['tensor', 'none'], ['none', 'last'], ['none', 'len1'], ['full', 'last'], ['len1', 'len1'], ['last2', 'last'],
  ];
  for (const shape of ESHAPES) {
    for (const [wk, pk] of combos) {
      if (wk === 'last2' && shape.length < 2) continue;
      for (const red of REDS) {
        check(`weight=${wk} posWeight=${pk} ${red} (${shape.join(',')})`, async (rng, ctx) => {
          const n = numel(shape);
          const x = logits(rng, shape, { std: 5, extreme: 0.03 });
          const t = uniform(rng, n, 0, 1);
          const w = makeWeight(rng, wk, shape);
          const pw = pk === 'none' ? undefined : weights(rng, pk === 'len1' ? 1 : shape[shape.length - 1], 0.2, 4);
          const options: Record<string, unknown> = { ...reductionOption(rng, red) };
          if (w.arg) options.weight = w.arg;
          if (pw) options.posWeight = pw;
          close(await cpu.binaryCrossEntropyWithLogits({ data: x, shape }, floatArg(rng, t, shape), options),
            ref.binaryCrossEntropyWithLogits(x, shape, t, { weight: w.data, posWeight: pw, reduction: red }), 'loss', ctx);
        });
      }
    }
  }
});

describe('klDiv', () => {
  const KREDS = [...REDS, 'batchmean'] as const;
  for (const shape of ESHAPES) {
    for (const logTarget of [undefined, false, true]) {
      for (const red of KREDS) {
        check(`logTarget=${logTarget} ${red} (${shape.join(',')})`, async (rng, ctx) => {
          const n = numel(shape);
          const x = ref.logSoftmax(randn(rng, n, 2), shape);
          const xf = new Float32Array(x.data);
          let t: Float32Array;
          if (logTarget) {
            t = new Float32Array(ref.logSoftmax(randn(rng, n, 2), shape).data);
          } else {
            t = probTargets(rng, shape, shape.length - 1);
            for (let i = 0; i < n; i++) if (rng.bool(0.1)) t[i] = 0; // contributes exactly 0
          }
          const options: Record<string, unknown> = red === 'mean' && rng.bool() ? {} : { reduction: red };
          if (logTarget !== undefined) options.logTarget = logTarget;
          close(await cpu.klDiv({ data: xf, shape }, floatArg(rng, t, shape), options),
            ref.klDiv(xf, shape, t, { reduction: red, logTarget }), 'loss', ctx);
        });
      }
    }
  }
  for (const red of KREDS) {
    // PyTorch 1.13: xlogy(t, t) − t·x, so t = 0 contributes 0 at a finite input but NaN at −inf
    // (0·−inf), and t < 0 gives NaN (the torch fixtures hold the same with real torch values).
    check(`targets of 0 and below, inputs of -inf ${red}`, async (rng, ctx) => {
      const shape = [6, 9];
      const n = numel(shape);
      const x = new Float32Array(ref.logSoftmax(randn(rng, n, 2), shape).data);
      const t = uniform(rng, n, -1, 1);
      for (let i = 0; i < n; i++) {
        if (rng.bool(0.2)) t[i] = 0;
        if (rng.bool(0.2)) x[i] = -Infinity;
      }
      close(await cpu.klDiv({ data: x, shape }, t, { reduction: red }), ref.klDiv(x, shape, t, { reduction: red }), 'loss', ctx);
    });
  }
  it('a zero target gives exactly 0 at a finite input, NaN at -inf; a negative target NaN; -inf input with t > 0 +inf', async () => {
    const x = new Float32Array([-1.5, -Infinity, -2, -Infinity, -0.5, 3]);
    const t = new Float32Array([0, 0, -0.25, 0.3, 0.2, -0]);
    const r = (await cpu.klDiv({ data: x, shape: [6] }, t, { reduction: 'none' })) as { data: Float32Array };
    expect(Object.is(r.data[0], 0)).toBe(true);
    expect(r.data[1]).toBeNaN();
    expect(r.data[2]).toBeNaN();
    expect(r.data[3]).toBe(Infinity);
    expect(r.data[4]).toBeCloseTo(0.2 * Math.log(0.2) + 0.1, 6);
    expect(r.data[5]).toBe(0);
    expect(await cpu.klDiv({ data: x.subarray(0, 1), shape: [1] }, t.subarray(0, 1), { reduction: 'sum' })).toBe(0);
    expect(await cpu.klDiv({ data: x, shape: [6] }, t, { reduction: 'sum' })).toBeNaN();
  });
  check('unnormalised inputs and targets', async (rng, ctx) => {
    const shape = [5, 11];
    const x = randn(rng, 55, 3);
    const t = uniform(rng, 55, 0, 3);
    const lt = randn(rng, 55, 2);
    for (const red of KREDS) {
      close(await cpu.klDiv({ data: x, shape }, t, { reduction: red }), ref.klDiv(x, shape, t, { reduction: red }), 'loss', `${ctx} ${red}`);
      close(await cpu.klDiv({ data: x, shape }, lt, { reduction: red, logTarget: true }),
        ref.klDiv(x, shape, lt, { reduction: red, logTarget: true }), 'loss', `${ctx} logTarget ${red}`);
    }
  });
});

describe('sigmoid', () => {
  for (const shape of [...ESHAPES, []]) {
    check(`(${shape.join(',')})`, async (rng, ctx) => {
      const x = logits(rng, shape, { std: 8, extreme: 0.05 });
      for (let i = 0; i < x.length; i++) if (rng.bool(0.02)) x[i] = rng.pick([Infinity, -Infinity, NaN, 0, 88.8, -88.8, 104, -104]);
      close(await cpu.sigmoid({ data: x, shape }), ref.sigmoid(x, shape), 'prob', ctx);
    });
  }
});

// ------------------------------------------------------------------ the CPU running the WebGPU plans

/**
 * The GPU tests use the CPU backend with the GPU's plan as their oracle (docs/ARCHITECTURE.md, "The plan and the numerics contract"), so those
 * plans must also agree with the reference. Profiles: SwiftShader-like, a GPU without subgroups,
 * a GPU with subgroups of 32, and one with a small binding limit (chunked batches).
 */
const PROFILES: [string, AdapterProfile][] = [
  ['emulated sg4', { emulated: true, subgroupSize: 4, maxGroupsPerDim: 65535, maxBindingBytes: 1 << 30 }],
  ['no subgroups', { emulated: false, subgroupSize: 0, maxGroupsPerDim: 65535, maxBindingBytes: 1 << 30 }],
  ['sg32', { emulated: false, subgroupSize: 32, maxGroupsPerDim: 65535, maxBindingBytes: 1 << 30 }],
  ['sg32 small binding', { emulated: false, subgroupSize: 32, maxGroupsPerDim: 16, maxBindingBytes: 1 << 16 }],
];
describe('CPU backend executing the WebGPU plans', () => {
  const planned = new Map<string, Losses>();
  beforeAll(async () => {
    for (const [name, profile] of PROFILES) planned.set(name, await createLosses({ backend: 'cpu', profile }));
  });
  for (const [pname] of PROFILES) {
    const L = () => planned.get(pname)!;
    for (const shape of [[33, 5], [17, 257], [9, 1000], [3, 50257], [300, 64], [2, 257, 3], [2, 131072], [65536, 3], [1, 262144]]) {
      const s = `${pname} (${shape.join(',')})`;
      check(`softmax/logSoftmax/entropy ${s}`, (rng, ctx) => rowOps(rng, ctx, shape, 1, { losses: L }));
      for (const red of REDS) {
        check(`crossEntropy weight+ignoreIndex+labelSmoothing ${red} ${s}`, (rng, ctx) => ceIndex(rng, ctx, shape, CE_VARIANTS[4], red, { losses: L }));
        check(`crossEntropy prob weight+labelSmoothing ${red} ${s}`, (rng, ctx) => ceProb(rng, ctx, shape, PROB_VARIANTS[3], red, { losses: L }));
        check(`nllLoss weight+ignoreIndex ${red} ${s}`, (rng, ctx) => nll(rng, ctx, shape, NLL_VARIANTS[3], red, { losses: L }));
      }
      check(`crossEntropy -inf and ±3e4 logits ${s}`, (rng, ctx) => ceIndex(rng, ctx, shape, CE_VARIANTS[1], 'none', { losses: L, extreme: 0.2 }));
      check(`softmax/entropy -inf logits ${s}`, (rng, ctx) => rowOps(rng, ctx, shape, 1, { losses: L, negInf: 0.2 }));
    }
    check(`elementwise ${pname}`, async (rng, ctx) => {
      const shape = [40, 300];
      const n = numel(shape);
      const x = bceInputs(rng, n);
      const t = bceTargets(rng, n);
      const w = weights(rng, 300);
      const z = logits(rng, shape, { std: 5 });
      for (const red of REDS) {
        close(await L().binaryCrossEntropy({ data: x, shape }, t, { weight: w, reduction: red }),
          ref.binaryCrossEntropy(x, shape, t, { weight: w, reduction: red }), 'loss', `${ctx} bce ${red}`);
        close(await L().binaryCrossEntropyWithLogits({ data: z, shape }, t, { posWeight: w, reduction: red }),
          ref.binaryCrossEntropyWithLogits(z, shape, t, { posWeight: w, reduction: red }), 'loss', `${ctx} bceLogits ${red}`);
        const lp = new Float32Array(ref.logSoftmax(z, shape).data);
        close(await L().klDiv({ data: lp, shape }, t, { reduction: red }), ref.klDiv(lp, shape, t, { reduction: red }), 'loss', `${ctx} klDiv ${red}`);
      }
      close(await L().sigmoid({ data: z, shape }), ref.sigmoid(z, shape), 'prob', `${ctx} sigmoid`);
    });
  }
});

// ------------------------------------------------------------------ the oracle itself

/** Evaluates a torch fixture case with the float64 reference. */
function referenceOf(c: FixtureCase): number | ref.Ref {
  const x = c.input.data;
  const shape = c.input.shape;
  const o = c.options as Record<string, unknown>;
  const tdata = c.target === undefined ? undefined : ArrayBuffer.isView(c.target) ? c.target : c.target.data;
  const wdata = (w: unknown) => (w === undefined ? undefined : w instanceof Float32Array ? w : (w as HostTensor).data);
  const red = o.reduction as Red | undefined;
  switch (c.op) {
    case 'softmax': return ref.softmax(x, shape, o);
    case 'logSoftmax': return ref.logSoftmax(x, shape, o);
    case 'sigmoid': return ref.sigmoid(x, shape);
    case 'entropy': return ref.entropy(x, shape, o);
    case 'crossEntropy':
      return ref.crossEntropy(x, shape, tdata!, { weight: wdata(o.weight), ignoreIndex: o.ignoreIndex as number | undefined, labelSmoothing: o.labelSmoothing as number | undefined, reduction: red });
    case 'nllLoss':
      return ref.nllLoss(x, shape, tdata!, { weight: wdata(o.weight), ignoreIndex: o.ignoreIndex as number | undefined, reduction: red });
    case 'binaryCrossEntropy':
      return ref.binaryCrossEntropy(x, shape, tdata!, { weight: wdata(o.weight), reduction: red });
    case 'binaryCrossEntropyWithLogits':
      return ref.binaryCrossEntropyWithLogits(x, shape, tdata!, { weight: wdata(o.weight), posWeight: wdata(o.posWeight), reduction: red });
    case 'klDiv':
      return ref.klDiv(x, shape, tdata!, { reduction: o.reduction as Red | 'batchmean' | undefined, logTarget: o.logTarget as boolean | undefined });
  }
}

describe('the float64 reference agrees with torch on every fixture', () => {
  const cases = torchFixtureCases();
  it(`${cases.length} cases`, () => {
    const bad: string[] = [];
    for (const c of cases) {
      try {
        expectClose(referenceOf(c), c.expected, 'float64', c.id);
      } catch (err) {
        bad.push((err as Error).message);
      }
    }
    expect(bad, bad.slice(0, 10).join('\n')).toEqual([]);
  });
});
