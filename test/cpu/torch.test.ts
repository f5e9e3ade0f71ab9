/**
 * Every PyTorch fixture (test/fixtures/torch, made by scripts/torch-fixtures.py) on the CPU backend,
 * one test per case, held to the tolerances of docs/ARCHITECTURE.md, "The plan and the numerics contract".
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createLosses } from '../../src/index.js';
import type { Losses } from '../../src/index.js';
import { expectClose, OPS, runFixtureCase, toleranceOf, torchFixtureCases, torchFixtureVersion } from '../fixtures.js';

const cases = torchFixtureCases();
let losses: Losses;

beforeAll(async () => {
  losses = await createLosses({ backend: 'cpu' });
  expect(losses.backend).toBe('cpu');
});

it(`fixtures cover every op (torch ${torchFixtureVersion()})`, () => {
  for (const op of OPS) expect(cases.filter((c) => c.op === op).length, op).toBeGreaterThan(0);
});

for (const op of OPS) {
  describe(op, () => {
    for (const c of cases.filter((k) => k.op === op)) {
      it(c.name, async () => {
        const actual = await runFixtureCase(losses, c);
        expectClose(actual, c.expected, toleranceOf(c.op), c.id);
      });
    }
  });
}
