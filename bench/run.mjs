#!/usr/bin/env node
// The benchmark runner (issue 4): runs the suite in Node (Dawn's WebGPU, the CPU) and in headless
// Chromium (the bench page, WebGPU on the same kind of adapter a user's browser has), prints one
// table and writes bench/results/<name>.json and .svg.
//
//   node bench/run.mjs [--quick | --full] [--ops ce,ceF16,ceBf16,softmax,softmaxF16,logSoftmax,bce,ceGrad,ceZ]
//                      [--shapes 4096x1000,16M]
//                      [--runs N] [--budget-ms MS] [--impls a,b] [--node-only | --browser-only]
//                      [--out NAME] [--lavapipe]
//
// Presets (bench/lib/cases.mjs): the default run, about 3.5 minutes on 2 cores, times every
// implementation on the key shapes; --full is the whole suite (all shapes, more runs); --quick is
// the CI preset. Results go to bench/results/latest.* for --full (-default and -quick suffixes for
// the others) when every WebGPU adapter of the run is emulated (SwiftShader), and to
// bench/results/<adapter-slug>.* when one is a real GPU, so real-GPU ratios never sit in the
// SwiftShader file. --out overrides the name. --lavapipe runs Node alone on Mesa's lavapipe (the
// tests' second software adapter; Chromium's WebGPU runs on its own SwiftShader), whose results go to
// bench/results/lavapipe*.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adapterSlug } from './lib/adapter.mjs';
import { ROOT, launchChromium, startPageServer } from './lib/browser.mjs';
import { PRESET_TIMING, selectCases } from './lib/cases.mjs';
import { createEta, minutes } from './lib/eta.mjs';
import { LAVAPIPE_ICD, nodeEnvironment } from './lib/node-env.mjs';
import { addRatios, evaluateTargets, svgChart, targetsText, textTable } from './lib/report.mjs';
import { runSuite } from './lib/suite.mjs';

