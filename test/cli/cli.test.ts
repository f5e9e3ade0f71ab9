// The `webgpu-losses eval` command as a user runs it: `node dist/cli.js` (built by `npx vite build`)
// as a child process, on files written by the test's own writers, its --json metrics against float64
// by the definitions of issue 13; the table, the backend line, exit codes and one-line errors.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { bf16Exact, binaryMetrics, bytesOf, classMetrics, f16Exact, npyBytes, safetensorsBytes } from './writers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'wgl-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  expect(existsSync(CLI), 'dist/cli.js is missing: run `npx vite build`').toBe(true);
});

/** Runs the command; never rejects on a non-zero exit. */
function cli(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function write(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

/** Each metric within 2e-5·max(1, |ref|) of float64 (float32 records, compensated sums). */
function expectClose(got: Record<string, number>, ref: Record<string, number>, label: string) {
  expect(Object.keys(got), label).toEqual(Object.keys(ref));
  for (const [k, v] of Object.entries(ref)) {
    const tol = k === 'rows' || k === 'count' ? 0 : 2e-5 * Math.max(1, Math.abs(v));
    expect(Math.abs(got[k] - v), `${label}: ${k} = ${got[k]}, float64 ${v}`).toBeLessThanOrEqual(tol);
  }
}

/**
 * N×C logits on a grid every dtype holds exactly (multiples of 1/16 in [−8, 8]: ties within rows
 * included, which the rank rule breaks by the lower class), labels in [0, C) with about 1 in 12
 * ignored. The seed is fixed; the test checks that no confidence lies near a bin edge (where float32
 * and float64 could bin a row differently).
 */
function dataset(N: number, C: number, seed: number, ignoreIndex = -100) {
  const rng = new Rng(seed);
  const x = Array.from({ length: N * C }, () => Math.round((rng.next() * 2 - 1) * 128) / 16);
  // A strong class per row, mostly the label: accuracy well above chance, confidences across the bins.
  const labels = Array.from({ length: N }, (_, n) => {
    const t = Math.floor(rng.next() * C);
    const strong = rng.next() < 0.6 ? t : Math.floor(rng.next() * C);
    x[n * C + strong] = Math.min(8, x[n * C + strong] + Math.round(rng.next() * 64) / 16);
    return rng.next() < 1 / 12 ? ignoreIndex : t;
  });
  return { x, labels };
}

const encode = {
  float32: (v: number[]) => bytesOf(new Float32Array(v)),
  float16: (v: number[]) => bytesOf(new Uint16Array(v.map(f16Exact))),
  bfloat16: (v: number[]) => bytesOf(new Uint16Array(v.map(bf16Exact))),
  int32: (v: number[]) => bytesOf(new Int32Array(v)),
  int64: (v: number[]) => bytesOf(new BigInt64Array(v.map(BigInt))),
};

describe('metrics against float64', () => {
  const N = 1000, C = 10;
  const { x, labels } = dataset(N, C, 1234);

  it('.npy float32 logits, int64 labels, 16 batches of 64 rows, --top-k 1,3 --top-k 5 --bins 10 (cpu)', async () => {
    const ref = classMetrics(x, N, C, labels, { ignoreIndex: -100, topK: [1, 3, 5], bins: 10 });
    expect(ref.nearestEdge).toBeGreaterThan(1e-5);
    const lp = write('a-logits.npy', npyBytes('<f4', [N, C], encode.float32(x)));
    const tp = write('a-labels.npy', npyBytes('<i8', [N], encode.int64(labels), { version: 2 }));
    const r = await cli(['eval', '--logits', lp, '--labels', tp, '--backend', 'cpu', '--batch-rows', '64', '--top-k', '1,3', '--top-k', '5', '--bins', '10', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^webgpu-losses: backend cpu\n$/);
    expect(r.stdout.endsWith('}\n') && r.stdout.indexOf('\n') === r.stdout.length - 1, r.stdout).toBe(true);
    expectClose(JSON.parse(r.stdout), ref.metrics, 'npy float32');
  });

  it('.safetensors float16 logits and int32 labels in one file, named by --logits-key / --labels-key, default batch and top-5', async () => {
    const ref = classMetrics(x, N, C, labels, { ignoreIndex: -100, topK: [5], bins: 15 });
    expect(ref.nearestEdge).toBeGreaterThan(1e-5);
    const p = write('b.safetensors', safetensorsBytes({
      y: { dtype: 'I32', shape: [N], data: encode.int32(labels) },
      out: { dtype: 'F16', shape: [N, C], data: encode.float16(x) },
    }, { format: 'pt' }));
    const r = await cli(['eval', '--logits', p, '--labels', p, '--logits-key', 'out', '--labels-key', 'y', '--backend', 'cpu', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expectClose(JSON.parse(r.stdout), ref.metrics, 'safetensors float16');
  });

  it('.safetensors bfloat16 logits with int64 labels and --ignore-index 7 (the value 7 then ignored, -100 out of range)', async () => {
    const lab = labels.map((t) => (t === -100 ? 7 : t));
    const ref = classMetrics(x, N, C, lab, { ignoreIndex: 7, topK: [2], bins: 15 });
    expect(ref.nearestEdge).toBeGreaterThan(1e-5);
    const lp = write('c-logits.safetensors', safetensorsBytes({ logits: { dtype: 'BF16', shape: [N, C], data: encode.bfloat16(x) } }));
    const tp = write('c-labels.safetensors', safetensorsBytes({ labels: { dtype: 'I64', shape: [N], data: encode.int64(lab) } }));
    const r = await cli(['eval', '--logits', lp, '--labels', tp, '--ignore-index', '7', '--top-k', '2', '--batch-rows', '333', '--backend', 'cpu', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expectClose(JSON.parse(r.stdout), ref.metrics, 'safetensors bfloat16');
    // -100 is now an ordinary out-of-range label: the batch and the file's rows are named.
    const bad = write('c-bad.npy', npyBytes('<i8', [N], encode.int64(labels)));
    const e = await cli(['eval', '--logits', lp, '--labels', bad, '--ignore-index', '7', '--batch-rows', '333', '--backend', 'cpu', '--json']);
    const first = labels.indexOf(-100);
    const batch = Math.floor(first / 333);
    expect(e.code).toBe(1);
    expect(e.stdout).toBe('');
    expect(e.stderr).toContain(`rows ${batch * 333}..${batch * 333 + 332} of the files: evaluator.add: batch ${batch}, row ${first - batch * 333}: the label is out of range [0, 10)`);
  });

  it('--binary: (N, 1) float32 logits and float32 0/1 labels; bce, accuracy, ece, brier', async () => {
    const rng = new Rng(99);
    const M = 777;
    const z = Array.from({ length: M }, () => (Math.round((rng.next() * 2 - 1) * 96) + 0.5) / 16); // never 0
    const y = z.map((v) => (rng.next() < 1 / (1 + Math.exp(-v)) ? 1 : 0));
    const lp = write('d-logits.npy', npyBytes('<f4', [M, 1], encode.float32(z)));
    const tp = write('d-labels.npy', npyBytes('<f4', [M], encode.float32(y)));
    const r = await cli(['eval', '--binary', '--logits', lp, '--labels', tp, '--batch-rows', '100', '--backend', 'cpu', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout);
    // ece and brier as the evaluator defines them for sigmoid outputs: confidence max(p, 1 − p), (p − y)².
    const p = z.map((v) => 1 / (1 + Math.exp(-v)));
    const bins = 15, n = new Array(bins).fill(0), acc = new Array(bins).fill(0), conf = new Array(bins).fill(0);
    p.forEach((pi, i) => {
      const c = Math.max(pi, 1 - pi), b = Math.min(bins - 1, Math.ceil(c * bins) - 1);
      n[b]++;
      acc[b] += (pi >= 0.5 ? 1 : 0) === y[i] ? 1 : 0;
      conf[b] += c;
    });
    const ece = n.reduce((s, nb, b) => s + (nb ? Math.abs(acc[b] - conf[b]) / M : 0), 0);
    const brier = p.reduce((s, pi, i) => s + (pi - y[i]) ** 2, 0) / M;
    expectClose(got, { ...binaryMetrics(z, y), ece, brier }, 'binary');
    // int64 0/1 labels work too, with the same answer.
    const ti = write('d-labels-i64.npy', npyBytes('<i8', [M], encode.int64(y)));
    const r2 = await cli(['eval', '--binary', '--logits', lp, '--labels', ti, '--backend', 'cpu', '--json']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(JSON.parse(r2.stdout)).toEqual(got);
  });

  it('--backend webgpu (the harness adapter): .npy float16 logits in batches, the float64 metrics', async () => {
    const ref = classMetrics(x, N, C, labels, { ignoreIndex: -100, topK: [3], bins: 15 });
    const lp = write('e-logits.npy', npyBytes('<f2', [N, C], encode.float16(x), { version: 3 }));
    const tp = write('e-labels.npy', npyBytes('<i4', [N], encode.int32(labels)));
    const r = await cli(['eval', '--logits', lp, '--labels', tp, '--backend', 'webgpu', '--top-k', '3', '--batch-rows', '256', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^webgpu-losses: backend webgpu/);
    expectClose(JSON.parse(r.stdout), ref.metrics, 'webgpu float16');
  });

  it('--backend auto finds the adapter; without one (no Vulkan driver) it falls back to the CPU and says why', async () => {
    const lp = write('f-logits.npy', npyBytes('<f4', [N, C], encode.float32(x)));
    const tp = write('f-labels.npy', npyBytes('<i8', [N], encode.int64(labels)));
    const args = ['eval', '--logits', lp, '--labels', tp, '--json'];
    const gpu = await cli(args);
    expect(gpu.code, gpu.stderr).toBe(0);
    expect(gpu.stderr).toMatch(/^webgpu-losses: backend webgpu/);
    const cpu = await cli(args, { ...process.env, VK_ICD_FILENAMES: join(dir, 'no-such-icd.json'), VK_DRIVER_FILES: join(dir, 'no-such-icd.json') });
    expect(cpu.code, cpu.stderr).toBe(0);
    // (The Vulkan loader prints its own warnings to stderr before.)
    expect(cpu.stderr).toMatch(/^webgpu-losses: backend cpu \(WebGPU not used: .*no adapter.*\)\n$/m);
    expectClose(JSON.parse(cpu.stdout), JSON.parse(gpu.stdout), 'auto: cpu vs webgpu');
  });

  it('without --json: a table on stdout, the backend on stderr, no progress bar when stderr is not a terminal', async () => {
    const lp = write('g-logits.npy', npyBytes('<f4', [N, C], encode.float32(x)));
    const tp = write('g-labels.npy', npyBytes('<i8', [N], encode.int64(labels)));
    const r = await cli(['eval', '--logits', lp, '--labels', tp, '--backend', 'cpu', '--batch-rows', '100']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('webgpu-losses: backend cpu\n');
    expect(r.stdout).toContain(`${lp}  (1000, 10) float32`);
    expect(r.stdout).toContain('10 batches of 100 rows');
    for (const k of ['rows', 'count', 'crossEntropy', 'perplexity', 'accuracy', 'top5', 'entropy', 'ece', 'brier']) expect(r.stdout).toMatch(new RegExp(`^  ${k} +\\S`, 'm'));
    expect(r.stdout).toMatch(/^ {2}rows +1000$/m);
  });
});

describe('errors: one line on stderr, nothing on stdout, exit 1 (usage: 2)', () => {
  const f32 = (shape: number[]) => npyBytes('<f4', shape, new Uint8Array(4 * shape.reduce((a, b) => a * b, 1)));
  const i64 = (shape: number[]) => npyBytes('<i8', shape, new Uint8Array(8 * shape.reduce((a, b) => a * b, 1)));
  const cases: [string, () => string[], RegExp][] = [
    ['missing file', () => ['--logits', join(dir, 'none.npy'), '--labels', write('h1.npy', i64([4]))], /none\.npy: no such file$/],
    ['unknown extension', () => ['--logits', write('h2.pt', f32([4, 3])), '--labels', write('h3.npy', i64([4]))], /h2\.pt: unknown extension "\.pt"/],
    ['wrong dtype', () => ['--logits', write('h4.npy', npyBytes('<f8', [4, 3], new Uint8Array(96))), '--labels', write('h5.npy', i64([4]))], /h4\.npy: unsupported dtype float64/],
    ['float labels', () => ['--logits', write('h6.npy', f32([4, 3])), '--labels', write('h7.npy', f32([4]))], /labels are float32; class indices must be int32 or int64/],
    ['rows differ', () => ['--logits', write('h8.npy', f32([4, 3])), '--labels', write('h9.npy', i64([5]))], /shape mismatch: logits .*h8\.npy have 4 rows \(4, 3\), labels .*h9\.npy have 5 \(5,\)/],
    ['truncated logits', () => ['--logits', write('h10.npy', f32([4, 3]).slice(0, -4)), '--labels', write('h11.npy', i64([4]))], /h10\.npy: truncated: shape \(4, 3\) of float32 needs 48 data bytes, the file holds 44/],
    ['truncated safetensors', () => ['--logits', write('h12.safetensors', safetensorsBytes({ logits: { dtype: 'F32', shape: [4, 3], data: new Uint8Array(48) } }).slice(0, -1)), '--labels', write('h13.npy', i64([4]))], /h12\.safetensors: truncated: tensor "logits" ends at byte/],
    ['bad header', () => ['--logits', write('h14.npy', new Uint8Array(64)), '--labels', write('h15.npy', i64([4]))], /h14\.npy: bad \.npy file: it does not start with the magic/],
    ['missing safetensors key', () => ['--logits', write('h16.safetensors', safetensorsBytes({ x: { dtype: 'F32', shape: [4, 3], data: new Uint8Array(48) } })), '--labels', write('h17.npy', i64([4]))], /no tensor "logits"; the file holds "x"/],
    ['NaN logits name the row', () => ['--logits', write('h18.npy', npyBytes('<f4', [4, 3], bytesOf(new Float32Array([0, 0, 0, 0, NaN, 0, 0, 0, 0, 0, 0, 0])))), '--labels', write('h19.npy', i64([4])), '--batch-rows', '2'], /rows 0\.\.1 of the files: evaluator\.add: batch 0, row 1: the logits hold NaN/],
  ];
  it.each(cases)('%s', async (_, args, message) => {
    const r = await cli(['eval', ...args(), '--backend', 'cpu', '--json']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n').filter((l) => !/^webgpu-losses: backend /.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^webgpu-losses: /);
    expect(lines[0]).toMatch(message);
  });

  it.each([
    [[], /no command given/],
    [['evaluate'], /unknown command "evaluate"/],
    [['eval', '--labels', 'y.npy'], /--logits FILE is required/],
    [['eval', '--logits', 'x.npy'], /--labels FILE is required/],
    [['eval', '--logits', 'x.npy', '--labels', 'y.npy', '--topk', '5'], /unknown option --topk \(did you mean --top-k\?\)/],
    [['eval', '--logits', 'x.npy', '--labels', 'y.npy', '--backend', 'gpu'], /--backend "gpu": expected auto, webgpu or cpu/],
    [['eval', '--logits', 'x.npy', '--labels', 'y.npy', '--batch-rows', '0'], /--batch-rows "0": expected an integer ≥ 1/],
    [['eval', '--logits', 'x.npy', '--labels', 'y.npy', '--top-k', '1,x'], /--top-k "x": expected an integer ≥ 1/],
    [['eval', '--logits', 'x.npy', '--labels', 'y.npy', '--bins', '2.5'], /--bins "2\.5": expected an integer ≥ 1/],
    [['eval', '--logits', 'x.npy', '--labels', 'y.npy', '--ignore-index'], /--ignore-index needs a value/],
    [['eval', '--logits', 'x.npy', '--logits', 'z.npy', '--labels', 'y.npy'], /--logits given 2 times/],
    [['eval', '--logits', 'x.npy', '--labels', 'y.npy', '--binary', '--top-k', '5'], /--top-k does not apply to --binary/],
    [['eval', '--logits', 'x.npy', '--labels', 'y.npy', 'extra'], /unexpected argument "extra"/],
  ] as const)('usage %j exits 2', async (args, message) => {
    const r = await cli([...args]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/see webgpu-losses --help\n$/);
  });

  it('--help and eval --help print the usage on stdout and exit 0; --version the package version', async () => {
    for (const args of [['--help'], ['eval', '--help'], ['eval', '--logits', 'x', '-h']]) {
      const r = await cli(args);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^Usage: webgpu-losses eval --logits FILE --labels FILE \[options\]/);
      for (const o of ['--logits-key', '--labels-key', '--backend', '--batch-rows', '--top-k', '--bins', '--ignore-index', '--binary', '--json']) expect(r.stdout).toContain(o);
    }
    const v = await cli(['--version']);
    expect(v.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('--backend webgpu without an adapter is an error, not a fallback', async () => {
    const lp = write('w-logits.npy', f32([4, 3]));
    const tp = write('w-labels.npy', i64([4]));
    const r = await cli(['eval', '--logits', lp, '--labels', tp, '--backend', 'webgpu', '--json'], { ...process.env, VK_ICD_FILENAMES: join(dir, 'no-such-icd.json'), VK_DRIVER_FILES: join(dir, 'no-such-icd.json') });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^webgpu-losses: createLosses: WebGPU is not available.*no adapter.*\n$/m);
    expect(r.stderr).not.toMatch(/backend/);
  });
});
