/**
 * The PyTorch autograd fixtures of issue 5 (test/fixtures/torch-grad/*.json, written by
 * scripts/torch-grad-fixtures.py): loading, running a case on any `Losses`, and comparing
 * `{ loss, grad }` with the tolerances of docs/ARCHITECTURE.md, "The plan and the numerics contract" (2e-5·max(1, |e|) for losses and for
 * gradients; NaN and ±inf must match exactly).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HostTensor, Losses } from '../src/index.js';
import { compare, decodeNumber } from './fixtures.js';
import type { Expected } from './fixtures.js';

export type GradOp =
  | 'crossEntropy' | 'nllLoss' | 'binaryCrossEntropy' | 'binaryCrossEntropyWithLogits' | 'klDiv'
  | 'softmaxBackward' | 'logSoftmaxBackward';

export const GRAD_OPS: readonly GradOp[] = [
  'crossEntropy', 'nllLoss', 'binaryCrossEntropy', 'binaryCrossEntropyWithLogits', 'klDiv',
  'softmaxBackward', 'logSoftmaxBackward',
];

type JsonNum = number | 'NaN' | 'Infinity' | '-Infinity';
interface JsonTensor { data: JsonNum[]; shape: number[] }

export interface GradCase {
  op: GradOp;
  name: string;
  id: string;
  input: HostTensor;
  /** Class indices, float targets, or dy (backward ops), bare or as a tensor. */
  target: Int32Array | Float32Array | { data: Int32Array | Float32Array; shape: number[] };
  /** Library options (grad: true, reduction, weight, gradOutput, …) decoded to typed arrays. */
  options: Record<string, unknown>;
  /** undefined for the backward ops (no loss); null where only the gradient is compared. */
  loss: Expected | null | undefined;
  grad: { data: Float64Array; shape: number[] };
  note?: string;
}

const dec = (a: JsonNum[]) => a.map(decodeNumber);
const f32t = (t: JsonTensor): HostTensor => ({ data: new Float32Array(dec(t.data)), shape: [...t.shape] });
const f64t = (t: JsonTensor) => ({ data: new Float64Array(dec(t.data)), shape: [...t.shape] });

function decodeFloats(v: unknown): Float32Array | HostTensor {
  if (Array.isArray(v)) return new Float32Array(dec(v as JsonNum[]));
  return f32t(v as JsonTensor);
}

export const GRAD_FIXTURE_DIR = fileURLToPath(new URL('./fixtures/torch-grad/', import.meta.url));

/** Every case of the fixture files of the ops, in file order. */
export function gradFixtureCases(dir = GRAD_FIXTURE_DIR): GradCase[] {
  const cases: GradCase[] = [];
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') && GRAD_OPS.includes(f.slice(0, -5) as GradOp)).sort();
  for (const f of files) {
    const file = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')) as { op: GradOp; cases: Record<string, any>[] };
    for (const c of file.cases) {
      const options: Record<string, unknown> = { ...c.options };
      for (const k of ['weight', 'posWeight', 'gradOutput']) if (k in options) options[k] = decodeFloats(options[k]);
      const t = c.target;
      const data = t.dtype === 'int32' ? new Int32Array(t.data as number[]) : new Float32Array(dec(t.data));
      const input = f32t(c.input);
      if (input.data.length !== input.shape.reduce((a, b) => a * b, 1)) throw new Error(`grad fixture ${c.name}: input length/shape mismatch`);
      const e = c.expected;
      let loss: GradCase['loss'];
      if (!('loss' in e)) loss = undefined;
      else if (e.loss === null) loss = null;
      else loss = typeof e.loss === 'object' ? f64t(e.loss) : decodeNumber(e.loss);
      cases.push({
        op: file.op, name: c.name, id: `${file.op} ${c.name}`, input,
        target: t.asTensor ? { data, shape: [...t.shape] } : data,
        options, loss, grad: f64t(e.grad), note: c.note,
      });
    }
  }
  const ids = new Set<string>();
  for (const c of cases) {
    if (ids.has(c.id)) throw new Error(`grad fixture: duplicate case ${c.id}`);
    ids.add(c.id);
  }
  return cases;
}

/** A fresh copy of a case's input (inPlace overwrites it). */
export function copyInput(c: GradCase): HostTensor {
  return { data: new Float32Array(c.input.data), shape: [...c.input.shape] };
}

/** Calls the library; resolves to `{ loss, grad }` (backward ops: `{ grad }`). */
export async function runGradCase(losses: Losses, c: GradCase, extra: Record<string, unknown> = {}, input = copyInput(c)): Promise<{ loss?: unknown; grad: unknown }> {
  const o = { ...c.options, ...extra } as never;
  const t = c.target as never;
  switch (c.op) {
    case 'softmaxBackward': return { grad: await losses.softmaxBackward(input, t, o) };
    case 'logSoftmaxBackward': return { grad: await losses.logSoftmaxBackward(input, t, o) };
    case 'crossEntropy': return (await losses.crossEntropy(input, t, o)) as never;
    case 'nllLoss': return (await losses.nllLoss(input, t, o)) as never;
    case 'binaryCrossEntropy': return (await losses.binaryCrossEntropy(input, t, o)) as never;
    case 'binaryCrossEntropyWithLogits': return (await losses.binaryCrossEntropyWithLogits(input, t, o)) as never;
    case 'klDiv': return (await losses.klDiv(input, t, o)) as never;
  }
}

/** null when `{ loss, grad }` agrees with the case's expectations, else what differs. */
export function compareGradCase(c: GradCase, actual: { loss?: unknown; grad: unknown }): string | null {
  const why: string[] = [];
  if (c.loss !== undefined && c.loss !== null) {
    const l = compare(actual.loss, c.loss, 'loss');
    if (l) why.push(`loss: ${l}`);
  }
  const g = compare(actual.grad, c.grad, 'loss');
  if (g) why.push(`grad: ${g}`);
  return why.length ? why.join('\n') : null;
}

export function expectGradCase(c: GradCase, actual: { loss?: unknown; grad: unknown }, context = c.id): void {
  const why = compareGradCase(c, actual);
  if (why !== null) throw new Error(`${context}:\n${why}`);
}

// ------------------------------------------------------------------ training data

export interface TrainingFixture {
  N: number; D: number; K: number; steps: number; lr: number;
  X: Float32Array; y: Int32Array; W0: Float32Array; b0: Float32Array;
  /** torch's float32 SGD: final weights, the loss before each step, the loss after the last. */
  float32: { W: Float32Array; b: Float32Array; losses: number[]; finalLoss: number };
  float64: { W: Float64Array; b: Float64Array; losses: number[]; finalLoss: number };
}

export function trainingFixture(dir = GRAD_FIXTURE_DIR): TrainingFixture {
  const j = JSON.parse(readFileSync(`${dir}/training.json`, 'utf8'));
  const run = (r: any, A: Float32ArrayConstructor | Float64ArrayConstructor) => ({
    W: new A(dec(r.W)), b: new A(dec(r.b)), losses: dec(r.losses), finalLoss: decodeNumber(r.finalLoss),
  });
  return {
    N: j.N, D: j.D, K: j.K, steps: j.steps, lr: j.lr,
    X: new Float32Array(dec(j.X)), y: new Int32Array(j.y), W0: new Float32Array(dec(j.W0)), b0: new Float32Array(dec(j.b0)),
    float32: run(j.float32, Float32Array) as TrainingFixture['float32'],
    float64: run(j.float64, Float64Array) as TrainingFixture['float64'],
  };
}
