/**
 * The WebGPU backend (Node + Dawn on SwiftShader) against the CPU oracle running the very same plan
 * (`createLosses({ backend: 'cpu', profile: gpuLosses.profile })`), over the shared case list of
 * test/cases.ts: per element |gpu − cpu| ≤ 1e-5·max(1, |cpu|), NaN/±Inf at the same positions, same
 * shapes. Every GPU run poisons its outputs with NaN first (so an element never written shows up as a
 * NaN the oracle does not have) and runs twice (results must be bitwise identical).
 *
 * Profiles reach every kernel family and dispatch path on the one SwiftShader adapter; chunked
 * batches come from a small `maxBindingBytes`; device tensors are uploaded by the test.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createLosses, LossError } from '../../src/index.js';
import type { AdapterProfile, Losses } from '../../src/index.js';
import { planRows } from '../../src/plan.js';
import { CASES, METHODS, compareResults, isLongRow, layout, materialize, numel, rowDim, runCase, sameBits } from '../cases.js';
import type { Case, Materialized, Result } from '../cases.js';
import { appDevice, expectNoFailures, oracleRun, profilesOf, readBack, toDevice, webgpuLosses } from './harness.js';

const opened: Losses[] = [];
let realProfile: AdapterProfile | undefined;

async function real(): Promise<AdapterProfile> {
  if (!realProfile) {
    const l = await webgpuLosses();
    realProfile = l.profile!;
    l.dispose();
    expect(realProfile.maxGroupsPerDim).toBeGreaterThan(0);
  }
  return realProfile;
}

/** The GPU facade for a named profile (cached) and its oracle. */
const pairs = new Map<string, Promise<{ gpu: Losses; cpu: Losses }>>();
function pair(name: string, make: (real: AdapterProfile) => Parameters<typeof createLosses>[0]): Promise<{ gpu: Losses; cpu: Losses }> {
  let p = pairs.get(name);
  if (!p) {
    p = (async () => {
      const g = await webgpuLosses(make(await real()));
      const c = await createLosses({ backend: 'cpu', profile: g.profile });
      opened.push(g, c);
      return { gpu: g, cpu: c };
    })();
    pairs.set(name, p);
  }
  return p;
}

afterAll(() => {
  for (const l of opened) l.dispose();
});

const regular = CASES.filter((c) => !c.tags.includes('huge'));

/** Classes of the case's rows (1 for element-wise methods). */
function classesOf(c: Case): number {
  const d = rowDim(c);
  return d === undefined ? 1 : layout(c.shape, d).C;
}

/**
 * Cases whose rows would each take a 256-lane workgroup with barriers (~0.5 ms a group on
 * SwiftShader): only the first such case per (method, target kind) runs under a workgroup profile.
 */
