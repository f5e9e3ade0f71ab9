#!/usr/bin/env node
// The evaluation benchmark (issue 13): throughput of evaluating a test set streamed from .npy files,
// in Node, in one process.
//
//   node bench/eval.mjs [--scale S] [--runs N] [--quick] [--cases f32,f16] [--impls a,b]
//                       [--tfjs wasm[,cpu]] [--batch-rows N] [--cache DIR] [--out NAME] [--markdown]
//
// Cases: f32 = 262144×1000 float32 logits (1.05 GB), f16 = 8192×32000 float16 logits (0.52 GB),
// each with int64 labels, generated once (seeded) into --cache (default bench/.cache/eval, gitignored;
// the free space is checked first). --scale S multiplies the rows (0.25 for a quick look).
// Implementations (impl:backend): floor:cpu (read the batches), floor:webgpu (read + writeBuffer +
// wait for the queue), webgpu-losses:webgpu and webgpu-losses:cpu (the streaming evaluator, fed as the
// `eval` command feeds it), tfjs:wasm (and tfjs:cpu with --tfjs wasm,cpu): the same metrics with
// TF.js. Every metric is checked against a float64 pass over the same file; TF.js also against the
// library. --impls filters (names or name:backend; floors always run). --runs N timed passes each
// (default 3; --quick: 1), after a warm-up pass over the first two batches. Prints a table and writes
// bench/results/eval-latest.json (eval-latest-quick.json for --quick, another --scale, --cases,
// --impls or --batch-rows; eval-<adapter-slug>[-quick].json on a real GPU; --out NAME overrides).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { adapterSlug } from './lib/adapter.mjs';
import { EVAL_CASES, filesOf, freeBytes, generate, npyHeader, scaledCase } from './lib/eval-data.mjs';
import {
  BINS, defaultBatchRows, libraryEvaluator, loadReader, maxError, metricErrors, readFloor, reference64,
  TOP_K, tfjsEvaluator, uploadFloor,
} from './lib/eval-impls.mjs';
import { evalMarkdown, evalTables } from './lib/eval-report.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Issue 13's contract (test/eval-cases.ts METRIC_REL): every metric within 1e-6 of float64, on the scales of metricErrors. */
const TOL = 1e-6;
/** The brief's check of TF.js against the library. */
const TOL_VS_LIBRARY = 1e-5;
/** Bumped when reference64 changes (part of the cached reference's key). */
const REF_VERSION = 'ref2';

function parseArgs(argv) {
  const o = { scale: 1, quick: false, cases: Object.keys(EVAL_CASES), tfjs: ['wasm'], filtered: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const list = () => value().split(',').map((s) => s.trim()).filter(Boolean);
    switch (flag) {
      case '--scale': o.scale = Number(value()); break;
      case '--runs': o.runs = Number(value()); break;
      case '--quick': o.quick = true; break;
      case '--cases': o.cases = list(); o.filtered = true; break;
      case '--impls': o.impls = list(); o.filtered = true; break;
      case '--tfjs': o.tfjs = list(); break;
      case '--batch-rows': o.batchRows = Number(value()); o.filtered = true; break;
      case '--cache': o.cache = value(); break;
      case '--out': o.out = value(); break;
      case '--markdown': o.markdown = true; break;
      case '-h': case '--help':
        { // the comment at the top of this file
          const lines = fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1);
          const end = lines.findIndex((l) => !l.startsWith('//'));
          console.log(lines.slice(0, end).map((l) => l.slice(3)).join('\n'));
        }
        process.exit(0);
        break;
      default: throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  if (!(o.scale > 0 && o.scale <= 1)) throw new Error('--scale must be in (0, 1]');
  o.runs ??= o.quick ? 1 : 3;
  if (!(Number.isInteger(o.runs) && o.runs >= 1)) throw new Error('--runs must be an integer ≥ 1');
  if (o.batchRows !== undefined && !(Number.isInteger(o.batchRows) && o.batchRows >= 1)) throw new Error('--batch-rows must be an integer ≥ 1');
  for (const c of o.cases) if (!EVAL_CASES[c]) throw new Error(`unknown case "${c}" (cases: ${Object.keys(EVAL_CASES).join(', ')})`);
  for (const b of o.tfjs) if (b !== 'wasm' && b !== 'cpu') throw new Error(`--tfjs ${b}: expected wasm or cpu`);
  const known = ['floor', 'webgpu-losses', 'tfjs', 'floor:cpu', 'floor:webgpu', 'webgpu-losses:webgpu', 'webgpu-losses:cpu', 'tfjs:wasm', 'tfjs:cpu'];
  for (const name of o.impls ?? []) if (!known.includes(name)) throw new Error(`unknown implementation "${name}" (${known.join(', ')})`);
  return o;
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`bench/eval: ${err.message}`);
  process.exit(2);
}

