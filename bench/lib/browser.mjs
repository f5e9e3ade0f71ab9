// Headless Chromium (Debian's, via puppeteer-core) with WebGPU on, serving bench/page with Vite:
// shared by the runner (bench/run.mjs) and the page test (bench/page.test.ts).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/lib/chromium/chromium';

/** Starts the bench page's Vite dev server on a free local port; returns { url, close }. */
export async function startPageServer() {
  const { createServer } = await import('vite');
  const server = await createServer({
    configFile: path.join(ROOT, 'bench/page/vite.config.mjs'),
    logLevel: 'error',
    // No HMR and no file watching: an edit under the root must not reload the page mid-run.
    server: { host: '127.0.0.1', port: 5199, strictPort: false, open: false, hmr: false, watch: { ignored: ['**/*'] } },
  });
  await server.listen();
  const base = server.resolvedUrls.local[0];
  return { url: new URL('bench/page/', base).href, close: () => server.close() };
}

/** Launches headless Chromium with WebGPU (SwiftShader where there is no GPU) and a fresh profile. */
export async function launchChromium() {
  const puppeteer = (await import('puppeteer-core')).default;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-chromium-'));
  fs.mkdirSync(path.join(tmp, 'config'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    protocolTimeout: 60 * 60 * 1000,
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic', '--headless=new', `--user-data-dir=${path.join(tmp, 'profile')}`],
    env: { ...process.env, XDG_CONFIG_HOME: path.join(tmp, 'config'), XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? tmp },
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => {});
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}