function affordable(cases: readonly Case[], p: AdapterProfile): Case[] {
  const seen = new Set<string>();
  return cases.filter((c) => {
    if (!isLongRow(c)) return true;
    const { rows, C } = layout(c.shape, rowDim(c)!);
    const plan = planRows(rows, C, p);
    if (plan.family !== 'workgroup' || rows <= 64) return true;
    const key = `${c.method}/${c.targetKind ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return rows <= 1000;
  });
}

function byMethod(cases: readonly Case[]): [string, Case[]][] {
  return METHODS.map((m) => [m, cases.filter((c) => c.method === m)] as [string, Case[]]).filter(([, cs]) => cs.length > 0);
}

// ------------------------------------------------------------------ every case, every profile

const PROFILE_NAMES = ['real', 'threadOnly', 'grid2d', 'workgroup', 'workgroupGrid2d'] as const;
const WORKGROUP_PROFILES = new Set(['workgroup', 'workgroupGrid2d']);

for (const name of PROFILE_NAMES) {
  describe(`profile ${name}`, () => {
    for (const [method, cs] of byMethod(regular)) {
      it(method, async () => {
        const { gpu, cpu } = await pair(name, (r) => ({ profile: profilesOf(r)[name] }));
        const todo = WORKGROUP_PROFILES.has(name) ? affordable(cs, gpu.profile!) : cs;
        expectNoFailures(await oracleRun(name, todo, gpu, cpu));
      });
    }
  });
}

it('the profiles reach every row family, two-dimensional grids and split rows', async () => {
  const r = await real();
  const ps = profilesOf(r);
  const families = new Set<string>();
  for (const [name, p] of Object.entries(ps)) {
    const run = WORKGROUP_PROFILES.has(name) ? affordable(regular, p) : regular;
    for (const c of run) {
      if (!isLongRow(c)) continue;
      const { rows, C } = layout(c.shape, rowDim(c)!);
      const plan = planRows(rows, C, p);
      families.add(`${plan.family}${plan.splits > 1 ? ':split' : ''}${p.emulated ? ':emu' : ''}`);
    }
  }
  for (const f of ['thread:emu', 'subgroup:emu', 'split:split:emu', 'workgroup', 'split:split']) expect(families, f).toContain(f);
  // The adapter really is the one DESIGN.md §6 describes (otherwise these profiles mean something else).
  expect(r.emulated).toBe(true);
  expect(r.subgroupSize).toBe(4);
});

// ------------------------------------------------------------------ more than 65535 workgroups

it('more than maxComputeWorkgroupsPerDimension workgroups (element-wise, 70000×256)', async () => {
  const { gpu, cpu } = await pair('real', (r) => ({ profile: profilesOf(r).real }));
  const huge = CASES.filter((c) => c.tags.includes('huge'));
  expect(huge.length).toBeGreaterThan(0);
  for (const c of huge) expect(numel(c.shape) / 256).toBeGreaterThan(gpu.profile!.maxGroupsPerDim);
  expectNoFailures(await oracleRun('real', huge, gpu, cpu));
});

// ------------------------------------------------------------------ chunked batches

/** Cases big enough to be cut into several chunks whose one slice (C·inner) fits the binding. */
function chunkable(maxBytes: number): Case[] {
  const maxFloats = Math.floor(maxBytes / 4) - 64;
  return regular.filter((c) => {
    const n = numel(c.shape);
    if (n < 3 * maxFloats / 2) return false;
    const d = rowDim(c);
    if (d === undefined) return true;
    const { C, inner } = layout(c.shape, d);
    return C * inner <= maxFloats;
  });
}

describe('chunked batches (small maxBindingBytes)', () => {
  for (const [label, bytes, profile] of [['64KiB', 65536, 'real'], ['odd', 40028, 'real'], ['64KiB', 65536, 'workgroup']] as const) {
    it(`${label} binding, ${profile} profile`, async () => {
      const { gpu, cpu } = await pair(`chunk-${label}-${profile}`, (r) => ({ profile: profilesOf(r)[profile], maxBindingBytes: bytes }));
      expect(gpu.profile!.maxBindingBytes).toBe(bytes);
      let cs = chunkable(bytes);
      if (profile === 'workgroup') cs = affordable(cs, gpu.profile!);
      expect(cs.filter((c) => rowDim(c) !== undefined).length).toBeGreaterThan(10);
      expect(cs.some((c) => numel(c.shape) > 40 * bytes / 4)).toBe(true);
      expectNoFailures(await oracleRun(`chunk-${label}-${profile}`, cs, gpu, cpu));
    });
  }

  it('a row longer than the binding rejects with a LossError (never a truncated answer)', async () => {
    const { gpu } = await pair('chunk-64KiB-real', (r) => ({ profile: profilesOf(r).real, maxBindingBytes: 65536 }));
    const x = { data: new Float32Array(20000).fill(0.5), shape: [1, 20000] };
    const err = await gpu.softmax(x).then(() => null, (e: unknown) => e);
    if (err === null) {
      // Splitting such a row is also fine, as long as the answer is right.
      const ok = await gpu.softmax(x);
      expect(compareResults(ok, await (await createLosses({ backend: 'cpu', profile: gpu.profile })).softmax(x))).toBeNull();
    } else {
      expect(err).toBeInstanceOf(LossError);
    }
  });
});

// ------------------------------------------------------------------ device tensors

describe('device tensors (an app device; inputs uploaded with writeBuffer)', () => {
  let device: GPUDevice;
  let losses: Losses;
  let cpu: Losses;
  const owned: GPUBuffer[] = [];

  async function setup() {
    if (!losses) {
      device = await appDevice();
      losses = await createLosses({ backend: 'webgpu', device, poison: true });
      expect(losses.backend).toBe('webgpu');
      expect(losses.device).toBe(device);
      cpu = await createLosses({ backend: 'cpu', profile: losses.profile });
      opened.push(losses, cpu);
    }
  }
  afterAll(() => {
    for (const b of owned) b.destroy();
    device?.destroy();
  });

  for (const [method, cs] of byMethod(regular)) {
    it(`${method}: x and targets as device tensors, same answer as host inputs`, async () => {
      await setup();
      const failures: string[] = [];
      for (const c of cs) {
        const expected = await runCase(cpu, c);
        const host = await runCase(losses, c);
        const onDevice = () => {
          const m = toDevice(device, materialize(c), owned);
          return runCase(losses, c, m);
        };
        let a: Result;
        try {
          a = await onDevice();
        } catch (e) {
          failures.push(`device ${c.id}: rejected: ${String(e)}`);
          continue;
        }
        const m = compareResults(a, expected);
        if (m) failures.push(`device ${c.id}: ${m.message}`);
        const d = sameBits(a, host);
        if (d) failures.push(`device ${c.id}: differs from the host-input GPU run: ${d}`);
        const b = await onDevice();
        const r = sameBits(a, b);
        if (r) failures.push(`device ${c.id}: not reproducible: ${r}`);
        // Free the uploads as we go: a few hundred cases would otherwise hold them all.
        for (const buf of owned.splice(0)) buf.destroy();
      }
      expectNoFailures({ failures, ran: cs.length });
    });
  }

  it("output: 'device' gives buffers holding the host answer bit for bit", async () => {
    await setup();
    const failures: string[] = [];
    const cs = regular.filter((c) => !c.tags.includes('big') && (c.options.reduction === 'none' || c.options.grad ||
      ['softmax', 'logSoftmax', 'sigmoid', 'softmaxBackward', 'logSoftmaxBackward'].includes(c.method) ||
      (c.method === 'entropy' && c.options.reduction === undefined)));
    expect(cs.length).toBeGreaterThan(100);
    for (const c of cs) {
      const host = await runCase(losses, c);
      const m: Materialized = materialize(c);
      m.options = { ...m.options, output: 'device' };
      let res: unknown;
      try {
        res = await runCase(losses, c, m);
      } catch (e) {
        failures.push(`output=device ${c.id}: rejected: ${String(e)}`);
        continue;
      }
      const back = await hostOf(device, res);
      const d = back === null ? 'result is not a device tensor' : sameBits(back, host);
      if (d) failures.push(`output=device ${c.id}: ${d}`);
    }
    expectNoFailures({ failures, ran: cs.length });
  });
});

/** Reads device tensors of a result (with output: 'device') back to host tensors; destroys them. */
async function hostOf(device: GPUDevice, r: unknown): Promise<Result | null> {
  if (typeof r === 'number') return r;
  if (r && typeof r === 'object' && 'loss' in r && 'grad' in r) {
    const g = r as { loss: unknown; grad: unknown };
    const loss = await hostOf(device, g.loss), grad = await hostOf(device, g.grad);
    if (loss === null || grad === null || typeof grad === 'number') return null;
    return { loss: loss as number, grad: grad as { data: Float32Array; shape: number[] } };
  }
  if (r && typeof r === 'object' && 'buffer' in r && 'shape' in r) {
    const t = r as { buffer: GPUBuffer; shape: number[]; dtype?: string };
    if ((t.dtype ?? 'float32') !== 'float32') return null;
    const data = await readBack(device, t.buffer, numel(t.shape));
    t.buffer.destroy();
    return { data, shape: [...t.shape] };
  }
  return null;
}
