/**
 * Shared by the CPU and GPU tests of linearCrossEntropy: random cases, running a case through a
 * Losses object, tolerances that follow the logits' own float32 error, and comparisons against a
 * float64 expectation (PyTorch's fixtures or test/linear-reference.ts).
 */
import { expect } from 'vitest';
import { encodeHalf } from '../src/index.js';
import type { HalfTensor, HostTensor, LinearCrossEntropyOptions, Losses, TensorInput } from '../src/index.js';
import { decodeBits } from './half.js';
import type { LinearCase, LinearOptions } from './linear-fixtures.js';
import { linearCrossEntropyRef } from './linear-reference.js';
import { randn, Rng } from './rng.js';

const EPS32 = 2 ** -24;

/** A random case: hidden ~ N(0, 1), weight ~ N(0, 1/√D)·scale, bias ~ N(0, 0.5), some rows ignored. */
export function randomCase(rng: Rng, N: number, D: number, V: number, options: LinearOptions = {}, o: { bias?: boolean; ignored?: number; scale?: number } = {}): LinearCase {
  const target = new Int32Array(N);
  for (let i = 0; i < N; i++) target[i] = rng.next() < (o.ignored ?? 0) ? (options.ignoreIndex ?? -100) : rng.int(0, V);
  const c = {
    name: `random N${N} D${D} V${V} ${JSON.stringify(options)}${o.bias ? ' bias' : ''}`,
    N, D, V, target, options,
    hidden: randn(rng, N * D),
    weight: randn(rng, V * D, (o.scale ?? 1) / Math.sqrt(Math.max(1, D))),
    bias: o.bias ? randn(rng, V, 0.5) : undefined,
    gradOutput: options.reduction === 'none' ? randn(rng, N) : undefined,
  };
  return { ...c, expected: linearCrossEntropyRef(c) };
}

/** The float32 values a half encoding holds, as a case of its own (the reference then sees exactly the inputs). */
export function halfCase(c: LinearCase, hd: 'float16' | 'bfloat16', wd: 'float16' | 'bfloat16'): { c: LinearCase; hidden: HalfTensor; weight: HalfTensor } {
  const hidden: HalfTensor = { data: encodeHalf(c.hidden, hd), shape: [c.N, c.D], dtype: hd };
  const weight: HalfTensor = { data: encodeHalf(c.weight, wd), shape: [c.V, c.D], dtype: wd };
  const decoded = { ...c, hidden: decodeBits(hidden.data, hd), weight: decodeBits(weight.data, wd) };
  return { c: { ...decoded, expected: linearCrossEntropyRef(decoded) }, hidden, weight };
}

/**
 * A relative tolerance for the case: float32 logits carry an error of a few ulp of Σ_d |h·w| + |b|,
 * which moves every probability, loss and gradient by about as much; never below `floor`.
 */
export function tolerance(c: LinearCase, floor = 2e-5): number {
  let scale = 0;
  for (let r = 0; r < c.N; r++) {
    for (let v = 0; v < c.V; v++) {
      let s = c.bias ? Math.abs(c.bias[v]) : 0;
      for (let d = 0; d < c.D; d++) s += Math.abs(c.hidden[r * c.D + d] * c.weight[v * c.D + d]);
      scale = Math.max(scale, s);
    }
  }
  return Math.max(floor, 8 * Math.sqrt(Math.max(1, c.D)) * EPS32 * scale);
}

export interface Got {
  loss: number | Float32Array;
  grad?: { hidden: Float32Array; weight: Float32Array; bias?: Float32Array };
}

/** The result as host float32 arrays (half results decoded by the caller beforehand). */
function hostData(t: HostTensor | HalfTensor | unknown): Float32Array {
  const d = (t as HostTensor).data;
  if (!(d instanceof Float32Array)) throw new Error(`expected float32 host data, got ${Object.prototype.toString.call(d)}`);
  return d;
}

/** Runs the case (float32 host operands unless given) with or without gradients. */
export async function runLinear(l: Losses, c: LinearCase, grad: boolean, extra: Partial<LinearCrossEntropyOptions> = {},
  operands: { hidden?: TensorInput; weight?: TensorInput } = {}): Promise<Got> {
  const options: LinearCrossEntropyOptions = {
    ...c.options, ...(c.bias ? { bias: c.bias } : {}), ...(grad ? { grad: true } : {}),
    ...(grad && c.gradOutput ? { gradOutput: c.gradOutput } : {}), ...extra,
  };
  const res = (await l.linearCrossEntropy(operands.hidden ?? { data: c.hidden, shape: [c.N, c.D] }, operands.weight ?? { data: c.weight, shape: [c.V, c.D] }, c.target, options)) as unknown;
  const lossOf = (v: unknown) => (typeof v === 'number' ? v : hostData(v));
  if (!grad) return { loss: lossOf(res) };
  const r = res as { loss: unknown; grad: { hidden: unknown; weight: unknown; bias?: unknown } };
  return { loss: lossOf(r.loss), grad: { hidden: hostData(r.grad.hidden), weight: hostData(r.grad.weight), bias: r.grad.bias === undefined ? undefined : hostData(r.grad.bias) } };
}

/** |got − want| ≤ tol·max(1, max |want|) element by element (NaN only where want is NaN); names the worst element. */
export function expectClose(what: string, got: ArrayLike<number> | number, want: ArrayLike<number> | number, tol: number): void {
  const g = typeof got === 'number' ? [got] : got, w = typeof want === 'number' ? [want] : want;
  expect(g.length, `${what}: length`).toBe(w.length);
  let top = 1;
  for (let i = 0; i < w.length; i++) if (Number.isFinite(w[i])) top = Math.max(top, Math.abs(w[i]));
  let worst = -1, err = 0;
  for (let i = 0; i < w.length; i++) {
    if (Number.isNaN(w[i]) || Number.isNaN(g[i])) {
      if (Number.isNaN(w[i]) !== Number.isNaN(g[i])) throw new Error(`${what}[${i}]: got ${g[i]}, want ${w[i]}`);
      continue;
    }
    const e = Math.abs(g[i] - w[i]);
    if (!(e <= err)) {
      err = e;
      worst = i;
    }
  }
  if (err > tol * top) throw new Error(`${what}[${worst}]: got ${g[worst]}, want ${w[worst]} (error ${err.toExponential(2)} > ${tol.toExponential(1)}·${top.toPrecision(3)})`);
}

/** The result against a float64 expectation (the case's own unless given). */
export function expectCase(c: LinearCase, got: Got, tol = tolerance(c), want = c.expected): void {
  expectClose(`${c.name}: loss`, got.loss, want.loss, tol);
  if (!got.grad) return;
  expectClose(`${c.name}: grad hidden`, got.grad.hidden, want.grad.hidden, tol);
  expectClose(`${c.name}: grad weight`, got.grad.weight, want.grad.weight, tol);
  if (c.bias) expectClose(`${c.name}: grad bias`, got.grad.bias!, want.grad.bias!, tol);
  else expect(got.grad.bias, `${c.name}: no bias, no bias gradient`).toBeUndefined();
}
