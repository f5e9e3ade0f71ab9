// Runs tsc over the type tests (test/types/*.test-d.ts): a result type that does not match the
// options, or an @ts-expect-error that no longer errs, fails here with tsc's message. The interop
// tests compile apart (tsconfig.interop.json: TF.js's typings need skipLibCheck).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const project = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));

function compiles(name: string) {
  const r = spawnSync(process.execPath, [tsc, '-p', project(name), '--pretty', 'false'], { encoding: 'utf8' });
  expect(`${r.stdout}${r.stderr}`).toBe('');
  expect(r.status).toBe(0);
}

it('every method resolves to the type its options promise', () => compiles('tsconfig.json'));

it('webgpu-losses/ort and webgpu-losses/tfjs fit the real typings of onnxruntime-web and TF.js', () => compiles('tsconfig.interop.json'));