const started = Date.now();
const stamp = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s`;
const log = (m) => console.error(m);

// ------------------------------------------------------------------ RSS

/** Largest process.memoryUsage().rss seen: sampled every 10 ms and after every batch. */
let peak = 0, peakAll = 0;
const sampleRss = () => {
  const r = process.memoryUsage.rss();
  if (r > peak) peak = r;
  if (r > peakAll) peakAll = r;
};
setInterval(sampleRss, 10).unref();
const MB = 1024 * 1024;
/** The kernel's high-water mark of the process (VmHWM), where /proc has it. */
function vmHwm() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------ data

const cacheDir = path.resolve(opts.cache ?? path.join(ROOT, 'bench/.cache/eval'));
const cases = opts.cases.map((id) => scaledCase(id, opts.scale));
const fileBytes = (c) => npyHeader('<f4', [c.rows, c.C]).length + npyHeader('<i8', [c.rows]).length + c.bytes;
const missing = cases.filter((c) => !filesOf(c, cacheDir).ready);
const free = freeBytes(cacheDir);
const need = missing.reduce((s, c) => s + fileBytes(c), 0);
const gb = (b) => `${(b / 1e9).toFixed(2)} GB`;
log(`bench/eval: disk: ${free.at} has ${gb(free.bytes)} free (df's Avail); the data takes ${gb(cases.reduce((s, c) => s + fileBytes(c), 0))} in ${cacheDir}, ${gb(need)} of it still to generate`);
if (need > 0 && need + 256 * MB > free.bytes) {
  log(`bench/eval: not enough free disk: ${gb(need)} to write (+256 MB spare) and ${gb(free.bytes)} free; use --cache DIR on a larger file system, or --scale S < ${opts.scale}`);
  process.exit(2);
}
for (const c of missing) generate(c, filesOf(c, cacheDir), { log });

// ------------------------------------------------------------------ environment

async function busyFraction() {
  const read = () => fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  try {
    const a = read();
    await new Promise((r) => setTimeout(r, 1000));
    const b = read();
    const d = b.map((v, i) => v - a[i]);
    const total = d.reduce((x, y) => x + y, 0);
    return total > 0 ? +(1 - (d[3] + (d[4] ?? 0)) / total).toFixed(3) : null;
  } catch {
    return null;
  }
}

const header = {
  date: new Date().toISOString(),
  command: `node bench/eval.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  scale: opts.scale, runs: opts.runs, warmup: 'one pass over the first two batches', tolerance: TOL, toleranceVsLibrary: TOL_VS_LIBRARY,
  evaluator: { topK: [TOP_K], calibrationBins: BINS },
  machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), loadavgStart: os.loadavg().map((v) => +v.toFixed(2)) },
  cache: { dir: cacheDir, freeBytes: free.bytes },
};
header.machine.busyBeforeStart = await busyFraction();
if (header.machine.busyBeforeStart > 0.2) log(`bench/eval: warning: the CPUs were ${(100 * header.machine.busyBeforeStart).toFixed(0)}% busy before the start; other work skews the timings (recorded in the header)`);

const { nodeEnvironment } = await import('./lib/node-env.mjs');
const env = await nodeEnvironment({ log });
header.node = env.header;
log(`node ${env.header.node}: adapter ${env.header.adapter?.label ?? 'none'}; TF.js ${env.header.tfjs ?? 'unavailable'}`);
const { createLosses } = await import('../dist/index.js');
const reader = await loadReader(cacheDir);

const impls = [readFloor()];
let gpuLosses;
if (env.gpuDevice) {
  gpuLosses = await createLosses({ backend: 'webgpu', device: env.gpuDevice });
  impls.push(uploadFloor(env.gpuDevice), libraryEvaluator(gpuLosses, 'webgpu'));
}
const cpuLosses = await createLosses({ backend: 'cpu' });
impls.push(libraryEvaluator(cpuLosses, 'cpu'));
if (env.header.tfjs) {
  const tf = await import('@tensorflow/tfjs-core');
  for (const b of opts.tfjs) impls.push(tfjsEvaluator(tf, b));
}
for (const name of opts.impls ?? []) {
  if (!impls.some((i) => name === i.impl || name === `${i.impl}:${i.backend}`)) log(`bench/eval: ${name} is not available here (no WebGPU adapter, no TF.js, or a TF.js backend not named by --tfjs)`);
}
const chosen = impls.filter((i) => i.role === 'floor' || !opts.impls || opts.impls.includes(i.impl) || opts.impls.includes(`${i.impl}:${i.backend}`));
header.impls = chosen.map((i) => ({ impl: i.impl, backend: i.backend, role: i.role, what: i.what }));
sampleRss();
header.rssStartMB = +(process.memoryUsage.rss() / MB).toFixed(1);

// ------------------------------------------------------------------ runs

const median = (v) => {
  const s = [...v].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The float64 reference of a case, cached beside its files (keyed by their sizes and times). */
async function referenceOf(c, files, batchRows) {
  const cache = files.logits.replace(/-logits\.npy$/, '.ref.json');
  const key = [REF_VERSION, ...[files.logits, files.labels].map((p) => { const s = fs.statSync(p); return `${s.size}:${s.mtimeMs}`; })].join('|');
  try {
    const saved = JSON.parse(fs.readFileSync(cache, 'utf8'));
    if (saved.key === key) return saved.ref;
  } catch { /* none yet */ }
  const t0 = performance.now();
  const ref = await reference64({ reader, files, batchRows, onBatch: sampleRss });
  log(`${stamp()} ${c.id} ${c.shape}: float64 reference in ${((performance.now() - t0) / 1000).toFixed(1)} s (cached in ${path.basename(cache)})`);
  fs.writeFileSync(cache, JSON.stringify({ key, ref }, null, 1));
  return ref;
}

const results = [];
const rows = [];
for (const c of cases) {
  const files = filesOf(c, cacheDir);
  const itemBytes = c.dtype === 'float32' ? 4 : 2;
  const batchRows = Math.min(c.rows, opts.batchRows ?? defaultBatchRows(c.C * itemBytes, c.rows));
  const batches = Math.ceil(c.rows / batchRows);
  const ref = await referenceOf(c, files, batchRows);
  results.push({ case: c.id, shape: c.shape, dtype: c.dtype, labels: 'int64', rows: c.rows, C: c.C, bytes: c.bytes, batchRows, batches, files, reference: ref });
  log(`${stamp()} ${c.id} ${c.shape} ${c.dtype}: ${gb(c.bytes)}, ${batches} batch${batches === 1 ? '' : 'es'} of ${batchRows} rows; reference CE ${ref.metrics.crossEntropy.toFixed(6)}, accuracy ${ref.metrics.accuracy.toFixed(4)}, ECE ${ref.metrics.ece.toFixed(6)} (${ref.edgeRows} rows at a bin edge)`);
  for (const impl of chosen) {
    const row = {
      case: c.id, impl: impl.impl, backend: impl.backend, role: impl.role, shape: c.shape, dtype: c.dtype, rows: c.rows, bytes: c.bytes,
      batch_rows: batchRows, batches, median_s: null, min_s: null, max_s: null, runs: 0, times_s: [], warmup_s: null,
      rows_per_s: null, gbps: null, ratio_floor: null, ratio_tfjs: null, max_rel_err: null, errors: null, metrics: null,
      tol: TOL, ok: false, rss_peak_mb: null,
    };
    peak = 0;
    sampleRss();
    row.rss_start_mb = +(process.memoryUsage.rss() / MB).toFixed(1);
    const ctx = { reader, files, batchRows, onBatch: sampleRss };
    const what = `${impl.impl}:${impl.backend}`;
    try {
      let t0 = performance.now();
      await impl.pass({ ...ctx, limitRows: Math.min(c.rows, 2 * batchRows) });
      row.warmup_s = (performance.now() - t0) / 1000;
      let last;
      for (let r = 0; r < opts.runs; r++) {
        t0 = performance.now();
        last = await impl.pass(ctx);
        const dt = (performance.now() - t0) / 1000;
        row.times_s.push(+dt.toFixed(4));
        log(`${stamp()} ${c.id} ${what.padEnd(22)} run ${r + 1}/${opts.runs} ${dt.toFixed(2)} s`);
      }
      row.runs = row.times_s.length;
      row.median_s = median(row.times_s);
      row.min_s = Math.min(...row.times_s);
      row.max_s = Math.max(...row.times_s);
      row.rows_per_s = c.rows / row.median_s;
      row.gbps = c.bytes / row.median_s / 1e9;
      if (impl.role === 'floor') {
        const good = last && last.rows === c.rows && last.bytes === c.bytes;
        row.max_rel_err = good ? 0 : Infinity;
        row.ok = good;
        if (!good) row.note = `wrong: the floor moved ${last?.bytes} bytes of ${c.bytes}`;
      } else {
        row.metrics = last;
        row.errors = metricErrors(last, ref.metrics, ref);
        row.max_rel_err = maxError(row.errors);
        row.ok = row.max_rel_err <= TOL;
        if (!row.ok) {
          const bad = Object.entries(row.errors).filter(([, e]) => !(e <= TOL)).map(([k, e]) => `${k} ${Number.isFinite(e) ? e.toExponential(1) : 'not equal'}`);
          row.note = `wrong vs float64: ${bad.join(', ')}`;
        }
      }
    } catch (err) {
      row.error = String(err?.message ?? err).split('\n')[0].slice(0, 300);
      row.note = `failed: ${row.error}`;
      log(`${stamp()} ${c.id} ${what.padEnd(22)} FAILED: ${row.error}`);
    }
    sampleRss();
    row.rss_peak_mb = +(peak / MB).toFixed(1);
    if (!Number.isFinite(row.max_rel_err)) row.max_rel_err = row.max_rel_err === null ? null : 'Infinity';
    rows.push(row);
  }
  // Ratios: GPU rows against the upload floor, CPU rows against the read floor; everything against
  // the fastest TF.js row that is correct (or the fastest at all when none is, noted).
  const mine = rows.filter((r) => r.case === c.id);
  const floor = (backend) => mine.find((r) => r.role === 'floor' && r.backend === backend && r.median_s);
  const tfRows = mine.filter((r) => r.impl === 'tfjs' && r.median_s).sort((a, b) => a.median_s - b.median_s);
  const tf = tfRows.find((r) => r.ok) ?? tfRows[0];
  const libs = mine.filter((r) => r.role === 'library' && r.metrics);
  for (const r of mine) {
    if (!r.median_s) continue;
    const f = r.role === 'floor' ? floor('cpu') : floor(r.backend === 'webgpu' ? 'webgpu' : 'cpu');
    if (f) { r.ratio_floor = r.median_s / f.median_s; r.floor = `floor:${f.backend}`; }
    if (tf) { r.ratio_tfjs = r.median_s / tf.median_s; r.tfjs = `tfjs:${tf.backend}${tf.ok ? '' : ' (wrong)'}`; }
    if (r.impl === 'tfjs' && r.metrics && libs.length) {
      r.vs_library = {};
      for (const l of libs) r.vs_library[l.backend] = maxError(metricErrors(r.metrics, l.metrics, ref));
      const worst = Math.max(...Object.values(r.vs_library));
      r.vs_library_max = worst;
      if (!(worst <= TOL_VS_LIBRARY)) {
        r.ok = false;
        r.note = `${r.note ? `${r.note}; ` : ''}differs from the library by ${worst.toExponential(1)} > ${TOL_VS_LIBRARY}`;
      }
    }
  }
}

header.machine.loadavgEnd = os.loadavg().map((v) => +v.toFixed(2));
header.rssPeakMB = +(peakAll / MB).toFixed(1);
header.vmHwmMB = vmHwm();
const result = { header, cases: results, rows };
console.log(evalTables(result));

const real = env.header.adapter && !env.header.adapter.emulated ? adapterSlug(env.header.adapter) : null;
const standard = opts.scale === 1 && !opts.quick && !opts.filtered;
const name = opts.out ?? `eval-${real ?? 'latest'}${standard ? '' : '-quick'}`;
const dir = path.join(ROOT, 'bench/results');
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(result, null, 1) + '\n');
const wrong = rows.filter((r) => !r.ok);
console.log(`\n${rows.length} rows in ${((Date.now() - started) / 1000).toFixed(0)} s; ${wrong.length} wrong or failed; peak RSS ${header.rssPeakMB} MB (VmHWM ${header.vmHwmMB ?? '—'} MB); wrote bench/results/${name}.json`);
if (opts.markdown) console.log(`\n${evalMarkdown(result)}`);
gpuLosses?.dispose();
cpuLosses.dispose();
env.dispose();
process.exit(0);
