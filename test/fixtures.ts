/**
 * The PyTorch fixtures (test/fixtures/torch/*.json, written by scripts/torch-fixtures.py): loading,
 * running a case on any `Losses` (CPU or WebGPU backend), and the tolerances of docs/ARCHITECTURE.md, "The plan and the numerics contract".
 *
 * Reuse from a GPU test:
 *   for (const c of torchFixtureCases()) it(c.id, async () => {
 *     expectClose(await runFixtureCase(gpuLosses, c), c.expected, toleranceOf(c.op), c.id);
 *   });
 * `decodeFixtureFile` is the pure part (for a bundler that imports the JSON instead of reading files).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HostTensor, Losses } from '../src/index.js';

export type OpName =
  | 'softmax' | 'logSoftmax' | 'sigmoid' | 'entropy' | 'crossEntropy' | 'nllLoss'
  | 'binaryCrossEntropy' | 'binaryCrossEntropyWithLogits' | 'klDiv';

export const OPS: readonly OpName[] = [
  'softmax', 'logSoftmax', 'sigmoid', 'entropy', 'crossEntropy', 'nllLoss',
  'binaryCrossEntropy', 'binaryCrossEntropyWithLogits', 'klDiv',
];

/** An expected value: a number for a reduced loss, a tensor (float64 values) otherwise. */
export type Expected = number | { data: ArrayLike<number>; shape: readonly number[] };

export interface FixtureCase {
  op: OpName;
  name: string;
  /** `${op} ${name}`, unique across all files. */
  id: string;
  input: HostTensor;
  /** Class indices (Int32Array), probabilities/targets (Float32Array), bare or as a {data, shape} tensor. */
  target?: Int32Array | Float32Array | { data: Int32Array | Float32Array; shape: number[] };
  /** Library options, with weight/posWeight already turned into Float32Array or a HostTensor. */
  options: Record<string, unknown>;
  expected: Expected;
}

/** 'float64' (1e-9 relative, Float64Array allowed) is for checking the float64 reference itself against torch. */
export type ToleranceKind = 'loss' | 'prob' | 'float64';

/** Probabilities (softmax, sigmoid) get an absolute tolerance; everything else is a loss or a log-probability. */
export function toleranceOf(op: OpName): ToleranceKind {
  return op === 'softmax' || op === 'sigmoid' ? 'prob' : 'loss';
}

// ------------------------------------------------------------------ decoding

type JsonNum = number | 'NaN' | 'Infinity' | '-Infinity';

export function decodeNumber(v: JsonNum): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  throw new Error(`fixture: bad number ${JSON.stringify(v)}`);
}

function decodeArray(a: JsonNum[]): number[] {
  return a.map(decodeNumber);
}

function decodeF32Tensor(t: { data: JsonNum[]; shape: number[] }): HostTensor {
  return { data: new Float32Array(decodeArray(t.data)), shape: [...t.shape] };
}

function decodeWeight(w: unknown): Float32Array | HostTensor {
  if (Array.isArray(w)) return new Float32Array(decodeArray(w));
  if (w && typeof w === 'object' && 'data' in w && 'shape' in w) return decodeF32Tensor(w as { data: JsonNum[]; shape: number[] });
  throw new Error(`fixture: bad weight ${JSON.stringify(w)}`);
}

interface JsonCase {
  name: string;
  input: { data: JsonNum[]; shape: number[] };
  target?: { data: JsonNum[]; shape: number[]; dtype: 'int32' | 'float32'; asTensor?: boolean };
  options: Record<string, unknown>;
  expected: JsonNum | { data: JsonNum[]; shape: number[] };
}

interface JsonFile {
  op: OpName;
  torch: string;
  cases: JsonCase[];
}

/** Turns one parsed fixture file into runnable cases. */
export function decodeFixtureFile(file: JsonFile): FixtureCase[] {
  if (!OPS.includes(file.op)) throw new Error(`fixture: unknown op ${file.op}`);
  return file.cases.map((c) => {
    const options: Record<string, unknown> = { ...c.options };
    if ('weight' in options) options.weight = decodeWeight(options.weight);
    if ('posWeight' in options) options.posWeight = decodeWeight(options.posWeight);
    let target: FixtureCase['target'];
    if (c.target) {
      const data = c.target.dtype === 'int32'
        ? new Int32Array(c.target.data.map((v) => {
          if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`fixture ${c.name}: bad class index ${v}`);
          return v;
        }))
        : new Float32Array(decodeArray(c.target.data));
      target = c.target.asTensor ? { data, shape: [...c.target.shape] } : data;
    }
    const e = c.expected;
    const expected: Expected = typeof e === 'object' && e !== null
      ? { data: new Float64Array(decodeArray(e.data)), shape: [...e.shape] }
      : decodeNumber(e);
    const input = decodeF32Tensor(c.input);
    if (input.data.length !== input.shape.reduce((a, b) => a * b, 1)) throw new Error(`fixture ${c.name}: input length/shape mismatch`);
    return { op: file.op, name: c.name, id: `${file.op} ${c.name}`, input, target, options, expected };
  });
}

export const FIXTURE_DIR = fileURLToPath(new URL('./fixtures/torch/', import.meta.url));

