// The bench page in headless Chromium, as a person uses it: load it, pick the quick preset, press
// Run, wait, and check that the table and the chart show numbers (and that this library's rows and
// the floors are correct and none failed).
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'puppeteer-core';
import { launchChromium, startPageServer } from './lib/browser.mjs';

let server: Awaited<ReturnType<typeof startPageServer>>;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  server = await startPageServer();
  chromium = await launchChromium();
  page = await chromium.browser.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.url, { waitUntil: 'load' });
  await page.waitForFunction(() => (window as unknown as { __bench?: { ready: boolean } }).__bench?.ready, { timeout: 120_000 });
}, 180_000);

afterAll(async () => {
  await chromium?.close();
  await server?.close();
});

test('the quick preset runs in the page and renders a table and a chart with numbers', async () => {
  expect(await page.$eval('#adapter', (e) => e.textContent)).toMatch(/WebGPU adapter: /);
  await page.click('#preset-quick');
  const checked = await page.$$eval('input[name=case]:checked', (els) => els.map((e) => (e as HTMLInputElement).value));
  expect(checked).toEqual(['ce|4096x1000', 'softmax|4096x1000', 'bce|1M', 'ceGrad|4096x1000']);
  await page.click('#run');
  await page.waitForSelector('#table table.results', { timeout: 300_000 });

  const rows = await page.$$eval('#table tbody tr:not(.case)', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')));
  // columns: env impl dev mode median min max runs GB/s ×floor ×best speed-up-vs-f32 max_rel_err check
  expect(rows.length).toBeGreaterThanOrEqual(20);
  for (const r of rows) {
    expect(r[13], r.join(' ')).not.toBe('FAILED');
    expect(Number(r[4]), r.join(' ')).toBeGreaterThan(0);
    expect(Number(r[8]), r.join(' ')).toBeGreaterThan(0);
  }
  const ours = rows.filter((r) => r[1] === 'webgpu-losses');
  expect(ours.map((r) => `${r[2]} ${r[3]}`).sort()).toEqual([...Array(4).fill('cpu host'), ...Array(4).fill('gpu end-to-end'), ...Array(4).fill('gpu resident')]);
  for (const r of [...ours, ...rows.filter((x) => x[1].startsWith('floor-'))]) expect(r[13], r.join(' ')).toBe('ok');
  for (const r of rows.filter((x) => x[1] !== 'floor-gpu' && x[2] === 'gpu')) expect(r[9], r.join(' ')).toMatch(/^\d+(\.\d+)?×$/);

  const chart = await page.$eval('#chart svg', (svg) => ({
    bars: svg.querySelectorAll('rect[fill]:not([width="100%"])').length,
    floors: svg.querySelectorAll('line[stroke-width="2"]').length,
    values: Array.from(svg.querySelectorAll('text.val'), (t) => t.textContent ?? ''),
  }));
  const timedBars = rows.filter((r) => !r[1].startsWith('floor-')).length;
  expect(chart.bars).toBeGreaterThanOrEqual(timedBars);
  expect(chart.floors).toBeGreaterThanOrEqual(12); // 4 cases × (GPU resident, GPU end-to-end, CPU)
  expect(chart.values.length).toBe(timedBars);
  for (const v of chart.values) expect(v).toMatch(/\d+(\.\d+)? ms · \d+(\.\d+)?× floor/);
  expect(errors).toEqual([]);
}, 300_000);
