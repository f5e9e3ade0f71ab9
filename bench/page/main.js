// The bench page: pick cases and implementations, run them here, watch progress, read the table and
// the chart. `window.__bench.run(options)` runs the same suite headless (bench/run.mjs, the page test).

import { FULL_SHAPES, OP_LABELS, OPS, QUICK_SHAPES, selectCases } from '../lib/cases.mjs';
import { addRatios, htmlTable, svgChart } from '../lib/report.mjs';
import { runSuite } from '../lib/suite.mjs';
import { browserEnvironment } from './env.js';

const $ = (id) => document.getElementById(id);
const logLine = (s) => { $('log').textContent += `${s}\n`; $('log').scrollTop = $('log').scrollHeight; };

let envPromise;
const environment = () => (envPromise ??= browserEnvironment({ log: logLine }));

// Case checkboxes: every op × every shape of the full suite and of the quick preset.
for (const op of OPS) {
  for (const shape of [...new Set([...FULL_SHAPES[op], ...QUICK_SHAPES[op]])]) {
    const l = document.createElement('label');
    l.innerHTML = `<input type="checkbox" name="case" value="${op}|${shape}" checked> <span class="op">${OP_LABELS[op]}</span> ${shape}`;
    $('cases').append(l);
  }
}
function setPreset(quick) {
  const shapes = quick ? QUICK_SHAPES : FULL_SHAPES;
  for (const box of document.querySelectorAll('input[name=case]')) {
    const [op, shape] = box.value.split('|');
    box.checked = shapes[op].includes(shape);
  }
  $('runs').value = quick ? 5 : 10;
  $('budget').value = quick ? 800 : 2500;
}
$('preset-quick').onclick = () => setPreset(true);
$('preset-full').onclick = () => setPreset(false);
setPreset(false);

let stopRequested = false;
$('stop').onclick = () => { stopRequested = true; $('status').textContent = 'stopping after this measurement…'; };

function show(result) {
  $('table').innerHTML = htmlTable(result.rows);
  $('chart').innerHTML = svgChart(result);
  const blob = new Blob([JSON.stringify(result, null, 1)], { type: 'application/json' });
  $('download').href = URL.createObjectURL(blob);
  $('download').hidden = false;
}

/** Runs the suite; options as bench/run.mjs: { ops, shapes, quick, impls, timing, cases }. */
async function run(options = {}) {
  const env = await environment();
  const cases = options.cases ?? selectCases(options);
  const timing = options.timing ?? (options.quick ? { runs: 5, minRuns: 3, budgetMs: 800 } : { runs: 10, minRuns: 3, budgetMs: 2500 });
  $('progress').hidden = false;
  $('log').textContent = '';
  stopRequested = false;
  const started = performance.now();
  const rows = await runSuite({
    env: env.env, impls: env.impls, cases, timing, only: options.impls, shouldStop: () => stopRequested,
    onProgress: (p) => {
      $('bar').max = p.total;
      $('bar').value = p.done;
      if (p.current) $('status').textContent = `${p.done + 1}/${p.total}: ${p.current}`;
      if (p.row) {
        const r = p.row;
        logLine(`${r.impl}${r.device === 'gpu' ? ` ${r.mode}` : ''} ${r.op} ${r.shape}: ${r.error ? `FAILED (${r.error})` : `${r.median_ms.toFixed(2)} ms${r.ok ? '' : ' WRONG'}`}`);
      }
      window.__benchProgress?.(p);
    },
  });
  addRatios(rows);
  const result = {
    header: { date: new Date().toISOString(), preset: options.quick ? 'quick' : 'custom', timing, cases: cases.map((c) => c.id), envs: { browser: env.header } },
    rows,
  };
  $('status').textContent = `${rows.length} measurements in ${((performance.now() - started) / 1000).toFixed(0)} s`;
  show(result);
  return { header: env.header, rows };
}

$('controls').onsubmit = async (e) => {
  e.preventDefault();
  const cases = [...document.querySelectorAll('input[name=case]:checked')].map((b) => {
    const [op, shape] = b.value.split('|');
    return selectCases({ ops: [op], shapes: [shape] })[0];
  });
  const impls = [...document.querySelectorAll('input[name=impl]:checked')].map((b) => b.value);
  $('run').disabled = true;
  $('stop').disabled = false;
  try {
    await run({ cases, impls, timing: { runs: Number($('runs').value), minRuns: Math.min(3, Number($('runs').value)), budgetMs: Number($('budget').value) } });
  } catch (err) {
    logLine(`error: ${err.stack ?? err}`);
  } finally {
    $('run').disabled = false;
    $('stop').disabled = true;
  }
};

window.__bench = { ready: false, run };
environment().then((env) => {
  const a = env.header.adapter;
  $('adapter').textContent = a
    ? `WebGPU adapter: ${a.label}${a.emulated ? ' (emulated on the CPU: expect CPU-like GPU numbers)' : ''} · ${env.header.cores} logical cores`
    : `No WebGPU here (${env.header.webgpuError}): CPU implementations only.`;
  for (const i of env.impls.filter((x) => x.role !== 'floor')) {
    const l = document.createElement('label');
    l.innerHTML = `<input type="checkbox" name="impl" value="${i.impl}:${i.device}" checked> ${i.impl} <small>(${i.device})</small>`;
    $('impls').append(l);
  }
  window.__bench.ready = true;
}, (err) => {
  $('adapter').textContent = `Setup failed: ${err.message}`;
  window.__bench.error = String(err);
});
