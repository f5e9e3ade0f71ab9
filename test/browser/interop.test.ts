/**
 * Interop in headless Chromium (Debian's, WebGPU on SwiftShader) through puppeteer-core: ONNX Runtime
 * Web and TF.js share their GPUDevice with the library, and tensors cross in both directions without
 * leaving the GPU (test/interop/scenarios.ts, run by test/browser/interop-page). A Vite dev server
 * (127.0.0.1, a free port, COOP/COEP for ORT's shared WASM memory) serves the repository root: the
 * page imports the library and `webgpu-losses/ort` / `webgpu-losses/tfjs` from their sources, ORT and
 * TF.js from node_modules, the models from test/fixtures/onnx (scripts/onnx-head.py).
 *
 * Each scenario runs the classifier head (logits = hidden · W + b), its logits into
 * crossEntropy(…, { grad: true }), the gradient into the head's backward pass, and is checked against
 * float64 (test/interop/head.ts). The GPU scenarios also check that no buffer is mapped between the
 * runtime's forward pass and the end but the loss call's own few bytes (the reduced loss), and that
 * fromOrt's tensor is ORT's own output buffer.
 *
 * float16 on the GPU needs shader-f16, which SwiftShader lacks: here ORT's native WebGPU EP must
 * refuse the float16 model (a GPU with shader-f16 runs it end to end instead); float16 through ORT's
 * CPU tensors is tested here, and float16 on the GPU end to end in Node on lavapipe
 * (test/interop/ort-node.test.ts).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { BASE_FLAGS, CHROMIUM, freePort } from './chromium.js';
import type { Browser } from 'puppeteer-core';
import { createServer } from 'vite';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHead, C, N } from '../interop/head.js';
import type { Failure, OrtSpec, Outcome } from '../interop/scenarios.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FLAGS = [...BASE_FLAGS, '--enable-unsafe-webgpu'];

let server: ViteDevServer | undefined;
let browser: Browser | undefined;
let url = '';
let features: string[] = [];
const temps: string[] = [];

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `Chromium is missing at ${CHROMIUM} (apt-get install -y chromium; README.md, "WebGPU without a GPU")`).toBe(true);
  const port = await freePort();
  server = await createServer({
    configFile: false,
    root: ROOT,
    cacheDir: join(ROOT, 'node_modules/.vite-interop'),
    logLevel: 'warn',
    clearScreen: false,
    server: {
      host: '127.0.0.1', port, strictPort: true, hmr: false, watch: null, fs: { strict: true, allow: [ROOT] },
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    },
    // TF.js is CommonJS inside: pre-bundled up front (a dependency found mid-run would reload the
    // page). ORT Web is ESM with its WASM beside it: served as it is.
    optimizeDeps: {
      noDiscovery: true,
      include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-cpu'],
      exclude: ['onnxruntime-web'],
    },
  });
  await server.listen();
  url = `http://127.0.0.1:${port}/test/browser/interop-page/index.html`;
  const userDataDir = mkdtempSync(join(tmpdir(), 'wgl-interop-chromium-'));
  const xdg = mkdtempSync(join(tmpdir(), 'wgl-interop-xdg-'));
  temps.push(userDataDir, xdg);
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir,
    args: [...FLAGS, `--user-data-dir=${userDataDir}`],
    env: { ...process.env, XDG_CONFIG_HOME: xdg },
    protocolTimeout: 300_000,
  });
  const info = await inPage<{ description: string; architecture: string; features: string[] } | null>('adapter');
  expect(info, 'requestAdapter() found no adapter with --enable-unsafe-webgpu').not.toBeNull();
  features = info!.features;
}, 180_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await server?.close();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** Loads the page afresh (one ORT build or TF.js backend per page) and calls window[fn](...args). */
async function inPage<T>(fn: string, ...args: unknown[]): Promise<T> {
  const page = await browser!.newPage();
  const log: string[] = [];
  page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${String(e)}`));
  try {
    await page.setCacheEnabled(false);
    const res = await page.goto(url, { waitUntil: 'load' });
    expect(res?.ok(), `GET ${url}: ${res?.status()}`).toBe(true);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', { timeout: 120_000 })
      .catch((e: unknown) => { throw new Error(`the page did not load: ${String(e)}\n${log.join('\n')}`); });
    const r = await page.evaluate((f: string, a: unknown[]) => (window as unknown as Record<string, (...x: unknown[]) => Promise<unknown>>)[f](...a), fn, args);
    if (r && typeof r === 'object' && 'error' in r) (r as Failure & { log?: string[] }).log = log.slice(0, 30);
    return r as T;
  } finally {
    await page.close();
  }
}

function outcome(r: Outcome | (Failure & { log?: string[] }), what: string): Outcome {
  if ('error' in r) throw new Error(`${what}: ${r.error} (in phase '${r.phase}')\n${(r.log ?? []).join('\n')}`);
  return r;
}

/** No buffer is mapped before the end but the loss call's own small readback (never the logits or the gradient). */
function expectNoRoundTrip(r: Outcome, dtype: 'float32' | 'float16') {
  const early = r.maps.filter((m) => m.phase !== 'end');
  expect(early.filter((m) => m.phase !== 'loss'), JSON.stringify(r.maps)).toEqual([]);
  const logitsBytes = N * C * (dtype === 'float32' ? 4 : 2);
  expect(early.every((m) => m.size < logitsBytes), JSON.stringify(early)).toBe(true);
  expect(early.length).toBeLessThanOrEqual(2);
}

function expectHead(r: Outcome, dtype: 'float32' | 'float16') {
  expect(r.gradDtype).toBe(dtype);
  const { failures, errors } = checkHead(r, dtype);
  expect(failures, JSON.stringify(errors)).toEqual([]);
}

const ort = (build: 'jsep' | 'webgpu', spec: OrtSpec) => inPage<Outcome | Failure>('ort', build, spec);

describe('ONNX Runtime Web in Chromium (WebGPU EP on SwiftShader): GPU logits into the library and the gradient back', () => {
  it('onnxruntime-web (JSEP), float32: the library on ort.env.webgpu.device, no readback in between', async () => {
    const r = outcome(await ort('jsep', { dtype: 'float32', device: 'ort', labels: 'int32' }), 'jsep float32');
    expect(r.sameBuffer).toBe(true);
    expectNoRoundTrip(r, 'float32');
    expectHead(r, 'float32');
  });

  it('onnxruntime-web/webgpu (native EP), float32: the app\'s device given to ORT and to the library; int64 labels from an ORT tensor', async () => {
    const r = outcome(await ort('webgpu', { dtype: 'float32', device: 'app', labels: 'int64' }), 'webgpu float32');
    expect(r.sameBuffer).toBe(true);
    expectNoRoundTrip(r, 'float32');
    expectHead(r, 'float32');
  });

  it('onnxruntime-web/webgpu (native EP), float32: the library\'s own device given to ORT as an EP option', async () => {
    const r = outcome(await ort('webgpu', { dtype: 'float32', device: 'losses', labels: 'int32' }), 'webgpu float32 losses.device');
    expect(r.sameBuffer).toBe(true);
    expectNoRoundTrip(r, 'float32');
    expectHead(r, 'float32');
  });

  it('onnxruntime-web/webgpu, float16: end to end where the adapter has shader-f16; SwiftShader has not, and ORT refuses the model', async () => {
    const r = await ort('webgpu', { dtype: 'float16', device: 'app', labels: 'int32' });
    if (!features.includes('shader-f16')) {
      expect('error' in r && r.error, JSON.stringify(r).slice(0, 500)).toMatch(/requires f16 but the device does not support it/);
      return;
    }
    const o = outcome(r, 'webgpu float16');
    expectNoRoundTrip(o, 'float16');
    expectHead(o, 'float16');
  });

  it.each(['float32', 'float16'] as const)('ORT CPU tensors (wasm EP), %s: fromOrt and toOrt share the arrays', async (dtype) => {
    const r = outcome(await inPage<Outcome | Failure>('ortCpu', { dtype }), `cpu ${dtype}`);
    // Chromium has Float16Array: ORT's float16 CPU data is one, and so is the library's gradient.
    if (dtype === 'float16') expect(r.notes.join(' ')).toMatch(/float16 Float16Array.*grad: Float16Array/);
    expectHead(r, dtype);
  });
});

describe('TF.js in Chromium: tensors into the library through fromTfjs, the gradient back through toTfjs', () => {
  it('webgpu backend: the library on tf.backend().device, device logits and labels, no readback in between', async () => {
    const r = outcome(await inPage<Outcome | Failure>('tfjs', 'webgpu'), 'tfjs webgpu');
    expect(r.notes[0]).toMatch(/^logits device, labels device; library backend webgpu/);
    expectNoRoundTrip(r, 'float32');
    expectHead(r, 'float32');
  });

  it('webgpu backend over the app\'s device (WebGPUBackend re-registered as \'webgpu\'): the same, on one device', async () => {
    const r = outcome(await inPage<Outcome | Failure>('tfjs', 'webgpu-app'), 'tfjs webgpu-app');
    expect(r.notes[0]).toMatch(/^logits device, labels device; library backend webgpu/);
    expectNoRoundTrip(r, 'float32');
    expectHead(r, 'float32');
  });

  it('cpu backend: host tensors, nothing mapped at all', async () => {
    const r = outcome(await inPage<Outcome | Failure>('tfjs', 'cpu'), 'tfjs cpu');
    expect(r.notes[0]).toMatch(/^logits host, labels host; library backend cpu/);
    expect(r.maps).toEqual([]);
    expectHead(r, 'float32');
  });
});
