/**
 * Resource hygiene of the WebGPU backend (Node + Dawn on SwiftShader): many calls in flight at once,
 * device loss (ours: replaced; the app's: reported), an app's device never destroyed, a bounded
 * buffer pool over thousands of calls, dispose() freeing everything, device outputs owned by the caller.
 */
import { describe, expect, it } from 'vitest';
import { createLosses, LossError } from '../../src/index.js';
import type { Losses } from '../../src/index.js';
import { CASES, compareResults, materialize, runCase, sameBits } from '../cases.js';
import type { Case, Result } from '../cases.js';
import { appDevice, hostOf, readBack, upload, webgpuLosses } from './harness.js';
import { baseSeed, logits, Rng } from '../rng.js';

function stats(l: Losses) {
  expect(typeof l.stats, 'the webgpu facade must expose stats()').toBe('function');
  return l.stats!();
}

async function oracleOf(l: Losses): Promise<Losses> {
  return createLosses({ backend: 'cpu', profile: l.profile });
}

async function expectCase(l: Losses, cpu: Losses, c: Case, label = ''): Promise<void> {
  const m = compareResults(await runCase(l, c), await runCase(cpu, c));
  expect(m?.message ?? null, `${label}${c.id}`).toBeNull();
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => null, (e: unknown) => e);
}

