/**
 * Helpers of the Node + Dawn GPU tests: the `GPU` object (kept referenced for the whole file, a
 * collected one aborts the process), devices of our own, the adapter profiles that reach every
 * kernel family on SwiftShader, uploads into device tensors, and the oracle loop.
 */
import { expect } from 'vitest';
import { create } from 'webgpu';
import { createLosses } from '../../src/index.js';
import type { AdapterProfile, DeviceTensor, Losses } from '../../src/index.js';
import { compareResults, materialize, runCase, sameBits } from '../cases.js';
import type { Case, Materialized, Result } from '../cases.js';
import type { HostTensor } from '../../src/index.js';

/** One GPU object per test file, referenced from module scope for as long as the process lives. */
export const gpu: GPU = create([]);

export const STORAGE = 128, COPY_DST = 8, COPY_SRC = 4, MAP_READ = 1;

/** An adapter or a loud failure (a GPU test that cannot find an adapter fails, it is not skipped). */
export async function adapterOrFail(): Promise<GPUAdapter> {
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error(`no WebGPU adapter: is VK_ICD_FILENAMES (${process.env.VK_ICD_FILENAMES}) a driver that is installed, and libvulkan1? (README.md, "WebGPU without a GPU")`);
  // The vitest project names the adapter it means to test (vitest.config.ts); another one must not pass for it.
  const want = process.env.WGL_ADAPTER;
  const info = adapter.info;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  if (want && !text.includes(want)) throw new Error(`expected the ${want} adapter (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES}), got: ${text}`);
  return adapter;
}

/** A device of the test's own (the app's device, from the library's point of view). */
export async function appDevice(): Promise<GPUDevice> {
  const adapter = await adapterOrFail();
  return adapter.requestDevice({
    requiredFeatures: adapter.features.has('subgroups') ? ['subgroups' as GPUFeatureName] : [],
    requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
  });
}

export async function webgpuLosses(options: Parameters<typeof createLosses>[0] = {}): Promise<Losses> {
  await adapterOrFail();
  const l = await createLosses({ backend: 'webgpu', gpu, poison: true, ...options });
  expect(l.backend).toBe('webgpu');
  expect(l.profile).toBeDefined();
  return l;
}

/** The profiles the oracle runs under; each reaches a different kernel family or dispatch path. */
export function profilesOf(real: AdapterProfile): Record<string, AdapterProfile> {
  return {
    // SwiftShader as it is: emulated, subgroups of 4 (thread / subgroup / subgroup-split families).
    real,
    // A "real GPU" without usable subgroups: 256-lane workgroups with a shared-memory tree, 256-lane split.
    workgroup: { emulated: false, subgroupSize: 0, maxGroupsPerDim: real.maxGroupsPerDim, maxBindingBytes: real.maxBindingBytes },
    // An emulated adapter without subgroups: one invocation per row for every C.
    threadOnly: { ...real, subgroupSize: 0 },
    // Two-dimensional dispatch everywhere, with a grid that overshoots (61 and 53 are prime; 53² covers the largest grid of the list).
    grid2d: { ...real, maxGroupsPerDim: 61 },
    workgroupGrid2d: { emulated: false, subgroupSize: 0, maxGroupsPerDim: 53, maxBindingBytes: real.maxBindingBytes },
  };
}

export interface Outcome {
  failures: string[];
  ran: number;
}

async function settle(p: Promise<Result>): Promise<{ ok: true; value: Result } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error };
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * Runs each case on `gpuLosses` (twice: results must be bitwise identical) and on the CPU oracle
 * `cpuLosses` (same plan), and returns a failure line per case that differs. `prepare` can turn the
 * host inputs into device tensors.
 */
export async function oracleRun(label: string, cases: readonly Case[], gpuLosses: Losses, cpuLosses: Losses, opts: {
  twice?: boolean;
  prepare?: (c: Case, m: Materialized) => Materialized;
} = {}): Promise<Outcome> {
  const failures: string[] = [];
  const timing = typeof process !== 'undefined' && process.env.ORACLE_TIMING;
  for (const c of cases) {
    const t0 = performance.now();
    const exp = await settle(runCase(cpuLosses, c));
    const run = () => {
      const m = runCaseInputs(c, opts.prepare);
      return settle(runCase(gpuLosses, c, m));
    };
    const a = await run();
    if (!exp.ok) {
      failures.push(`${label} ${c.id}: the CPU oracle rejected (${errText(exp.error)})${a.ok ? ', the GPU did not' : ''}`);
      continue;
    }
    if (!a.ok) {
      failures.push(`${label} ${c.id}: GPU rejected: ${errText(a.error)}`);
      continue;
    }
    const m = compareResults(a.value, exp.value);
    if (m) failures.push(`${label} ${c.id}: ${m.message}`);
    if (opts.twice !== false) {
      const b = await run();
      if (!b.ok) failures.push(`${label} ${c.id}: second GPU run rejected: ${errText(b.error)}`);
      else {
        const d = sameBits(a.value, b.value);
        if (d) failures.push(`${label} ${c.id}: not reproducible: ${d}`);
      }
    }
    if (timing && performance.now() - t0 > 300) console.log(`${label} ${c.id}: ${(performance.now() - t0).toFixed(0)} ms`);
  }
  return { failures, ran: cases.length };
}

