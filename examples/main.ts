/**
 * The training page: loads the two data sets, trains both models on the chosen backend, plots the
 * metrics of every epoch with uPlot and keeps the time per epoch of each backend's last run.
 * `window.__example` exposes the state, the defaults, each run's metrics and final weights and the
 * charts' series (test/example.test.ts drives the page through it and the form).
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { createLosses } from '../src/index.js';
import type { Losses } from '../src/index.js';
import { problems } from './datasets.js';
import type { Problem, RawData } from './datasets.js';
import { cpuTrainer, gpuTrainer } from './train.js';
import type { Evaluation, Trainer } from './train.js';

type Backend = 'webgpu' | 'cpu';

/** Defaults that reach ≥ 95 % (digits) and ≥ 94 % (breast cancer) held-out accuracy from zero weights. */
const DEFAULTS: Record<Problem['id'], { lr: number; epochs: number }> = {
  digits: { lr: 2, epochs: 100 },
  breastCancer: { lr: 0.5, epochs: 50 },
};

export interface ModelRun {
  lr: number;
  epochs: number;
  D: number;
  K: number;
  /** Metrics of the weights after 0, 1, …, epochs steps. */
  history: Evaluation[];
  /** The training loss each step's fused gradient call returned (before its update). */
  stepLoss: number[];
  /** W (D×K, row-major) then b (K), after the last step. */
  params: number[];
  msPerStep: number;
  msPerEpoch: number;
}
export interface Run { backend: Backend; models: Partial<Record<Problem['id'], ModelRun>> }

interface SeriesInfo { label: string; stroke: string; width: number; dash?: number[] }
interface ChartInfo { id: string; title: string; series: SeriesInfo[] }

const state = {
  state: 'loading' as 'loading' | 'ready' | 'running' | 'done' | 'error',
  error: null as string | null,
  adapter: null as string | null,
  defaults: DEFAULTS,
  runs: {} as Partial<Record<Backend, Run>>,
  last: null as Run | null,
  charts: [] as ChartInfo[],
  train: (backend?: Backend) => train(backend ?? selectedBackend()),
};
Object.assign(window, { __example: state });

const $ = (id: string) => document.getElementById(id)!;
const status = (s: string, error = false) => {
  $('status').textContent = s;
  $('status').className = error ? 'error' : '';
};
const selectedBackend = (): Backend => (document.querySelector<HTMLInputElement>('input[name=backend]:checked')!.value as Backend);
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

// The three charts of a model: each split's CE with its decomposition, and both accuracies.
// Lines that may coincide stay visible: KL dashed over CE, held-out accuracy thin over a wide train line.
const LOSS_SERIES: SeriesInfo[] = [
  { label: 'CE (NLL)', stroke: '#d62728', width: 2.5 },
  { label: 'KL(y‖p)', stroke: '#ffb000', width: 2, dash: [6, 6] },
  { label: 'H(p)', stroke: '#1f77b4', width: 2.5 },
];
const ACC_SERIES: SeriesInfo[] = [
  { label: 'train', stroke: '#2ca02c', width: 4 },
  { label: 'held-out', stroke: '#9467bd', width: 1.5 },
];
const chartsOf = (id: string): ChartInfo[] => [
  { id: `${id}-train`, title: 'Training split (nats)', series: LOSS_SERIES },
  { id: `${id}-test`, title: 'Held-out split (nats)', series: LOSS_SERIES },
  { id: `${id}-acc`, title: 'Accuracy', series: ACC_SERIES },
];
const plots = new Map<string, uPlot>();

function makeChart(info: ChartInfo, epochs: number): void {
  plots.get(info.id)?.destroy();
  const box = $(info.id).querySelector<HTMLElement>('.plot')!;
  const percent = info.series === ACC_SERIES;
  const opts: uPlot.Options = {
    width: box.clientWidth || 440,
    height: 230,
    scales: { x: { time: false, range: [0, epochs] }, y: percent ? { range: (_u, lo, hi) => [Math.min(lo, 0.8), Math.max(hi, 1)] } : { range: (_u, _lo, hi) => [0, hi * 1.05 || 1] } },
    axes: [{ label: 'epoch' }, { values: percent ? (_u, v) => v.map((x) => `${Math.round(100 * x)} %`) : undefined, size: 55 }],
    series: [
      { label: 'epoch' },
      ...info.series.map((s) => ({ label: s.label, stroke: s.stroke, width: s.width, dash: s.dash, points: { show: false },
        value: (_u: uPlot, v: number | null) => (v == null ? '–' : percent ? pct(v) : v.toFixed(4)) })),
    ],
    legend: { live: true },
  };
  plots.set(info.id, new uPlot(opts, [[], ...info.series.map(() => [])], box));
}