/** Resolves true when the device is lost within `ms`. */
function lostWithin(device: GPUDevice, ms: number): Promise<boolean> {
  return Promise.race([device.lost.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
}

/** A varied, cheap slice of the shared case list: every method in turn, several shapes and options. */
function mixed(n: number): Case[] {
  const pool = CASES.filter((c) => !c.tags.includes('big') && !c.tags.includes('chunk') && !c.options.inPlace &&
    c.input !== 'nan' && c.input !== 'posinf' && c.method !== 'binaryCrossEntropy');
  const byMethod = new Map<string, Case[]>();
  for (const c of pool) byMethod.set(c.method, [...(byMethod.get(c.method) ?? []), c]);
  const lists = [...byMethod.values()];
  const out: Case[] = [];
  for (let k = 0; out.length < n; k++) {
    const list = lists[k % lists.length];
    const i = Math.floor(k / lists.length);
    out.push(list[(i * 7919) % list.length]); // a stride through each method's cases
  }
  return out;
}

describe('concurrency', () => {
  it('96 mixed calls in flight at once all give the oracle answer, and every buffer comes back', async () => {
    const l = await webgpuLosses();
    const cpu = await oracleOf(l);
    try {
      const cs = mixed(96);
      expect(new Set(cs.map((c) => c.method)).size).toBeGreaterThanOrEqual(10);
      const results = await Promise.allSettled(cs.map((c) => runCase(l, c)));
      const failures: string[] = [];
      for (let i = 0; i < cs.length; i++) {
        const r = results[i];
        if (r.status === 'rejected') {
          failures.push(`${cs[i].id}: rejected: ${String(r.reason)}`);
          continue;
        }
        const m = compareResults(r.value, await runCase(cpu, cs[i]));
        if (m) failures.push(`${cs[i].id}: ${m.message}`);
      }
      expect(failures).toEqual([]);
      expect(stats(l).liveBuffers).toBe(0);
      // The same batch again, concurrently: bitwise the same answers (no cross-talk between calls).
      const again = await Promise.all(cs.map((c) => runCase(l, c)));
      cs.forEach((c, i) => expect(sameBits(again[i], (results[i] as PromiseFulfilledResult<Result>).value), c.id).toBeNull());
    } finally {
      l.dispose();
    }
  });
});

describe('sharing', () => {
  it('two Losses on one app device (different plans), 64 calls in flight across both: all right', async () => {
    const device = await appDevice();
    const a = await createLosses({ backend: 'webgpu', device, poison: true });
    const b = await createLosses({ backend: 'webgpu', device, poison: true, profile: { ...a.profile!, emulated: false, subgroupSize: 0 } });
    try {
      const ca = await oracleOf(a), cb = await oracleOf(b);
      const cs = mixed(32).filter((c) => c.shape.reduce((x, y) => x * y, 1) <= 20000);
      const runs = cs.flatMap((c) => [{ l: a, o: ca, c }, { l: b, o: cb, c }]);
      expect(runs.length).toBeGreaterThanOrEqual(48);
      const got = await Promise.allSettled(runs.map((r) => runCase(r.l, r.c)));
      const failures: string[] = [];
      for (let i = 0; i < runs.length; i++) {
        const g = got[i];
        const tag = `${runs[i].l === a ? 'emulated' : 'workgroup'} ${runs[i].c.id}`;
        if (g.status === 'rejected') failures.push(`${tag}: rejected: ${String(g.reason)}`);
        else {
          const m = compareResults(g.value, await runCase(runs[i].o, runs[i].c));
          if (m) failures.push(`${tag}: ${m.message}`);
        }
      }
      expect(failures).toEqual([]);
      a.dispose();
      expect(await lostWithin(device, 200)).toBe(false);
      await expectCase(b, cb, cs[0], 'after the other Losses was disposed: ');
    } finally {
      a.dispose();
      b.dispose();
      device.destroy();
    }
  });
});

describe('device loss', () => {
  const probe = CASES.find((c) => c.id.startsWith('crossEntropy [1000x65] ignore') && c.options.labelSmoothing && c.options.reduction === 'mean')!;
  const heavy = CASES.find((c) => c.id === 'softmax [1000x1000]')!;

  it('a device the library created: destroyed under a pending call, then replaced by a fresh one', async () => {
    expect(probe).toBeDefined();
    expect(heavy).toBeDefined();
    const l = await webgpuLosses();
    const cpu = await oracleOf(l);
    try {
      const first = l.device;
      expect(first, 'the webgpu facade must expose its device').toBeDefined();
      await expectCase(l, cpu, probe, 'before the loss: ');
      const pending = runCase(l, heavy).then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e }));
      await new Promise((r) => setTimeout(r, 0));
      first!.destroy();
      expect(await lostWithin(first!, 5000), 'destroy() must resolve device.lost').toBe(true);
      const p = await pending;
      if (p.ok) expect(compareResults(p.v, await runCase(cpu, heavy))?.message ?? null, 'a pending call that resolves must be right').toBeNull();
      else expect(p.e, String(p.e)).toBeInstanceOf(LossError);
      // The next call: a LossError or the right answer; the one after must be right, on a new device.
      const next = await runCase(l, probe).then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e }));
      if (next.ok) expect(compareResults(next.v, await runCase(cpu, probe))?.message ?? null).toBeNull();
      else expect(next.e, String(next.e)).toBeInstanceOf(LossError);
      await expectCase(l, cpu, probe, 'after the loss: ');
      await expectCase(l, cpu, heavy, 'after the loss: ');
      expect(l.device).toBeDefined();
      expect(l.device).not.toBe(first);
      expect(stats(l).liveBuffers).toBe(0);
    } finally {
      l.dispose();
    }
  });

  it("the app's device lost: calls reject with a LossError (the library cannot replace it)", async () => {
    const device = await appDevice();
    const l = await createLosses({ backend: 'webgpu', device });
    await expectCase(l, await oracleOf(l), probe);
    device.destroy();
    expect(await lostWithin(device, 5000)).toBe(true);
    for (let k = 0; k < 2; k++) {
      const err = await rejection(runCase(l, probe));
      expect(err, String(err)).toBeInstanceOf(LossError);
      expect((err as Error).name).toBe('LossError');
    }
    expect(l.device).toBe(device);
    l.dispose();
  });
});