/** Fresh inputs for every run (inPlace cases overwrite theirs). */
function runCaseInputs(c: Case, prepare?: (c: Case, m: Materialized) => Materialized): Materialized {
  return prepare ? prepare(c, materialize(c)) : materialize(c);
}

/** Fails the test with every failure line (all of them, so one run shows the whole picture). */
export function expectNoFailures(o: Outcome): void {
  expect(o.ran, 'no case ran').toBeGreaterThan(0);
  if (o.failures.length) {
    throw new Error(`${o.failures.length} of ${o.ran} cases failed:\n${o.failures.join('\n')}`);
  }
}

// ------------------------------------------------------------------ device tensors

/** Uploads host data into a fresh STORAGE | COPY_DST (| COPY_SRC) buffer of `device`. */
export function upload(device: GPUDevice, data: Float32Array | Int32Array, owned: GPUBuffer[]): GPUBuffer {
  const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
  const b = device.createBuffer({ size, usage: STORAGE | COPY_DST | COPY_SRC });
  device.queue.writeBuffer(b, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  owned.push(b);
  return b;
}

/** Reads `floats` floats of a buffer back to the host. */
export async function readBack(device: GPUDevice, buffer: GPUBuffer, floats: number): Promise<Float32Array> {
  const bytes = Math.max(4, floats * 4);
  const staging = device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: MAP_READ | COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(MAP_READ);
  const out = new Float32Array(staging.getMappedRange().slice(0, floats * 4));
  staging.unmap();
  staging.destroy();
  return out;
}

/** Turns the host input and target of a materialised case into device tensors of `device`. */
export function toDevice(device: GPUDevice, m: Materialized, owned: GPUBuffer[]): Materialized {
  const x = m.x as { data: Float32Array; shape: number[] };
  const out: Materialized = { ...m, x: { buffer: upload(device, x.data, owned), shape: x.shape, dtype: 'float32' } };
  const t = m.target;
  if (t instanceof Int32Array) out.target = { buffer: upload(device, t, owned), shape: shapeOfIndex(m, t.length), dtype: 'int32' } as DeviceTensor;
  else if (t instanceof Float32Array) out.target = { buffer: upload(device, t, owned), shape: x.shape, dtype: 'float32' } as DeviceTensor;
  else if (t && 'data' in t) {
    out.target = { buffer: upload(device, t.data as Float32Array | Int32Array, owned), shape: [...t.shape], dtype: t.data instanceof Int32Array ? 'int32' : 'float32' } as DeviceTensor;
  }
  return out;
}

function shapeOfIndex(m: Materialized, n: number): number[] {
  const s = (m.x as unknown as { shape: number[] }).shape;
  if (s.length <= 1) return [];
  const t = s.filter((_, i) => i !== 1);
  if (t.reduce((a, b) => a * b, 1) !== n) throw new Error('index target length does not match the input');
  return t;
}

/** Reads the device tensors of a result (output 'device') back into host tensors, then destroys them. */
export async function hostOf(device: GPUDevice, r: unknown): Promise<Result | null> {
  if (typeof r === 'number') return r;
  if (r && typeof r === 'object' && 'loss' in r && 'grad' in r) {
    const g = r as { loss: unknown; grad: unknown };
    const loss = await hostOf(device, g.loss), grad = await hostOf(device, g.grad);
    if (loss === null || grad === null || typeof grad === 'number' || 'loss' in grad) return null;
    return { loss: loss as number | HostTensor, grad };
  }
  if (r && typeof r === 'object' && 'buffer' in r && 'shape' in r) {
    const t = r as { buffer: GPUBuffer; shape: number[]; dtype?: string };
    if ((t.dtype ?? 'float32') !== 'float32') return null;
    const data = await readBack(device, t.buffer, t.shape.reduce((a, b) => a * b, 1));
    t.buffer.destroy();
    return { data, shape: [...t.shape] };
  }
  return null;
}