function updateCharts(id: string, history: Evaluation[]): void {
  const x = history.map((_, e) => e);
  const split = (k: 'train' | 'test') => [x, history.map((h) => h[k].ce), history.map((h) => h[k].kl), history.map((h) => h[k].entropy)];
  plots.get(`${id}-train`)!.setData(split('train') as uPlot.AlignedData);
  plots.get(`${id}-test`)!.setData(split('test') as uPlot.AlignedData);
  plots.get(`${id}-acc`)!.setData([x, history.map((h) => h.train.acc), history.map((h) => h.test.acc)]);
}

let probs: Problem[] = [];
let gpu: { device: GPUDevice; losses: Losses } | undefined;
let cpu: Losses | undefined;

async function setup(): Promise<void> {
  const raw = (await (await fetch(new URL('./data/datasets.json', import.meta.url))).json()) as RawData;
  probs = problems(raw);
  $('provenance').innerHTML = `Data: ${[raw.digits, raw.breastCancer].map((d) => `${d.name} — ${d.citation}`).join('; ')}. ${raw.licence}
    Converted by <code>scripts/datasets.py</code>; held-out split: a fixed stratified 25 %.`;
  for (const p of probs) {
    const d = DEFAULTS[p.id];
    $('hyper').insertAdjacentHTML('beforeend', `<div><b>${p.id === 'digits' ? 'digits' : 'breast cancer'}</b>
      <label>lr <input id="${p.id}-lr" type="number" min="0" step="any" value="${d.lr}"></label>
      <label>epochs <input id="${p.id}-epochs" type="number" min="1" step="1" value="${d.epochs}"></label></div>`);
    const charts = chartsOf(p.id);
    state.charts.push(...charts);
    $('models').insertAdjacentHTML('beforeend', `<section class="model" id="model-${p.id}">
      <h2>${p.title}</h2>
      <p class="summary" id="${p.id}-summary">${p.train.N} training / ${p.test.N} held-out samples, ${p.D} features,
        ${p.loss === 'crossEntropy' ? 'softmax cross-entropy (crossEntropy)' : 'sigmoid BCE (binaryCrossEntropyWithLogits)'}.</p>
      <div class="charts">${charts.map((c) => `<div class="chart" id="${c.id}"><h3>${c.title}</h3><div class="plot"></div></div>`).join('')}</div>
    </section>`);
    for (const c of charts) makeChart(c, d.epochs);
  }

  try {
    const adapter = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error(navigator.gpu ? 'requestAdapter() found no adapter' : 'navigator.gpu is undefined');
    // The subgroups feature lets the library pick its subgroup kernels on this shared device.
    const device = await adapter.requestDevice({ requiredFeatures: adapter.features.has('subgroups') ? ['subgroups' as GPUFeatureName] : [] });
    const losses = await createLosses({ backend: 'webgpu', device });
    gpu = { device, losses };
    const i = adapter.info;
    state.adapter = [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' · ') || 'unnamed adapter';
    const emulated = /swiftshader|llvmpipe|lavapipe|software/i.test(state.adapter);
    $('adapter').textContent = `WebGPU adapter: ${state.adapter}${emulated ? ' (a GPU emulated on the CPU: its times are not a GPU\'s)' : ''}`;
    device.lost.then((info) => status(`the GPU device was lost: ${info.message}`, true));
  } catch (err) {
    $('adapter').textContent = `No WebGPU here (${String((err as Error)?.message ?? err)}): the CPU backend only.`;
    ($('backend-webgpu') as HTMLInputElement).disabled = true;
    ($('backend-cpu') as HTMLInputElement).checked = true;
  }
  cpu = await createLosses({ backend: 'cpu' });
}

const yieldToBrowser = () => new Promise((r) => setTimeout(r, 0));

