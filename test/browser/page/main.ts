/**
 * The browser side of test/browser/browser.test.ts: served by Vite (root test/browser/page), it
 * imports the library from its sources, src/index.ts (WGSL through `?raw`), and the shared case list, and exposes
 *   window.setup()          → createLosses() (backend 'auto'), reporting backend, profile, adapter
 *   window.runCases(ids)    → each case's result, JSON-safe (NaN/±Infinity encoded), or its error
 *   window.captureChecks()  → failures of the inputs-captured-at-call-time scenarios (test/capture.ts)
 *   window.float16Checks()  → failures of Float16Array inputs (Chromium has Float16Array; Node 20 does not)
 */
import { createLosses } from '../../../src/index.js';
import type { HostTensor, Losses } from '../../../src/index.js';
import { captureChecks } from '../../capture.js';
import { caseById, encodeResult, runCase } from '../../cases.js';
import type { Encoded } from '../../cases.js';

interface SetupInfo {
  backend: string;
  profile: unknown;
  hasNavigatorGpu: boolean;
  adapter: null | { vendor: string; architecture: string; device: string; description: string; features: string[] };
}

let losses: Losses | undefined;

async function setup(): Promise<SetupInfo> {
  losses?.dispose();
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  let adapter: SetupInfo['adapter'] = null;
  if (gpu) {
    const a = await gpu.requestAdapter();
    if (a) adapter = { vendor: a.info.vendor, architecture: a.info.architecture, device: a.info.device, description: a.info.description, features: [...a.features] as string[] };
  }
  losses = await createLosses();
  return { backend: losses.backend, profile: losses.profile ?? null, hasNavigatorGpu: !!gpu, adapter };
}

async function runCases(ids: string[]): Promise<{ id: string; result: Encoded; ms: number }[]> {
  if (!losses) throw new Error('call setup() first');
  const out: { id: string; result: Encoded; ms: number }[] = [];
  for (const id of ids) {
    const t0 = performance.now();
    let result: Encoded;
    try {
      result = encodeResult(await runCase(losses, caseById(id)));
    } catch (e) {
      result = { kind: 'error', name: e instanceof Error ? e.name : typeof e, message: e instanceof Error ? e.message : String(e) };
    }
    out.push({ id, result, ms: performance.now() - t0 });
  }
  return out;
}

async function captures(): Promise<string[]> {
  if (!losses) throw new Error('call setup() first');
  return captureChecks(losses);
}

/**
 * Float16Array in, Float16Array out: each result equals, bit for bit, the result of the same bits as
 * a Uint16Array, and (with outputDtype 'float32') the float32 result on the values as the runtime
 * itself widens them (Float32Array.from), on this page's backend.
 */
async function float16Checks(): Promise<string[]> {
  if (!losses) throw new Error('call setup() first');
  const L = losses;
  const F16 = (globalThis as unknown as { Float16Array?: new (n: number) => ArrayBufferView & ArrayLike<number> & { [i: number]: number; fill(v: number): unknown } }).Float16Array;
  if (!F16) return ['this browser has no Float16Array'];
  const failures: string[] = [];
  const [N, C] = [7, 33];
  const f16 = new F16(N * C);
  for (let i = 0; i < f16.length; i++) f16[i] = Math.sin(i * 12.9898) * 6;
  const bits = new Uint16Array(f16.buffer.slice(0));
  const wide = Float32Array.from(f16);
  const labels = Int32Array.from({ length: N }, (_, i) => (i * 5) % C);
  const same = (what: string, a: ArrayLike<number>, b: ArrayLike<number>) => {
    const bad = Array.from(a).findIndex((v, i) => !Object.is(v, b[i]));
    if (a.length !== b.length || bad >= 0) failures.push(`${L.backend} ${what}: element ${bad} differs (${a[bad]} vs ${b[bad]})`);
  };
  const asBits = (d: ArrayBufferView) => new Uint16Array(d.buffer, d.byteOffset, d.byteLength / 2);
  // typed as float32 only for the compiler (this lib has no Float16Array type): the values are float16
  const x = { data: f16, shape: [N, C] } as unknown as HostTensor;
  const sm = await L.softmax(x);
  if (Object.prototype.toString.call(sm.data) !== '[object Float16Array]') failures.push(`${L.backend} softmax of a Float16Array gave ${Object.prototype.toString.call(sm.data)}`);
  same('softmax, Float16Array vs bits', asBits(sm.data), (await L.softmax({ data: bits, shape: [N, C], dtype: 'float16' })).data);
  same('softmax, float32 output vs float32 input', (await L.softmax(x, { outputDtype: 'float32' })).data, (await L.softmax({ data: wide, shape: [N, C] })).data);
  const ce = await L.crossEntropy(x, labels, { grad: true });
  const ce32 = await L.crossEntropy({ data: wide, shape: [N, C] }, labels, { grad: true });
  same('crossEntropy loss', [ce.loss], [ce32.loss]);
  same('crossEntropy grad, Float16Array vs bits', asBits(ce.grad.data), (await L.crossEntropy({ data: bits, shape: [N, C], dtype: 'float16' }, labels, { grad: true })).grad.data);
  const bce = await L.binaryCrossEntropyWithLogits(x, new F16(N * C).fill(0.25) as unknown as Float32Array, { reduction: 'none', outputDtype: 'float32' });
  same('BCE with logits, float32 output', bce.data, (await L.binaryCrossEntropyWithLogits({ data: wide, shape: [N, C] }, new Float32Array(N * C).fill(0.25), { reduction: 'none' })).data);
  return failures;
}

Object.assign(window, { setup, runCases, captureChecks: captures, float16Checks });
document.getElementById('status')!.textContent = 'ready';
