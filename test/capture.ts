/**
 * Inputs are captured when a call is made: each scenario calls a method, then at once overwrites
 * every array it passed (with values that would change the answer, or that validation would
 * reject), and requires the answer of the untouched inputs, bit for bit. The cross-entropy case is
 * also held against the float64 reference. Browser-safe (no Node imports): the headless-Chromium
 * page runs the same checks.
 */
import type { HostTensor, Losses } from '../src/index.js';
import { crossEntropy as crossEntropyRef } from './reference.js';

type Any = Record<string, unknown>;
interface Scenario {
  name: string;
  /** Fresh arguments each time. */
  args(): unknown[];
  /** Overwrites what `args` returned, in place. */
  mutate(args: unknown[]): void;
}

function rand(n: number, seed: number, lo = -3, hi = 3): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return out;
}
const probs = (n: number, seed: number) => rand(n, seed, 0, 1);
const t = (data: Float32Array, shape: number[]) => ({ data, shape });
/** Float32 values as bfloat16 bits (truncated: any bits do; the reference is the run on untouched ones). */
const bf16 = (v: Float32Array) => Uint16Array.from(new Uint32Array(v.buffer), (w) => w >>> 16);
const junk = (a: unknown) => {
  if (a instanceof Float32Array) a.fill(5);
  else if (a instanceof Int32Array) a.fill(1e6);
  else if (a instanceof Uint16Array) a.fill(0x7f80); // +inf in bfloat16
  else if (a instanceof BigInt64Array) a.fill(1n << 40n);
  else if (a && typeof a === 'object') {
    const o = a as Any;
    if (Array.isArray(o.shape)) (o.shape as number[]).push(7);
    junk(o.data);
    for (const k of ['weight', 'posWeight', 'gradOutput']) if (k in o) junk(o[k]);
  }
};
const junkAll = (args: unknown[]) => args.forEach(junk);

export const SCENARIOS: Scenario[] = [
  { name: 'crossEntropy, index targets, weights', args: () => [t(rand(12, 1), [4, 3]), new Int32Array([0, 2, 1, 2]), { weight: probs(3, 2) }], mutate: junkAll },
  { name: 'crossEntropy, probability targets, gradient with gradOutput', args: () => [t(rand(12, 3), [4, 3]), probs(12, 4), { reduction: 'none', grad: true, gradOutput: rand(4, 5) }], mutate: junkAll },
  { name: 'crossEntropy, K-dim, smoothing, ignoreIndex', args: () => [t(rand(24, 6), [2, 3, 4]), { data: new Int32Array([0, 1, 2, -1, 2, 2, 1, 0]), shape: [2, 4] }, { labelSmoothing: 0.2, ignoreIndex: -1 }], mutate: junkAll },
  { name: 'nllLoss sum', args: () => [t(rand(15, 7), [5, 3]), new Int32Array([0, 1, 2, 1, 0]), { reduction: 'sum' }], mutate: junkAll },
  { name: 'binaryCrossEntropy (input set outside [0, 1] after the call)', args: () => [t(probs(8, 8), [2, 4]), probs(8, 9), { weight: probs(4, 10) }], mutate: junkAll },
  { name: 'binaryCrossEntropyWithLogits, posWeight, gradient', args: () => [t(rand(8, 11), [2, 4]), probs(8, 12), { posWeight: probs(4, 13), grad: true }], mutate: junkAll },
  { name: 'klDiv batchmean, log target', args: () => [t(rand(8, 14, -4, 0), [2, 4]), rand(8, 15, -4, 0), { reduction: 'batchmean', logTarget: true }], mutate: junkAll },
  { name: 'softmax dim 0', args: () => [t(rand(12, 16), [3, 4]), { dim: 0 }], mutate: junkAll },
  { name: 'logSoftmax', args: () => [t(rand(12, 17), [3, 4])], mutate: junkAll },
  { name: 'softmaxBackward', args: () => [t(probs(12, 18), [3, 4]), rand(12, 19)], mutate: junkAll },
  { name: 'logSoftmaxBackward', args: () => [t(rand(12, 20, -3, 0), [3, 4]), t(rand(12, 21), [3, 4])], mutate: junkAll },
  { name: 'entropy mean', args: () => [t(rand(12, 22), [3, 4]), { reduction: 'mean' }], mutate: junkAll },
  { name: 'sigmoid', args: () => [t(rand(9, 23), [9])], mutate: junkAll },
  {
    name: 'crossEntropy, bfloat16 input and int64 labels, half gradient',
    args: () => [{ data: bf16(rand(12, 24)), shape: [4, 3], dtype: 'bfloat16' }, new BigInt64Array([0n, 2n, 1n, 2n]), { grad: true }], mutate: junkAll,
  },
  {
    name: 'binaryCrossEntropyWithLogits, bfloat16 input, target and gradOutput',
    args: () => [{ data: bf16(rand(8, 25)), shape: [2, 4], dtype: 'bfloat16' }, { data: bf16(probs(8, 26)), shape: [2, 4], dtype: 'bfloat16' },
      { reduction: 'none', grad: true, gradOutput: { data: bf16(rand(8, 27)), shape: [2, 4], dtype: 'bfloat16' } }], mutate: junkAll,
  },
];

