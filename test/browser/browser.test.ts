/**
 * The library in headless Chromium (Debian's, README.md, "WebGPU without a GPU") through puppeteer-core: a Vite dev server
 * (127.0.0.1, a free port) serves test/browser/page, which imports the library's sources and the
 * shared case list (test/cases.ts) and runs cases through `createLosses()`.
 *
 * 1. With --enable-unsafe-webgpu: `createLosses()` picks WebGPU (SwiftShader), and a representative
 *    subset of the cases agrees with the CPU oracle in Node running the page's profile's plans.
 * 2. Without it: `createLosses()` falls back to the CPU and still gives the right answers.
 * A missing Chromium or adapter fails the tests; the browser and server are always closed.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { BASE_FLAGS, CHROMIUM, freePort } from './chromium.js';
import type { Browser, Page } from 'puppeteer-core';
import { createServer } from 'vite';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLosses } from '../../src/index.js';
import type { AdapterProfile } from '../../src/index.js';
import { browserCases, caseById, compareResults, decodeResult, METHODS, runCase } from '../cases.js';
import type { Encoded } from '../cases.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGE_ROOT = fileURLToPath(new URL('./page/', import.meta.url));

let server: ViteDevServer | undefined;
let url = '';
const temps: string[] = [];
const browsers: Browser[] = [];

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `Chromium is missing at ${CHROMIUM} (apt-get install -y chromium; README.md, "WebGPU without a GPU")`).toBe(true);
  const port = await freePort();
  server = await createServer({
    configFile: false,
    root: PAGE_ROOT,
    logLevel: 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port, strictPort: true, hmr: false, fs: { strict: true, allow: [ROOT] } },
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  await server.listen();
  url = `http://127.0.0.1:${port}/index.html`;
});

afterAll(async () => {
  for (const b of browsers) await b.close().catch(() => undefined);
  await server?.close();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

async function launch(webgpu: boolean): Promise<{ page: Page; log: string[] }> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'wgl-chromium-'));
  const xdg = mkdtempSync(join(tmpdir(), 'wgl-xdg-'));
  temps.push(userDataDir, xdg);
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir,
    args: [...BASE_FLAGS, ...(webgpu ? ['--enable-unsafe-webgpu'] : []), `--user-data-dir=${userDataDir}`],
    env: { ...process.env, XDG_CONFIG_HOME: xdg },
    protocolTimeout: 240_000,
  });
  browsers.push(browser);
  const page = await browser.newPage();
  const log: string[] = [];
  page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${String(e)}`));
  const res = await page.goto(url, { waitUntil: 'load' });
  expect(res?.ok(), `GET ${url}: ${res?.status()}`).toBe(true);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', { timeout: 60_000 })
    .catch((e: unknown) => { throw new Error(`the page did not load: ${String(e)}\n${log.join('\n')}`); });
  return { page, log };
}

interface SetupInfo {
  backend: string;
  profile: AdapterProfile | null;
  hasNavigatorGpu: boolean;
  adapter: null | { vendor: string; architecture: string; device: string; description: string; features: string[] };
}

async function setup(page: Page): Promise<SetupInfo> {
  return page.evaluate(() => (window as unknown as { setup(): Promise<SetupInfo> }).setup());
}

/** Runs cases in the page in batches (keeps each protocol message small), returns id → encoded result. */
async function runInPage(page: Page, ids: string[]): Promise<Map<string, Encoded>> {
  const out = new Map<string, Encoded>();
  for (let i = 0; i < ids.length; i += 25) {
    const batch = ids.slice(i, i + 25);
    const res = await page.evaluate((b: string[]) =>
      (window as unknown as { runCases(ids: string[]): Promise<{ id: string; result: Encoded }[]> }).runCases(b), batch);
    for (const r of res) out.set(r.id, r.result);
  }
  return out;
}

/** The inputs-captured-at-call-time scenarios (test/capture.ts), run in the page. */
async function float16InPage(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { float16Checks(): Promise<string[]> }).float16Checks());
}

function capturesInPage(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { captureChecks(): Promise<string[]> }).captureChecks());
}

