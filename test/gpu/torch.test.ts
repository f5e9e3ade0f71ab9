/**
 * Every PyTorch fixture (test/fixtures/torch, via test/fixtures.ts) on the WebGPU backend (Dawn on
 * SwiftShader), held to docs/ARCHITECTURE.md, "The plan and the numerics contract"'s float64-reference tolerances: 2e-5·max(1, |ref|) for losses
 * and log-probabilities, 1e-6 absolute for probabilities. Run under the adapter's own profile and
 * under the non-emulated workgroup profile (the other kernel families), with NaN-poisoned outputs.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Losses } from '../../src/index.js';
import { expectClose, OPS, runFixtureCase, toleranceOf, torchFixtureCases, torchFixtureVersion } from '../fixtures.js';
import { profilesOf, webgpuLosses } from './harness.js';

const cases = torchFixtureCases();
const opened = new Map<string, Promise<Losses>>();

function losses(profile: 'real' | 'workgroup'): Promise<Losses> {
  let p = opened.get(profile);
  if (!p) {
    p = (async () => {
      const first = await webgpuLosses();
      if (profile === 'real') return first;
      const real = first.profile!;
      first.dispose();
      return webgpuLosses({ profile: profilesOf(real)[profile] });
    })();
    opened.set(profile, p);
  }
  return p;
}

afterAll(async () => {
  for (const p of opened.values()) (await p).dispose();
});

it(`fixtures (torch ${torchFixtureVersion()}) cover every op`, () => {
  for (const op of OPS) expect(cases.filter((c) => c.op === op).length, op).toBeGreaterThan(0);
});

for (const profile of ['real', 'workgroup'] as const) {
  describe(`WebGPU, ${profile} profile`, () => {
    for (const op of OPS) {
      it(op, async () => {
        const l = await losses(profile);
        expect(l.backend).toBe('webgpu');
        const failures: string[] = [];
        const mine = cases.filter((c) => c.op === op);
        for (const c of mine) {
          try {
            expectClose(await runFixtureCase(l, c), c.expected, toleranceOf(c.op), c.id);
          } catch (e) {
            failures.push(e instanceof Error ? e.message : String(e));
          }
        }
        if (failures.length) throw new Error(`${failures.length} of ${mine.length} fixtures failed on WebGPU (${profile}):\n${failures.join('\n')}`);
      });
    }
  });
}