describe('ownership', () => {
  it("an app's device survives dispose() and stays usable, by the library and by the app", async () => {
    const device = await appDevice();
    try {
      const l = await createLosses({ backend: 'webgpu', device, poison: true });
      expect(l.device).toBe(device);
      const cpu = await oracleOf(l);
      for (const c of mixed(8)) await expectCase(l, cpu, c);
      l.dispose();
      expect(await lostWithin(device, 300), 'dispose() must not destroy the app device').toBe(false);
      // The app can still use it ...
      const data = new Float32Array([1, 2, 3, 4]);
      const owned: GPUBuffer[] = [];
      const b = upload(device, data, owned);
      expect(Array.from(await readBack(device, b, 4))).toEqual([1, 2, 3, 4]);
      b.destroy();
      // ... and so can a new Losses on it.
      const again = await createLosses({ backend: 'webgpu', device });
      for (const c of mixed(4)) await expectCase(again, cpu, c);
      again.dispose();
      expect(await lostWithin(device, 300)).toBe(false);
    } finally {
      device.destroy();
    }
  });

  it('dispose() frees every buffer, destroys a device the library created, and later calls reject', async () => {
    const l = await webgpuLosses();
    const own = l.device!;
    for (const c of mixed(24)) await runCase(l, c);
    expect(stats(l).pooledBuffers).toBeGreaterThan(0);
    expect(stats(l).liveBuffers).toBe(0);
    l.dispose();
    expect(stats(l)).toEqual({ pooledBuffers: 0, pooledBytes: 0, liveBuffers: 0 });
    expect(await lostWithin(own, 5000), 'a device the library created is destroyed by dispose()').toBe(true);
    const err = await rejection(l.softmax({ data: new Float32Array([1, 2, 3]), shape: [3] }));
    expect(err, String(err)).toBeInstanceOf(LossError);
    l.dispose(); // twice is harmless
  });

  it("device outputs belong to the caller: later calls never overwrite them, destroying them breaks nothing", async () => {
    const l = await webgpuLosses();
    const cpu = await oracleOf(l);
    try {
      const cs = mixed(60).filter((c) => c.options.reduction === 'none' || c.options.grad || ['softmax', 'logSoftmax', 'sigmoid'].includes(c.method));
      expect(cs.length).toBeGreaterThan(10);
      const held: { c: Case; host: Result; out: unknown }[] = [];
      for (const c of cs) {
        const m = materialize(c);
        m.options = { ...m.options, output: 'device' };
        held.push({ c, host: await runCase(l, c), out: await runCase(l, c, m) });
      }
      for (const c of mixed(40)) await runCase(l, c); // churn the pool
      const failures: string[] = [];
      for (const h of held) {
        const back = await hostOf(l.device!, h.out);
        const d = back === null ? 'not a device result' : sameBits(back, h.host);
        if (d) failures.push(`${h.c.id}: ${d}`);
      }
      expect(failures).toEqual([]);
      for (const c of mixed(8)) await expectCase(l, cpu, c, 'after destroying every device output: ');
    } finally {
      l.dispose();
    }
  });

  it("inPlace with a host input and output 'device': the returned gradient is the caller's buffer, not a pooled one", async () => {
    const l = await webgpuLosses();
    const cpu = await oracleOf(l);
    try {
      const failures: string[] = [];
      for (const c of CASES.filter((k) => k.options.inPlace)) {
        const expected = await runCase(cpu, c);
        const m = materialize(c);
        m.options = { ...m.options, output: 'device' };
        const r = await runCase(l, c, m).then((v) => v, (e: unknown) => e);
        if (r instanceof Error) {
          // Refusing the combination with a LossError is acceptable.
          if (!(r instanceof LossError)) failures.push(`${c.id}: rejected with ${String(r)}`);
          continue;
        }
        const churn = await rejection(Promise.all(mixed(12).map((k) => runCase(l, k)))); // would reuse a pooled buffer
        if (churn !== null) {
          failures.push(`${c.id}: later calls rejected while the caller held its gradient buffer: ${String(churn)}`);
          break;
        }
        const back = await hostOf(l.device!, r); // reads, then destroys the caller's buffer (the caller may)
        const d = back === null ? 'not a device result' : compareResults(back, expected)?.message ?? null;
        if (d) failures.push(`${c.id}: the held gradient after later calls: ${d}`);
        const after = await rejection(Promise.all(mixed(24).map((k) => runCase(l, k))));
        if (after !== null) {
          failures.push(`${c.id}: after the caller destroyed its gradient buffer, later calls rejected: ${String(after)}`);
          break; // the pool is poisoned from here on
        }
      }
      expect(failures).toEqual([]);
    } finally {
      l.dispose();
    }
  });
});