/** Every case of every test/fixtures/torch/*.json, in file order (files sorted by name). */
export function torchFixtureCases(dir = FIXTURE_DIR): FixtureCase[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const cases = files.flatMap((f) => decodeFixtureFile(JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')) as JsonFile));
  const ids = new Set<string>();
  for (const c of cases) {
    if (ids.has(c.id)) throw new Error(`fixture: duplicate case ${c.id}`);
    ids.add(c.id);
  }
  return cases;
}

/** The torch version that produced the fixtures. */
export function torchFixtureVersion(dir = FIXTURE_DIR): string {
  const f = readdirSync(dir).filter((n) => n.endsWith('.json')).sort()[0];
  return (JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')) as JsonFile).torch;
}

// ------------------------------------------------------------------ running

/** Calls the library method that the case exercises and returns what it resolved to. */
export async function runFixtureCase(losses: Losses, c: FixtureCase): Promise<number | HostTensor> {
  const o = c.options as never;
  const t = c.target as never;
  switch (c.op) {
    case 'softmax': return losses.softmax(c.input, o);
    case 'logSoftmax': return losses.logSoftmax(c.input, o);
    case 'sigmoid': return losses.sigmoid(c.input);
    case 'entropy': return losses.entropy(c.input, o);
    case 'crossEntropy': return losses.crossEntropy(c.input, t, o);
    case 'nllLoss': return losses.nllLoss(c.input, t, o);
    case 'binaryCrossEntropy': return losses.binaryCrossEntropy(c.input, t, o);
    case 'binaryCrossEntropyWithLogits': return losses.binaryCrossEntropyWithLogits(c.input, t, o);
    case 'klDiv': return losses.klDiv(c.input, t, o);
  }
}

// ------------------------------------------------------------------ comparing

/** The docs/ARCHITECTURE.md, "The plan and the numerics contract" tolerance for one value. */
export function tolerance(expected: number, kind: ToleranceKind): number {
  if (kind === 'float64') return 1e-9 * Math.max(1, Math.abs(expected));
  return kind === 'prob' ? 1e-6 : 2e-5 * Math.max(1, Math.abs(expected));
}

/** Whether one actual value agrees with one expected value (non-finite values must match exactly). */
export function valueClose(a: number, e: number, kind: ToleranceKind): boolean {
  if (Number.isNaN(e)) return Number.isNaN(a);
  if (!Number.isFinite(e)) return a === e;
  if (!Number.isFinite(a)) return false;
  return Math.abs(a - e) <= tolerance(e, kind);
}

export function fmt(v: number): string {
  return Number.isFinite(v) ? v.toPrecision(9) : String(v);
}

/**
 * Describes how `actual` differs from `expected` under the tolerances of `kind`, or returns null when
 * they agree. A number must be expected as a number, a tensor as a tensor of exactly the same shape.
 */
export function compare(actual: unknown, expected: Expected, kind: ToleranceKind): string | null {
  if (typeof expected === 'number') {
    if (typeof actual !== 'number') return `expected a number, got ${describe(actual)}`;
    return valueClose(actual, expected, kind)
      ? null
      : `got ${fmt(actual)}, expected ${fmt(expected)} (|diff| ${fmt(Math.abs(actual - expected))} > tol ${fmt(tolerance(expected, kind))})`;
  }
  if (typeof actual !== 'object' || actual === null || !('data' in actual) || !('shape' in actual)) {
    return `expected a tensor of shape [${expected.shape}], got ${describe(actual)}`;
  }
  const { data, shape } = actual as { data: unknown; shape: unknown };
  if (!Array.isArray(shape) || shape.length !== expected.shape.length || shape.some((d, i) => d !== expected.shape[i])) {
    return `shape ${JSON.stringify(shape)} != expected [${expected.shape}]`;
  }
  if (!(data instanceof Float32Array) && !(kind === 'float64' && data instanceof Float64Array)) {
    return `data is ${describe(data)}, expected a Float32Array`;
  }
  if (data.length !== expected.data.length) return `data has ${data.length} elements, expected ${expected.data.length}`;
  const bad: string[] = [];
  let nBad = 0;
  for (let i = 0; i < data.length; i++) {
    if (!valueClose(data[i], expected.data[i], kind)) {
      nBad++;
      if (bad.length < 8) bad.push(`[${i}] got ${fmt(data[i])}, expected ${fmt(expected.data[i])}`);
    }
  }
  if (nBad === 0) return null;
  return `${nBad} of ${data.length} elements differ (${kind} tolerance): ${bad.join('; ')}${nBad > bad.length ? '; …' : ''}`;
}

/** A value as a failure message shows it. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'number') return `the number ${fmt(v)}`;
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (typeof v === 'object') return `an object with keys {${Object.keys(v).join(', ')}}`;
  return typeof v;
}

/** Throws (failing the test) with `context` in the message when `actual` is not close to `expected`. */
export function expectClose(actual: unknown, expected: Expected, kind: ToleranceKind, context = ''): void {
  const why = compare(actual, expected, kind);
  if (why !== null) throw new Error(`${context ? `${context}: ` : ''}${why}`);
}
