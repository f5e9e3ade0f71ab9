/**
 * The browser side of test/browser/browser.test.ts: served by Vite (root test/browser/page), it
 * imports the library from its sources, src/index.ts (WGSL through `?raw`), and the shared case list, and exposes
 *   window.setup()          → createLosses() (backend 'auto'), reporting backend, profile, adapter
 *   window.runCases(ids)    → each case's result, JSON-safe (NaN/±Infinity encoded), or its error
 *   window.captureChecks()  → failures of the inputs-captured-at-call-time scenarios (test/capture.ts)
 */
import { createLosses } from '../../../src/index.js';
import type { Losses } from '../../../src/index.js';
import { captureChecks } from '../../capture.js';
import { caseById, encodeResult, runCase } from '../../cases.js';
import type { Encoded } from '../../cases.js';

interface SetupInfo {
  backend: string;
  profile: unknown;
  hasNavigatorGpu: boolean;
  adapter: null | { vendor: string; architecture: string; device: string; description: string; features: string[] };
}

let losses: Losses | undefined;

async function setup(): Promise<SetupInfo> {
  losses?.dispose();
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  let adapter: SetupInfo['adapter'] = null;
  if (gpu) {
    const a = await gpu.requestAdapter();
    if (a) adapter = { vendor: a.info.vendor, architecture: a.info.architecture, device: a.info.device, description: a.info.description, features: [...a.features] as string[] };
  }
  losses = await createLosses();
  return { backend: losses.backend, profile: losses.profile ?? null, hasNavigatorGpu: !!gpu, adapter };
}

async function runCases(ids: string[]): Promise<{ id: string; result: Encoded; ms: number }[]> {
  if (!losses) throw new Error('call setup() first');
  const out: { id: string; result: Encoded; ms: number }[] = [];
  for (const id of ids) {
    const t0 = performance.now();
    let result: Encoded;
    try {
      result = encodeResult(await runCase(losses, caseById(id)));
    } catch (e) {
      result = { kind: 'error', name: e instanceof Error ? e.name : typeof e, message: e instanceof Error ? e.message : String(e) };
    }
    out.push({ id, result, ms: performance.now() - t0 });
  }
  return out;
}

async function captures(): Promise<string[]> {
  if (!losses) throw new Error('call setup() first');
  return captureChecks(losses);
}

Object.assign(window, { setup, runCases, captureChecks: captures });
document.getElementById('status')!.textContent = 'ready';
