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
import { adapterOrFail, appDevice, expectNoFailures, hostOf, oracleRun, profilesOf, toDevice, webgpuLosses } from './harness.js';

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

/**
 * Cases whose rows would each take a 256-lane workgroup with barriers cost ~3 ms a row on SwiftShader
 * (2 cores): under a workgroup profile only those with at most 64 rows run (the [40, 1000] and
 * [8, 300, 10] chunk cases stand for the batches).
 */
function affordable(cases: readonly Case[], p: AdapterProfile): Case[] {
  return cases.filter((c) => {
    if (!isLongRow(c)) return true;
    const { rows, C } = layout(c.shape, rowDim(c)!);
    return planRows(rows, C, p).family !== 'workgroup' || rows <= 64;
  });
}

/** The workgroups a case's main pass needs under a profile (row families, or 4 elements a lane and 64 lanes a group). */
function groupsOf(c: Case, p: AdapterProfile): number {
  const d = rowDim(c);
  if (d === undefined || c.method === 'nllLoss') {
    const rows = d === undefined ? numel(c.shape) / 256 : layout(c.shape, d).rows / 64;
    return Math.ceil(rows);
  }
  const { rows, C } = layout(c.shape, d);
  const plan = planRows(rows, C, p);
  return Math.ceil((rows * plan.splits * (plan.lanes / plan.unroll)) / plan.workgroupSize);
}

/** The cases each profile runs: all of them, or (grids) those whose grid goes two-dimensional. */
function casesFor(name: string, cs: readonly Case[], p: AdapterProfile): Case[] {
  if (name === 'workgroup') return affordable(cs, p);
  if (name === 'grid2d' || name === 'workgroupGrid2d') return affordable(cs, p).filter((c) => groupsOf(c, p) > p.maxGroupsPerDim);
  return [...cs];
}

function byMethod(cases: readonly Case[]): [string, Case[]][] {
  return METHODS.map((m) => [m, cases.filter((c) => c.method === m)] as [string, Case[]]).filter(([, cs]) => cs.length > 0);
}

// ------------------------------------------------------------------ every case, every profile

const PROFILE_NAMES = ['real', 'threadOnly', 'grid2d', 'workgroup', 'workgroupGrid2d'] as const;

for (const name of PROFILE_NAMES) {
  describe(`profile ${name}`, () => {
    for (const [method, cs] of byMethod(regular)) {
      it(method, async () => {
        const { gpu, cpu } = await pair(name, (r) => ({ profile: profilesOf(r)[name] }));
        const todo = casesFor(name, cs, gpu.profile!);
        if (todo.length === 0) return; // a grid profile with no two-dimensional grid for this method (checked below)
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
    const grid = name === 'grid2d' || name === 'workgroupGrid2d';
    for (const c of casesFor(name, regular, p)) {
      const d = rowDim(c);
      const kind = d === undefined ? 'elements' : c.method === 'nllLoss' ? 'gather' : (() => {
        const { rows, C } = layout(c.shape, d);
        const plan = planRows(rows, C, p);
        return `${plan.family}${plan.splits > 1 ? ':split' : ''}`;
      })();
      families.add(`${kind}${p.emulated ? ':emu' : ''}${grid ? ':2d' : ''}`);
    }
  }
  for (const f of [
    'thread:emu', 'subgroup:emu', 'split:split:emu', 'workgroup', 'split:split', // every row family
    'thread:emu:2d', 'subgroup:emu:2d', 'elements:emu:2d', 'gather:emu:2d', // two-dimensional grids
    'thread:2d', 'workgroup:2d', 'elements:2d',
  ]) expect([...families], f).toContain(f);
  // The adapter really is the one README.md, "WebGPU without a GPU" describes (otherwise these profiles mean something else).
  expect(r.emulated).toBe(true);
  const adapter = await adapterOrFail();
  expect(r.subgroupSize).toBe(adapter.features.has('subgroups') ? (adapter.info as GPUAdapterInfo & { subgroupMinSize: number }).subgroupMinSize : 0);
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
        // Free the uploads as we go: a few hundred cases would otherwise hold them all.
        for (const buf of owned.splice(0)) buf.destroy();
      }
      expectNoFailures({ failures, ran: cs.length });
    });
  }

  it("output: 'device' gives buffers holding the host answer bit for bit", async () => {
    await setup();
    const failures: string[] = [];
    // inPlace + output 'device' is held by hygiene.test.ts (it must not hand out a pooled buffer).
    const cs = regular.filter((c) => !c.tags.includes('big') && !c.options.inPlace && (c.options.reduction === 'none' || c.options.grad ||
      ['softmax', 'logSoftmax', 'sigmoid', 'softmaxBackward', 'logSoftmaxBackward'].includes(c.method) ||
      (c.method === 'entropy' && c.options.reduction === undefined)));
    expect(cs.length).toBeGreaterThan(100);
    for (const c of cs) {
      let host: Result;
      try {
        host = await runCase(losses, c);
      } catch (e) {
        failures.push(`output=device ${c.id}: the host-output run rejected: ${String(e)}`);
        continue;
      }
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
