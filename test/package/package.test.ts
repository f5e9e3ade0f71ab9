/**
 * The package as a user gets it: `npm pack` (the files list), the tarball installed offline into a
 * temporary project, then used from each kind of consumer in test/package/apps/:
 * - Node ESM (import) and CommonJS (require of the ESM build): crossEntropy on the CPU against a
 *   float64 value computed here, and through the interop subpaths `webgpu-losses/ort` and
 *   `webgpu-losses/tfjs` (installed without onnxruntime-web and TF.js: no runtime dependency);
 * - strict TypeScript (skipLibCheck false) without WebGPU types, with moduleResolution bundler and
 *   node16, compiling every .d.ts the tarball ships; and with @webgpu/types (its GPUBuffer exactly);
 * - a Vite app (importing `webgpu-losses/ort` too), built, served and loaded in headless Chromium with
 *   WebGPU (backend 'webgpu') and without (backend 'cpu'), checking the loss each time;
 * - the `webgpu-losses` command (the bin): `npx webgpu-losses --help`, and `eval` of the same case
 *   from .npy files.
 * dist/ must be built (`npm test` builds it first).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesOf, npyBytes } from '../cli/writers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const APPS = fileURLToPath(new URL('./apps/', import.meta.url));
const CHROMIUM = '/usr/lib/chromium/chromium';
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

// The case every runtime consumer computes: crossEntropy (mean) of 4 rows of 5 classes.
const CASE = {
  shape: [4, 5],
  logits: Array.from(new Float32Array(Array.from({ length: 20 }, (_, i) => 4 * Math.sin(1.7 * i + 0.3)))),
  labels: [3, 0, 4, 1],
};
/** The same loss in float64: the mean over rows of log Σ exp(x) − x[label]. */
function referenceLoss(): number {
  const [N, C] = CASE.shape;
  let sum = 0;
  for (let n = 0; n < N; n++) {
    const row = CASE.logits.slice(n * C, (n + 1) * C);
    const m = Math.max(...row);
    sum += m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) - row[CASE.labels[n]];
  }
  return sum / N;
}
const REF = referenceLoss();
const closeToRef = (v: unknown) => typeof v === 'number' && Math.abs(v - REF) <= 2e-5 * Math.max(1, Math.abs(REF));

let dir = '';
let packedFiles: string[] = [];

/** Runs a command; resolves with its exit code, stdout and all output (never rejects on a non-zero exit). */
function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  return new Promise<{ code: number | null; stdout: string; out: string }>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env });
    let stdout = '';
    let out = '';
    child.stdout.on('data', (d) => { stdout += d; out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, out }));
  });
}

// npm run from `npm test` inherits npm_* variables (npm_config_local_prefix among them) that would
// point a nested npm at this repository: the nested ones get an environment without them.
const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