const METHOD_OF: Record<string, string> = {};
for (const s of SCENARIOS) METHOD_OF[s.name] = s.name.split(/[ ,]/)[0];

function call(losses: Losses, method: string, args: unknown[]): Promise<unknown> {
  return (losses as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method](...args);
}

/** Deep copy of plain arguments (typed arrays copied, objects and arrays recursed). */
function clone(v: unknown): unknown {
  if (ArrayBuffer.isView(v)) return (v as Float32Array).slice();
  if (Array.isArray(v)) return v.map(clone);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)]));
  return v;
}

/** '' when a and b are the same result bit for bit, else what differs. */
export function sameResult(a: unknown, b: unknown, path = 'result'): string {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)) ? '' : `${path}: ${a} vs ${b}`;
  if (a instanceof Float32Array && b instanceof Float32Array) {
    if (a.length !== b.length) return `${path}: length ${a.length} vs ${b.length}`;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return `${path}[${i}]: ${a[i]} vs ${b[i]}`;
    return '';
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = sameResult((a as Any)[k], (b as Any)[k], `${path}.${k}`);
      if (d) return d;
    }
    return '';
  }
  return Object.is(a, b) ? '' : `${path}: ${String(a)} vs ${String(b)}`;
}

/** Runs every scenario on `losses`; returns one line per failure (empty when inputs are captured). */
export async function captureChecks(losses: Losses): Promise<string[]> {
  const failures: string[] = [];
  for (const s of SCENARIOS) {
    const method = METHOD_OF[s.name];
    const expected = await call(losses, method, s.args());
    const args = s.args();
    const pending = call(losses, method, args);
    s.mutate(args);
    try {
      const got = await pending;
      const d = sameResult(got, expected);
      if (d) failures.push(`${s.name}: the answer changed when the inputs were overwritten after the call: ${d}`);
    } catch (e) {
      failures.push(`${s.name}: rejected after the inputs were overwritten post-call: ${String(e)}`);
    }
  }
  // Independent of the code under test: the first scenario against the float64 reference.
  const [x, target, opts] = clone(SCENARIOS[0].args()) as [HostTensor, Int32Array, { weight: Float32Array }];
  const ref = crossEntropyRef(x.data, x.shape, target, { weight: opts.weight }) as number;
  const args = SCENARIOS[0].args();
  const pending = call(losses, 'crossEntropy', args);
  junkAll(args);
  const got = (await pending) as number;
  if (!(Math.abs(got - ref) <= 2e-5 * Math.max(1, Math.abs(ref)))) failures.push(`crossEntropy: ${got} after mutation, float64 reference ${ref}`);
  return failures;
}
