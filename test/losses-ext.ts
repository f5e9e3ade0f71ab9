/**
 * The z-loss, softcap and focal options of crossEntropy, sigmoidFocalLoss, and BCE weights
 * broadcast by PyTorch's rules, against the torch fixtures of scripts/torch-fixtures-losses.py
 * (losses and autograd gradients). Shared by the CPU and GPU test files.
 */
import { describe, expect, it } from 'vitest';
import type { Losses } from '../src/index.js';
import { compare } from './fixtures.js';
import { extFixtureCases } from './reference-losses.js';
import type { ExtCase } from './reference-losses.js';

export const EXT_CASES = extFixtureCases();

export async function runExtCase(L: Losses, c: ExtCase, prepare: (c: ExtCase) => ExtCase = (x) => x): Promise<string | null> {
  const p = prepare(c);
  const call = (L as unknown as Record<string, (...a: unknown[]) => Promise<{ loss: unknown; grad: unknown }>>)[c.op];
  const r = await call(p.input, p.target, p.options);
  const loss = compare(r.loss, c.loss as never, 'loss');
  if (loss) return `${c.id}: loss ${loss}`;
  const grad = compare(r.grad, c.grad, 'loss');
  return grad ? `${c.id}: grad ${grad}` : null;
}

export function extSuite(label: string, make: () => Promise<Losses>, cases: readonly ExtCase[] = EXT_CASES): void {
  describe(`torch fixtures of zLoss, softcap, focalGamma, sigmoidFocalLoss and BCE weight broadcasting (${label})`, () => {
    it('every file is present', () => {
      for (const f of ['crossEntropyExt', 'sigmoidFocalLoss', 'bceBroadcast']) expect(cases.some((c) => c.file === f), f).toBe(true);
    });
    for (const file of ['crossEntropyExt', 'sigmoidFocalLoss', 'bceBroadcast']) {
      it(`${file}: losses and gradients`, async () => {
        const L = await make();
        const failures: string[] = [];
        for (const c of cases.filter((x) => x.file === file)) {
          const why = await runExtCase(L, c).catch((e: unknown) => `${c.id}: rejected: ${String(e)}`);
          if (why) failures.push(why);
        }
        expect(failures.slice(0, 15), `${failures.length} failures`).toEqual([]);
      });
    }
  });
}