beforeAll(async () => {
  expect(existsSync(join(ROOT, 'dist/index.js')), 'dist/index.js is missing: run `npm run build`').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'wgl-package-'));
  // npm's own cache in the temp dir: nothing is fetched (--offline) and nothing is left behind.
  const cache = ['--cache', join(dir, '.npm-cache')];
  const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir, ...cache], ROOT, npmEnv);
  expect(pack.code, pack.out).toBe(0);
  const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  packedFiles = info.files.map((f) => f.path);
  cpSync(APPS, dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "private": true }\n');
  const install = await run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--offline', '--ignore-scripts',
    ...cache, '--prefix', dir, join(dir, info.filename)], dir, npmEnv);
  expect(install.code, install.out).toBe(0);
  // Only the typed app sees @webgpu/types (this repository's copy).
  mkdirSync(join(dir, 'ts-webgpu/node_modules/@webgpu'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules/@webgpu/types'), join(dir, 'ts-webgpu/node_modules/@webgpu/types'), 'dir');
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('the tarball holds the built JS and typings, the README and the LICENSE, and nothing else', () => {
  expect(packedFiles).toEqual(expect.arrayContaining([
    'package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/types.d.ts',
    'dist/ort.js', 'dist/tfjs.js', 'dist/interop/ort.d.ts', 'dist/interop/tfjs.d.ts', 'dist/cli.js',
  ]));
  const unexpected = packedFiles.filter((f) => !/^(package\.json|README\.md|LICENSE|dist\/.+\.(js|d\.ts))$/.test(f));
  expect(unexpected).toEqual([]);
  expect(readFileSync(join(dir, 'node_modules/webgpu-losses/dist/index.js'), 'utf8')).not.toMatch(/sourceMappingURL/);
});

it('the interop entries import nothing but the package\'s own shared chunks, never the core or a runtime', () => {
  for (const entry of ['ort.js', 'tfjs.js']) {
    // The code without its comments (the doc comments show imports of the runtimes, as examples).
    const code = readFileSync(join(dir, 'node_modules/webgpu-losses/dist', entry), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const specifiers = [...code.matchAll(/\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? m[2]);
    expect(specifiers.length, entry).toBeGreaterThan(0);
    for (const s of specifiers) expect(s, `${entry} imports ${s}`).toMatch(/^\.\/(?!index\.js)[\w-]+\.js$/);
  }
});

describe('Node consumers', () => {
  it.each([['ESM (import)', 'node-esm/main.mjs'], ['CommonJS (require)', 'node-cjs/main.cjs']])('%s computes crossEntropy on the CPU', async (_, file) => {
    const r = await run(process.execPath, [join(dir, file), JSON.stringify(CASE)], dir);
    expect(r.code, r.out).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.backend).toBe('cpu');
    expect(res.lossError).toBe('function');
    expect(closeToRef(res.loss), `loss ${res.loss}, float64 ${REF}`).toBe(true);
    // webgpu-losses/ort (and /tfjs, in ESM) without onnxruntime-web or TF.js installed.
    expect(res.interop.ortLoss).toBe(res.loss);
    if (file.endsWith('.mjs')) {
      expect(res.interop.tfjsLoss).toBe(res.loss);
      expect(res.interop.made).toEqual([['ort', 'float32', 'Float32Array', []], ['tf', 'float32', 'Float32Array', [2]]]);
      expect(res.interop.interopError).toMatch(/^fromOrt: tensor\.type = "uint8" is not supported/);
    } else {
      expect(res.interop.fromTfjs).toBe('function');
    }
  });
});

describe('the webgpu-losses command', () => {
  it('npx webgpu-losses --help prints the usage', async () => {
    const r = await run('npx', ['--no-install', '--offline', '--cache', join(dir, '.npm-cache'), 'webgpu-losses', '--help'], dir, npmEnv);
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toMatch(/^Usage: webgpu-losses eval --logits FILE --labels FILE/);
  });

  it('eval --json computes the case from .npy files on the CPU', async () => {
    writeFileSync(join(dir, 'logits.npy'), npyBytes('<f4', CASE.shape, bytesOf(new Float32Array(CASE.logits))));
    writeFileSync(join(dir, 'labels.npy'), npyBytes('<i8', [CASE.labels.length], bytesOf(BigInt64Array.from(CASE.labels, BigInt))));
    const r = await run(join(dir, 'node_modules/.bin/webgpu-losses'), ['eval', '--logits', 'logits.npy', '--labels', 'labels.npy', '--backend', 'cpu', '--json'], dir);
    expect(r.code, r.out).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.count).toBe(4);
    expect(closeToRef(res.crossEntropy), `crossEntropy ${res.crossEntropy}, float64 ${REF}`).toBe(true);
  });

  it('dist/cli.js imports the library from ./index.js (not a copy) and otherwise only Node and the optional webgpu', () => {
    const code = readFileSync(join(dir, 'node_modules/webgpu-losses/dist/cli.js'), 'utf8');
    expect(code.startsWith('#!/usr/bin/env node\n')).toBe(true);
    const specifiers = [...code.matchAll(/^import\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? m[2]);
    expect(specifiers).toContain('./index.js');
    for (const s of specifiers) expect(s).toMatch(/^(\.\/index\.js|node:[\w/]+|webgpu)$/);
    expect(code).not.toMatch(/function createLosses/);
  });
});

describe('TypeScript consumers (strict, skipLibCheck false)', () => {
  it.each([
    ['without WebGPU types, moduleResolution bundler', 'ts-plain/tsconfig.bundler.json'],
    ['without WebGPU types, moduleResolution node16, no DOM lib', 'ts-plain/tsconfig.node16.json'],
    ['with @webgpu/types: GPUBuffer exactly', 'ts-webgpu/tsconfig.json'],
  ])('%s compiles', async (_, project) => {
    const r = await run(process.execPath, [TSC, '-p', join(dir, project), '--pretty', 'false'], dir);
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('a Vite app in headless Chromium', () => {
  let server: ReturnType<typeof createServer> | undefined;
  let url = '';
  const temps: string[] = [];

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `Chromium is missing at ${CHROMIUM} (apt-get install -y chromium)`).toBe(true);
    const root = join(dir, 'web');
    await build({ root, configFile: false, logLevel: 'warn', build: { outDir: 'dist', emptyOutDir: true } });
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };
    server = createServer((req, res) => {
      const path = normalize(join(root, 'dist', new URL(req.url ?? '/', 'http://x').pathname.replace(/\/$/, '/index.html')));
      if (!path.startsWith(join(root, 'dist')) || !existsSync(path)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }, 120_000);

  afterAll(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  async function loadIn(webgpu: boolean) {
    const userDataDir = mkdtempSync(join(tmpdir(), 'wgl-package-chromium-'));
    const xdg = mkdtempSync(join(tmpdir(), 'wgl-package-xdg-'));
    temps.push(userDataDir, xdg);
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', ...(webgpu ? ['--enable-unsafe-webgpu'] : []), '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', `--user-data-dir=${userDataDir}`],
      env: { ...process.env, XDG_CONFIG_HOME: xdg },
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${url}#${encodeURIComponent(JSON.stringify(CASE))}`, { waitUntil: 'load' });
      const handle = await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result, { timeout: 60_000 });
      return (await handle.jsonValue()) as { backend?: string; loss?: number; ortLoss?: number; error?: string };
    } finally {
      await browser.close();
    }
  }

  it.each([[true, 'webgpu'], [false, 'cpu']])('WebGPU flag %s: backend %s, the float64 loss', async (webgpu, backend) => {
    const res = await loadIn(webgpu);
    expect(res.error).toBeUndefined();
    expect(res.backend).toBe(backend);
    expect(closeToRef(res.loss), `loss ${res.loss}, float64 ${REF}`).toBe(true);
    expect(res.ortLoss, 'the same loss through webgpu-losses/ort').toBe(res.loss);
  }, 120_000);
});