describe('pool', () => {
  it('thousands of sequential calls keep the pool bounded and every buffer returned', async () => {
    const l = await webgpuLosses({ poison: false });
    try {
      const cs = mixed(40);
      const samples: { pooledBuffers: number; pooledBytes: number }[] = [];
      let calls = 0;
      for (let round = 0; round < 60; round++) {
        for (const c of cs) {
          await runCase(l, c);
          calls++;
          const s = stats(l);
          if (s.liveBuffers !== 0) throw new Error(`after call ${calls} (${c.id}): ${s.liveBuffers} buffers still live`);
        }
        samples.push(stats(l));
      }
      expect(calls).toBeGreaterThanOrEqual(2000);
      // After a few rounds the pool holds what one round needs; it must not keep growing.
      const warm = samples[4], last = samples[samples.length - 1];
      expect(last.pooledBuffers, JSON.stringify(samples.slice(0, 8))).toBeLessThanOrEqual(warm.pooledBuffers);
      expect(last.pooledBytes).toBeLessThanOrEqual(warm.pooledBytes);
      expect(last.pooledBytes).toBeLessThanOrEqual(256 * 2 ** 20);
    } finally {
      l.dispose();
    }
  });

  it('more distinct calls than the kept uniforms, then the first ones again: every answer the oracle\'s', async () => {
    const l = await webgpuLosses({ poison: false });
    const cpu = await oracleOf(l);
    try {
      const rng = Rng.for(baseSeed(), 'kept uniforms');
      const calls = Array.from({ length: 700 }, (_, i) => {
        const N = i + 1, C = 3 + (i % 7);
        return { x: logits(rng, [N, C]), t: Int32Array.from({ length: N }, () => Math.floor(rng.next() * C)), N, C };
      });
      const failures: string[] = [];
      for (const { x, t, N, C } of [...calls, ...calls.slice(0, 50)]) {
        const [g, c] = [await l.crossEntropy({ data: x, shape: [N, C] }, t), await cpu.crossEntropy({ data: x, shape: [N, C] }, t)];
        if (!(Math.abs(g - c) <= 1e-5 * Math.abs(c))) failures.push(`${N}x${C}: ${g} vs the oracle's ${c}`);
      }
      expect(failures).toEqual([]);
      expect(stats(l).liveBuffers).toBe(0);
    } finally {
      l.dispose();
    }
  });

  it('a rejected call (a bad device label) returns its buffers too', async () => {
    const device = await appDevice();
    try {
      const l = await createLosses({ backend: 'webgpu', device });
      const owned: GPUBuffer[] = [];
      const x = { buffer: upload(device, new Float32Array(12).fill(0.5), owned), shape: [4, 3] };
      const t = { buffer: upload(device, new Int32Array([0, 1, 7, 2]), owned), shape: [4], dtype: 'int32' as const };
      for (let k = 0; k < 20; k++) {
        const err = await rejection(l.crossEntropy(x, t));
        expect(err, String(err)).toBeInstanceOf(LossError);
      }
      expect(stats(l).liveBuffers).toBe(0);
      expect(stats(l).pooledBuffers).toBeLessThan(40);
      l.dispose();
      for (const b of owned) b.destroy();
    } finally {
      device.destroy();
    }
  });
});
