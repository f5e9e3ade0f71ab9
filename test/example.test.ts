/**
 * The browser training example (examples/, served by `npm run dev`) in headless Chromium, as a person
 * uses it: load /examples/ from the dev server's own config, pick a backend, press Train, wait. On
 * WebGPU (SwiftShader here) and on the CPU backend, with the page's default epochs and learning rates:
 *  - held-out accuracy ≥ 95 % on digits and ≥ 94 % on breast cancer;
 *  - the final weights match a float64 reference written here from the raw data file (its own
 *    features, zero start, full-batch GD, the same lr and epochs) within 1e-4·max(1, |w|);
 *  - every epoch's KL(y‖p) equals its CE (H(y) = 0 for one-hot targets), as the page claims;
 *  - a screenshot shows every series of every chart drawn (its colour inside the plot area), where the
 *    same count on the screenshot taken before training finds none.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import type { Browser, Page } from 'puppeteer-core';
import { createServer } from 'vite';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CHROMIUM = '/usr/lib/chromium/chromium';
/** The targets for held-out accuracy. */
const TARGET = { digits: 0.95, breastCancer: 0.94 } as const;
type ModelId = keyof typeof TARGET;

interface Metrics { ce: number; acc: number; entropy: number; kl: number }
interface ModelRun {
  lr: number; epochs: number; D: number; K: number;
  history: { train: Metrics; test: Metrics }[];
  params: number[]; msPerStep: number; msPerEpoch: number;
}
interface ExampleState {
  state: string; error: string | null; adapter: string | null;
  defaults: Record<ModelId, { lr: number; epochs: number }>;
  last: { backend: string; models: Record<ModelId, ModelRun> } | null;
  charts: { id: string; series: { label: string; stroke: string }[] }[];
}
const example = (page: Page) => page.evaluate(() => (window as unknown as { __example: ExampleState }).__example);

// ---- the float64 reference, from the raw data file ----
interface Raw { labels: number[]; heldOut: number[] }
const raw = JSON.parse(readFileSync(join(ROOT, 'examples/data/datasets.json'), 'utf8')) as {
  digits: Raw & { images: string[] }; breastCancer: Raw & { X: number[][] };
};

function features(id: ModelId): { X: number[][]; y: number[] } {
  const set = raw[id];
  const held = new Set(set.heldOut);
  const train = set.labels.map((_, i) => i).filter((i) => !held.has(i));
  let rows: number[][];
  if (id === 'digits') {
    rows = raw.digits.images.map((s) => [...s].map((ch) => parseInt(ch, 17) / 16));
  } else {
    // Standardised with the training rows' mean and population standard deviation.
    const X = raw.breastCancer.X;
    const D = X[0].length;
    const mean = Array.from({ length: D }, (_, d) => train.reduce((a, i) => a + X[i][d], 0) / train.length);
    const sd = Array.from({ length: D }, (_, d) => Math.sqrt(train.reduce((a, i) => a + (X[i][d] - mean[d]) ** 2, 0) / train.length));
    rows = X.map((r) => r.map((v, d) => (v - mean[d]) / sd[d]));
  }
  return { X: train.map((i) => rows[i]), y: train.map((i) => set.labels[i]) };
}

/** Full-batch GD from zero on the mean softmax CE (K classes) or sigmoid BCE (K = 1); returns W (D×K) then b. */
function referenceWeights(id: ModelId, K: number, lr: number, epochs: number): Float64Array {
  const { X, y } = features(id);
  const N = X.length, D = X[0].length;
  const theta = new Float64Array((D + 1) * K);
  const z = new Float64Array(K), g = new Float64Array((D + 1) * K);
  for (let e = 0; e < epochs; e++) {
    g.fill(0);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        let s = theta[D * K + k];
        for (let d = 0; d < D; d++) s += X[n][d] * theta[d * K + k];
        z[k] = s;
      }
      // dz = p − y: softmax minus one-hot, or sigmoid minus the 0/1 label.
      if (K === 1) {
        z[0] = 1 / (1 + Math.exp(-z[0])) - y[n];
      } else {
        const m = Math.max(...z);
        let sum = 0;
        for (let k = 0; k < K; k++) sum += (z[k] = Math.exp(z[k] - m));
        for (let k = 0; k < K; k++) z[k] = z[k] / sum - (k === y[n] ? 1 : 0);
      }
      for (let k = 0; k < K; k++) {
        for (let d = 0; d < D; d++) g[d * K + k] += X[n][d] * z[k] / N;
        g[D * K + k] += z[k] / N;
      }
    }
    for (let i = 0; i < theta.length; i++) theta[i] -= lr * g[i];
  }
  return theta;
}

// ---- the screenshot check ----
interface ChartPixels { id: string; width: number; counts: Record<string, number> }