async function compareAll(results: Map<string, Encoded>, oracle: Awaited<ReturnType<typeof createLosses>>, label: string): Promise<string[]> {
  const failures: string[] = [];
  for (const [id, enc] of results) {
    const c = caseById(id);
    const expected = await runCase(oracle, c).then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e }));
    if (enc.kind === 'error') {
      failures.push(`${label} ${id}: rejected in the page: ${enc.name}: ${enc.message}${expected.ok ? '' : ' (the Node oracle rejected too)'}`);
      continue;
    }
    if (!expected.ok) {
      failures.push(`${label} ${id}: the Node oracle rejected (${String(expected.e)}), the page did not`);
      continue;
    }
    const m = compareResults(decodeResult(enc), expected.v);
    if (m) failures.push(`${label} ${id}: ${m.message}`);
  }
  return failures;
}

const subset = browserCases();

describe('headless Chromium', () => {
  it('the subset covers every method and the thread, subgroup and split row families', () => {
    for (const m of METHODS) expect(subset.some((c) => c.method === m), m).toBe(true);
    const shapes = new Set(subset.map((c) => c.shape.join('x')));
    for (const s of ['3x5', '1000x10', '3x257', '1000x65', '3x32000', '1x131072', '4x5x3']) expect(shapes, s).toContain(s);
    for (const k of ['ignore', 'allIgnored', 'prob', 'binary', 'klProb', 'klLog', 'dy']) expect(subset.some((c) => c.targetKind === k), k).toBe(true);
    for (const k of ['extreme', 'neginf', 'neginfRow']) expect(subset.some((c) => c.input === k), k).toBe(true);
    expect(subset.some((c) => c.options.grad)).toBe(true);
  });

  it('with --enable-unsafe-webgpu: createLosses() picks WebGPU (SwiftShader) and agrees with the Node CPU oracle', { timeout: 400_000 }, async () => {
    const { page, log } = await launch(true);
    const info = await setup(page);
    expect(info.hasNavigatorGpu, `navigator.gpu is missing\n${log.join('\n')}`).toBe(true);
    expect(info.adapter, `requestAdapter() found no adapter\n${log.join('\n')}`).not.toBeNull();
    expect(info.backend, JSON.stringify(info)).toBe('webgpu');
    expect(info.profile).not.toBeNull();
    const profile = info.profile!;
    expect(profile.emulated, `SwiftShader must be detected as emulated: ${JSON.stringify(info.adapter)}`).toBe(true);
    const oracle = await createLosses({ backend: 'cpu', profile });
    const t0 = performance.now();
    const results = await runInPage(page, subset.map((c) => c.id));
    const ms = performance.now() - t0;
    expect(results.size).toBe(subset.length);
    const failures = await compareAll(results, oracle, 'chromium/webgpu');
    if (failures.length) {
      throw new Error(`${failures.length} of ${subset.length} cases failed in Chromium (profile ${JSON.stringify(profile)}, ${ms.toFixed(0)} ms):\n${failures.join('\n')}\n${log.slice(0, 20).join('\n')}`);
    }
    expect(await capturesInPage(page), 'inputs overwritten right after a call must not change its answer').toEqual([]);
    expect(await float16InPage(page), 'Float16Array inputs and results').toEqual([]);
  });

  it('without --enable-unsafe-webgpu: createLosses() falls back to the CPU and gives the right answers', async () => {
    const { page, log } = await launch(false);
    const info = await setup(page);
    expect(info.adapter, `an adapter was found without --enable-unsafe-webgpu: ${JSON.stringify(info.adapter)}`).toBeNull();
    expect(info.backend, JSON.stringify(info)).toBe('cpu');
    const oracle = await createLosses({ backend: 'cpu' });
    // The CPU backend is cheap: a fair slice of the subset, every method included.
    const ids = subset.filter((_, i) => i % 3 === 0).map((c) => c.id);
    for (const m of METHODS) if (!ids.some((id) => caseById(id).method === m)) ids.push(subset.find((c) => c.method === m)!.id);
    const results = await runInPage(page, ids);
    const failures = await compareAll(results, oracle, 'chromium/cpu');
    if (failures.length) throw new Error(`${failures.length} of ${ids.length} cases failed on the CPU fallback:\n${failures.join('\n')}\n${log.slice(0, 20).join('\n')}`);
    expect(await capturesInPage(page), 'inputs overwritten right after a call must not change its answer').toEqual([]);
    expect(await float16InPage(page), 'Float16Array inputs and results').toEqual([]);
  });
});