function parseArgs(argv) {
  const o = { quick: false, full: false, nodeOnly: false, browserOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    const list = () => value().split(',').map((s) => s.trim()).filter(Boolean);
    switch (flag) {
      case '--quick': o.quick = true; break;
      case '--full': o.full = true; break;
      case '--node-only': o.nodeOnly = true; break;
      case '--browser-only': o.browserOnly = true; break;
      case '--ops': o.ops = list(); break;
      case '--shapes': o.shapes = list(); break;
      case '--impls': o.impls = list(); break;
      case '--runs': o.runs = Number(value()); break;
      case '--budget-ms': o.budgetMs = Number(value()); break;
      case '--out': o.out = value(); break;
      case '--lavapipe': o.lavapipe = true; o.nodeOnly = true; break;
      case '-h': case '--help':
        console.log(fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
        process.exit(0);
        break;
      default: throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  if (o.nodeOnly && o.browserOnly) throw new Error('--node-only and --browser-only exclude each other');
  if (o.quick && o.full) throw new Error('--quick and --full exclude each other');
  o.preset = o.quick ? 'quick' : o.full ? 'full' : 'default';
  if (o.runs !== undefined && !(o.runs >= 1)) throw new Error('--runs must be ≥ 1');
  return o;
}

let opts, cases;
try {
  opts = parseArgs(process.argv.slice(2));
  cases = selectCases({ ops: opts.ops, shapes: opts.shapes, preset: opts.preset });
  if (!cases.length) throw new Error('no case matches --ops/--shapes');
} catch (err) {
  console.error(`bench: ${err.message}`);
  process.exit(2);
}
const preset = PRESET_TIMING[opts.preset];
const timing = {
  runs: opts.runs ?? preset.runs,
  minRuns: Math.min(preset.minRuns, opts.runs ?? preset.minRuns),
  budgetMs: opts.budgetMs ?? preset.budgetMs,
};
const started = Date.now();
const stamp = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s`;
const isTTY = process.stderr.isTTY;
// The ETA's cost model: the committed full runs' rows (median and runs per measurement).
const previousRows = new Map();
for (const file of ['latest.json', 'latest-grad.json']) {
  try {
    for (const r of JSON.parse(fs.readFileSync(path.join(ROOT, 'bench/results', file), 'utf8')).rows) {
      previousRows.set(`${r.env}|${r.impl}|${r.device}|${r.mode}|${r.op}|${r.shape}`, r);
    }
  } catch { /* no earlier run: the ETA stays blank */ }
}
const envs = [...(opts.browserOnly ? [] : ['node']), ...(opts.nodeOnly ? [] : ['browser'])];
let eta;
function startEta() {
  if (eta) return;
  eta = createEta({ cases, envs, timing, only: opts.impls, previous: [...previousRows.values()] });
  if (previousRows.size) console.error(`bench: about ${minutes(eta.predictedMs)} of measurements at the speed of the committed full run (bench/results/latest.json)`);
}
function progress(env) {
  return (p) => {
    if (p.row) {
      const r = p.row;
      eta.done(r);
      const what = `${r.impl}${r.device === 'gpu' ? ` ${r.mode}` : ''} ${r.op} ${r.shape}`;
      const res = r.error ? `FAILED (${r.error})` : `${r.median_ms.toFixed(2)} ms${r.ok ? '' : '  WRONG'}`;
      if (isTTY) process.stderr.write('\r\x1b[K');
      process.stderr.write(`${stamp()} [${env} ${String(p.done).padStart(3)}/${p.total}] ${what.padEnd(48)} ${res.padEnd(12)} ${eta.text()}\n`);
    } else if (isTTY && p.current) {
      process.stderr.write(`\r\x1b[K${stamp()} [${env} ${String(p.done + 1).padStart(3)}/${p.total}] ${p.current} … ${eta.text()}`);
    }
  };
}

const header = {
  date: new Date().toISOString(),
  command: `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  preset: opts.preset,
  timing,
  cases: cases.map((c) => c.id),
  machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), loadavgStart: os.loadavg().map((v) => +v.toFixed(2)) },
  envs: {},
};
const rows = [];
// How busy the machine is before we start (other processes skew every timing): CPU time not idle
// over one second, from /proc/stat where there is one.
async function busyFraction() {
  const read = () => fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  try {
    const a = read();
    await new Promise((r) => setTimeout(r, 1000));
    const b = read();
    const d = b.map((v, i) => v - a[i]);
    const total = d.reduce((x, y) => x + y, 0);
    return total > 0 ? 1 - (d[3] + (d[4] ?? 0)) / total : null;
  } catch {
    return null;
  }
}
header.machine.busyBeforeStart = await busyFraction();
if (header.machine.busyBeforeStart > 0.2) console.error(`bench: warning: the CPUs were ${(100 * header.machine.busyBeforeStart).toFixed(0)}% busy before the start; other work skews the timings (recorded in the header)`);
console.error(`bench: ${opts.preset} preset${opts.preset === 'full' ? '' : ' (--full for the whole suite)'}, ${cases.length} cases (${cases.map((c) => c.id).join(', ')}); median of ≤ ${timing.runs} runs after warm-up, ≥ ${timing.minRuns}, ~${timing.budgetMs} ms per measurement`);

if (!opts.browserOnly) {
  if (opts.lavapipe) process.env.VK_ICD_FILENAMES = LAVAPIPE_ICD;
  const env = await nodeEnvironment({ log: (m) => console.error(m) });
  header.envs.node = env.header;
  console.error(`node ${env.header.node}: adapter ${env.header.adapter?.label ?? 'none'}`);
  startEta();
  rows.push(...await runSuite({ env: 'node', impls: env.impls, cases, timing, only: opts.impls, onProgress: progress('node') }));
  env.dispose();
}

if (!opts.nodeOnly) {
  startEta();
  const server = await startPageServer();
  const chromium = await launchChromium();
  try {
    const page = await chromium.browser.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') console.error(`page console: ${m.text()}`); });
    await page.exposeFunction('__benchProgress', progress('browser'));
    await page.goto(server.url, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__bench?.ready, { timeout: 120_000 });
    const res = await page.evaluate((o) => window.__bench.run(o), {
      cases, quick: opts.quick, impls: opts.impls, timing,
    });
    header.envs.browser = { ...res.header, browser: await chromium.browser.version() };
    console.error(`browser ${header.envs.browser.browser}: adapter ${res.header.adapter?.label ?? 'none'}`);
    rows.push(...res.rows);
  } finally {
    await chromium.close();
    await server.close();
  }
}

header.machine.loadavgEnd = os.loadavg().map((v) => +v.toFixed(2));
addRatios(rows);
console.log(textTable(rows));
const targets = evaluateTargets(rows);
if (targets.length) console.log(`\n== issue 4 targets (this run)\n${targetsText(targets)}`);

// Any adapter but SwiftShader (a real GPU, lavapipe) names the file: ratios never share a file across adapters.
const named = Object.values(header.envs).map((e) => e.adapter).filter((a) => a && (!a.emulated || !/swiftshader/i.test(a.label)));
// Default and quick runs never replace the committed full results.
const name = opts.out ?? `${named.length ? adapterSlug(named[0]) : 'latest'}${opts.preset === 'full' ? '' : `-${opts.preset}`}`;
const dir = path.join(ROOT, 'bench/results');
fs.mkdirSync(dir, { recursive: true });
const result = { header, targets, rows };
fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(result, null, 1) + '\n');
fs.writeFileSync(path.join(dir, `${name}.svg`), svgChart(result));
const wrong = rows.filter((r) => !r.ok);
console.log(`\n${rows.length} measurements in ${((Date.now() - started) / 1000).toFixed(0)} s; ${wrong.length} wrong or failed; wrote bench/results/${name}.json and bench/results/${name}.svg`);
process.exit(0);