/** Per chart and series: screenshot pixels of the series' colour inside the chart's plot area. */
async function seriesPixels(page: Page, save?: string): Promise<ChartPixels[]> {
  const png = await page.screenshot({ fullPage: true, encoding: 'base64' });
  if (save) {
    // Kept for a person to look at (test/tmp is git-ignored).
    mkdirSync(join(ROOT, 'test/tmp'), { recursive: true });
    writeFileSync(join(ROOT, 'test/tmp', save), Buffer.from(png, 'base64'));
  }
  return page.evaluate(async (b64: string) => {
    const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${b64}`)).blob());
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(bitmap, 0, 0);
    const ex = (window as unknown as { __example: ExampleState }).__example;
    return ex.charts.map((c) => {
      const r = document.querySelector(`#${c.id} .u-over`)!.getBoundingClientRect();
      const x0 = Math.round(r.left + scrollX), y0 = Math.round(r.top + scrollY), w = Math.round(r.width), h = Math.round(r.height);
      const px = ctx.getImageData(x0, y0, w, h).data;
      const counts: Record<string, number> = {};
      for (const s of c.series) {
        const [R, G, B] = [1, 3, 5].map((i) => parseInt(s.stroke.slice(i, i + 2), 16));
        let n = 0;
        for (let i = 0; i < px.length; i += 4) if (Math.hypot(px[i] - R, px[i + 1] - G, px[i + 2] - B) < 40) n++;
        counts[s.label] = n;
      }
      return { id: c.id, width: w, counts };
    });
  }, png);
}

let server: ViteDevServer | undefined;
let browser: Browser | undefined;
let page: Page;
const temps: string[] = [];
const pageErrors: string[] = [];
let blank: ChartPixels[] = [];

beforeAll(async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'wgl-example-'));
  temps.push(tmp);
  mkdirSync(join(tmp, 'xdg'));
  // The `npm run dev` config itself; its own dependency cache, so that parallel test files never share one.
  server = await createServer({
    configFile: join(ROOT, 'bench/page/vite.config.mjs'),
    cacheDir: join(tmp, 'vite'),
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: { ignored: ['**/*'] } },
  });
  await server.listen();
  const url = new URL('examples/', server.resolvedUrls!.local[0]).href;
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    protocolTimeout: 180_000,
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic', '--headless=new', `--user-data-dir=${join(tmp, 'profile')}`],
    env: { ...process.env, XDG_CONFIG_HOME: join(tmp, 'xdg') },
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1440, height: 1000, deviceScaleFactor: 1 });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  expect((await page.goto(url, { waitUntil: 'load' }))?.ok(), `GET ${url}`).toBe(true);
  await page.waitForFunction(() => ['ready', 'error'].includes((window as unknown as { __example?: ExampleState }).__example?.state ?? ''), { timeout: 120_000 });
  const s = await example(page);
  expect(s.error).toBeNull();
  expect(s.adapter, 'the page found no WebGPU adapter').toBeTruthy();
  blank = await seriesPixels(page);
}, 180_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await server?.close();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe.each(['webgpu', 'cpu'] as const)('the example trained on %s', (backend) => {
  let run: Record<ModelId, ModelRun>;
  let state: ExampleState;

  beforeAll(async () => {
    await page.click(`#backend-${backend}`);
    await page.click('#train');
    await page.waitForFunction((b: string) => {
      const e = (window as unknown as { __example: ExampleState }).__example;
      return e.state === 'error' || (e.state === 'done' && e.last?.backend === b);
    }, { timeout: 150_000, polling: 250 }, backend);
    state = await example(page);
    expect(state.error).toBeNull();
    run = state.last!.models;
  }, 180_000);

  it.each(Object.keys(TARGET) as ModelId[])('%s: reaches the held-out accuracy target with the default epochs and lr', (id) => {
    const m = run[id];
    expect({ lr: m.lr, epochs: m.epochs }).toEqual(state.defaults[id]);
    expect(m.history).toHaveLength(m.epochs + 1);
    expect(m.history.at(-1)!.test.acc).toBeGreaterThanOrEqual(TARGET[id]);
    expect(m.msPerStep).toBeGreaterThan(0);
    expect(m.msPerEpoch).toBeGreaterThanOrEqual(m.msPerStep);
  });

  it.each(Object.keys(TARGET) as ModelId[])('%s: final weights match a float64 reference trained the same way', (id) => {
    const m = run[id];
    const ref = referenceWeights(id, m.K, m.lr, m.epochs);
    expect(m.params).toHaveLength(ref.length);
    let worst = 0;
    m.params.forEach((w, i) => (worst = Math.max(worst, Math.abs(w - ref[i]) / Math.max(1, Math.abs(ref[i])))));
    expect(worst).toBeLessThanOrEqual(1e-4);
  });

  it.each(Object.keys(TARGET) as ModelId[])('%s: KL(y‖p) to the one-hot targets equals CE every epoch', (id) => {
    for (const h of run[id].history) {
      for (const s of [h.train, h.test]) {
        expect(Math.abs(s.kl - s.ce)).toBeLessThanOrEqual(1e-5 * Math.max(1, s.ce));
        expect(s.entropy).toBeGreaterThan(0);
      }
    }
  });

  it('draws every series of every chart (screenshot pixels), where the untrained page had none', async () => {
    const drawn = await seriesPixels(page, `example-${backend}.png`);
    expect(drawn.map((c) => c.id)).toEqual(state.charts.map((c) => c.id));
    expect(drawn).toHaveLength(6);
    for (const c of blank) for (const [label, n] of Object.entries(c.counts)) expect(n, `${c.id} ${label} before training`).toBeLessThan(c.width / 4);
    // A series drawn across the plot leaves at least a line's length of its colour (a dashed one half of it).
    for (const c of drawn) for (const [label, n] of Object.entries(c.counts)) expect(n, `${c.id} ${label}`).toBeGreaterThanOrEqual(c.width / 4);
    expect(pageErrors).toEqual([]);
  });
});