async function trainModel(backend: Backend, p: Problem): Promise<ModelRun> {
  const lr = Number(($(`${p.id}-lr`) as HTMLInputElement).value);
  const epochs = Math.max(1, Math.round(Number(($(`${p.id}-epochs`) as HTMLInputElement).value)));
  for (const c of chartsOf(p.id)) makeChart(c, epochs);
  const trainer: Trainer = backend === 'webgpu' ? gpuTrainer(gpu!.device, gpu!.losses, p, lr) : cpuTrainer(cpu!, p, lr);
  const history: Evaluation[] = [];
  const stepLoss: number[] = [];
  let stepMs = 0, evalMs = 0, shown = performance.now();
  const summary = $(`${p.id}-summary`);
  try {
    let t = performance.now();
    history.push(await trainer.evaluate());
    for (let e = 1; e <= epochs; e++) {
      const t0 = performance.now();
      stepLoss.push(await trainer.step());
      const t1 = performance.now();
      history.push(await trainer.evaluate());
      t = performance.now();
      stepMs += t1 - t0;
      evalMs += t - t1;
      // Redraw a few times a second, and let the browser paint; not counted in the epoch times.
      if (t - shown > 100 || e === epochs) {
        const h = history[e];
        updateCharts(p.id, history);
        summary.textContent = `epoch ${e}/${epochs} on ${backend === 'webgpu' ? 'WebGPU' : 'the CPU'}: `
          + `train CE ${h.train.ce.toFixed(4)}, accuracy ${pct(h.train.acc)}; held-out CE ${h.test.ce.toFixed(4)}, `
          + `accuracy ${pct(h.test.acc)}; ${(stepMs / e).toFixed(2)} ms / step, ${((stepMs + evalMs) / e).toFixed(2)} ms / epoch with metrics`;
        await yieldToBrowser();
        shown = performance.now();
      }
    }
    const params = Array.from(await trainer.params());
    return { lr, epochs, D: p.D, K: p.K, history, stepLoss, params, msPerStep: stepMs / epochs, msPerEpoch: (stepMs + evalMs) / epochs };
  } finally {
    trainer.dispose();
  }
}

function showResults(): void {
  const rows: string[] = [];
  for (const run of Object.values(state.runs)) {
    for (const p of probs) {
      const m = run.models[p.id];
      if (!m) continue;
      const f = m.history[m.history.length - 1];
      rows.push(`<tr><td>${run.backend === 'webgpu' ? 'WebGPU' : 'CPU'}</td><td>${p.id === 'digits' ? 'digits' : 'breast cancer'}</td>
        <td class="num">${m.epochs}</td><td class="num">${m.lr}</td><td class="num">${m.msPerStep.toFixed(2)}</td>
        <td class="num">${m.msPerEpoch.toFixed(2)}</td><td class="num">${pct(f.train.acc)}</td><td class="num">${pct(f.test.acc)}</td>
        <td class="num">${f.test.ce.toFixed(4)}</td></tr>`);
    }
  }
  $('results').querySelector('tbody')!.innerHTML = rows.join('');
}

async function train(backend: Backend): Promise<Run> {
  if (state.state === 'running') throw new Error('already training');
  if (backend === 'webgpu' && !gpu) throw new Error('no WebGPU adapter');
  state.state = 'running';
  ($('train') as HTMLButtonElement).disabled = true;
  const run: Run = { backend, models: {} };
  try {
    for (const p of probs) {
      status(`training ${p.id === 'digits' ? 'digits' : 'breast cancer'} on ${backend === 'webgpu' ? 'WebGPU' : 'the CPU'}…`);
      run.models[p.id] = await trainModel(backend, p);
    }
    state.runs[backend] = run;
    state.last = run;
    showResults();
    status(`done on ${backend === 'webgpu' ? 'WebGPU' : 'the CPU'}`);
    state.state = 'done';
    return run;
  } catch (err) {
    state.error = String((err as Error)?.stack ?? err);
    state.state = 'error';
    status(`failed: ${String((err as Error)?.message ?? err)}`, true);
    throw err;
  } finally {
    ($('train') as HTMLButtonElement).disabled = false;
  }
}

$('controls').addEventListener('submit', (e) => {
  e.preventDefault();
  train(selectedBackend()).catch(() => {}); // the status line and state.error show it
});

setup().then(() => {
  state.state = 'ready';
  ($('train') as HTMLButtonElement).disabled = false;
  status('ready');
}, (err) => {
  state.error = String((err as Error)?.stack ?? err);
  state.state = 'error';
  status(`setup failed: ${String((err as Error)?.message ?? err)}`, true);
});
