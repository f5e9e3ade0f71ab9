// The built package (dist/) works from plain Node: `npm run build` must have run (scripts/setup.sh does).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';

it('dist/index.js exposes every method, on the CPU and on WebGPU', () => {
  expect(existsSync('dist/index.js'), 'dist/index.js is missing: run `npm run build`').toBe(true);
  expect(existsSync('dist/index.d.ts')).toBe(true);
  const out = execFileSync(process.execPath, ['scripts/dist-check.mjs'], { encoding: 'utf8', env: process.env });
  expect(out).toContain('every method ran on cpu and webgpu');
});
