#!/usr/bin/env node
// The fused linear cross-entropy benchmark (issue 14): loss and gradients of an LM head, in Node on
// Dawn, every implementation on a device with WebGPU's default limits (maxBufferSize 256 MiB,
// maxStorageBufferBindingSize 128 MiB), as a browser page gets by default.
//
//   node bench/linear.mjs [--n N] [--d D] [--vocab V1,V2] [--runs R] [--impls a,b] [--out NAME]
//
// Default shapes: N = 1024 rows, D = 512, V = 32000 and 128256 (Llama 3), float32, a bias,
// reduction 'mean', gradients of hidden, weight and bias; host arrays in, host arrays out.
// Implementations:
//   floor          the logits alone, Z = H·Wᵀ + b, by a plain WGSL matmul (bench/lib/matmul.mjs): the
//                  GFLOP/s the adapter gives a register-tiled product (timed resident: no upload; the
//                  rows and classes whose operands and logits fit one binding each)
//   linear         this library's linearCrossEntropy (the logits never whole)
//   materialized   (a) the same matmul writes the N×V logits, this library's crossEntropy(grad: true,
//                  output: 'device') turns them into G, and the plain products give dH, dW, db
//   tfjs-webgpu    (b) TF.js: tf.valueAndGrads of softmaxCrossEntropy(oneHot(t), matMul(h, W, false, true) + b)
// Reported: median time, GFLOP/s (6·N·D·V flops: the logits, dH and dW), peak device memory of the
// implementation's buffers (created minus destroyed, pools included), and errors: the loss and the
// bias gradient against a float64 pass over every row, the hidden gradient of 4 rows in float64,
// the weight gradient against the library's. A result off by more than 1e-4 (relative to the
// largest value) is WRONG; an implementation that throws is FAILED (e.g. logits past maxBufferSize).
// Writes bench/results/linear-latest.json (linear-N<N>-D<D>.json for other shapes; --out NAME).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeAdapter } from './lib/adapter.mjs';
import { rng } from './lib/cases.mjs';
import { readBuffer, uploadBuffer as upload } from './lib/gpu-floor.mjs';
import { matmuls } from './lib/matmul.mjs';
import { chooseVulkanDrivers, registerTfjsGradients } from './lib/node-env.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOL = 1e-4;

function parseArgs(argv) {
  const o = { N: 1024, D: 512, vocab: [32000, 128256], runs: 3, impls: ['floor', 'linear', 'materialized', 'tfjs-webgpu'] };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=') ? argv[i].split('=', 2) : [argv[i], undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--n') o.N = Number(value());
    else if (flag === '--d') o.D = Number(value());
    else if (flag === '--vocab') o.vocab = value().split(',').map(Number);
    else if (flag === '--runs') o.runs = Number(value());
    else if (flag === '--impls') o.impls = value().split(',');
    else if (flag === '--out') o.out = value();
    else throw new Error(`unknown flag ${flag} (see the header of bench/linear.mjs)`);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const vulkan = chooseVulkanDrivers();
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
const gpu = create([]);
const { createLosses } = await import('../dist/index.js');
const log = (...a) => console.error(...a);

function data(N, D, V) {
  const r = rng(N * 7919 + D * 31 + V);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const hidden = Float32Array.from({ length: N * D }, normal);
  const weight = Float32Array.from({ length: V * D }, () => normal() / Math.sqrt(D));
  const bias = Float32Array.from({ length: V }, () => 0.1 * normal());
  const target = Int32Array.from({ length: N }, () => Math.floor(r() * V));
  return { N, D, V, hidden, weight, bias, target };
}

/** float64: the mean loss, d bias over every row, d hidden of rows `rows`. */
function reference64(d, rows) {
  const { N, D, V, hidden, weight, bias, target } = d;
  const z = new Float64Array(V), db = new Float64Array(V), dh = new Float64Array(rows.length * D);
  let loss = 0;
  for (let r = 0; r < N; r++) {
    let m = -Infinity;
    for (let v = 0; v < V; v++) {
      let s = bias[v];
      for (let k = 0, h = r * D, w = v * D; k < D; k++) s += hidden[h + k] * weight[w + k];
      z[v] = s;
      if (s > m) m = s;
    }
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(z[v] - m);
    const lse = m + Math.log(sum);
    loss += lse - z[target[r]];
    const j = rows.indexOf(r);
    for (let v = 0; v < V; v++) {
      const g = (Math.exp(z[v] - lse) - (v === target[r] ? 1 : 0)) / N;
      db[v] += g;
      if (j >= 0) for (let k = 0; k < D; k++) dh[j * D + k] += g * weight[v * D + k];
    }
  }
  return { loss: loss / N, db, dh };
}

/** A device with the default limits, whose buffers are counted (live bytes and their peak). */
async function countedDevice() {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  const device = await adapter.requestDevice();
  return { adapter, device: counted(device) };
}

function counted(device) {
  const c = { live: 0, peak: 0 };
  const create = device.createBuffer.bind(device);
  device.createBuffer = (desc) => {
    const b = create(desc);
    c.live += desc.size;
    c.peak = Math.max(c.peak, c.live);
    const destroy = b.destroy.bind(b);
    let gone = false;
    b.destroy = () => {
      if (!gone) c.live -= desc.size;
      gone = true;
      destroy();
    };
    return b;
  };
  device.memory = c;
  return device;
}

// ---------------------------------------------------------------- implementations: (d) → { run, dispose, memory }

const IMPLS = {
  async floor(d) {
    const { device } = await countedDevice();
    const mm = matmuls(device);
    // As much of the product as one binding holds for each operand (all of it where it fits).
    const bind = device.limits.maxStorageBufferBindingSize;
    const cols = Math.min(d.V, Math.floor(bind / (4 * d.D))), rows = Math.min(d.N, Math.floor(bind / (4 * cols)));
    const H = upload(device, d.hidden.subarray(0, rows * d.D)), W = upload(device, d.weight.subarray(0, cols * d.D)), b = upload(device, d.bias);
    const Z = device.createBuffer({ size: rows * cols * 4, usage: 0x80 | 0x04 });
    return {
      device,
      async run() {
        const e = device.createCommandEncoder(), p = e.beginComputePass();
        const u = mm.encode(p, 'nt', { M: rows, N: cols, K: d.D }, H, W, Z, b);
        p.end();
        device.queue.submit([e.finish()]);
        await device.queue.onSubmittedWorkDone();
        u.destroy();
        return null;
      },
      flops: 2 * rows * d.D * cols,
      dispose() { [H, W, b, Z].forEach((x) => x.destroy()); mm.dispose(); device.destroy(); },
    };
  },

  async linear(d) {
    const { device } = await countedDevice();
    const l = await createLosses({ backend: 'webgpu', device });
    return {
      device,
      async run() {
        const r = await l.linearCrossEntropy({ data: d.hidden, shape: [d.N, d.D] }, { data: d.weight, shape: [d.V, d.D] }, d.target, { bias: d.bias, grad: true });
        return { loss: r.loss, dh: r.grad.hidden.data, dw: r.grad.weight.data, db: r.grad.bias.data };
      },
      dispose() { l.dispose(); device.destroy(); },
    };
  },

  async materialized(d) {
    const { device } = await countedDevice();
    const l = await createLosses({ backend: 'webgpu', device });
    const mm = matmuls(device);
    return {
      device,
      async run() {
        const { N, D, V } = d;
        const H = upload(device, d.hidden), W = upload(device, d.weight), b = upload(device, d.bias);
        const Z = device.createBuffer({ size: N * V * 4, usage: 0x80 | 0x04 | 0x08 });
        let e = device.createCommandEncoder(), p = e.beginComputePass();
        const us = [mm.encode(p, 'nt', { M: N, N: V, K: D }, H, W, Z, b)];
        p.end();
        device.queue.submit([e.finish()]);
        const r = await l.crossEntropy({ buffer: Z, shape: [N, V] }, d.target, { grad: true, output: 'device' });
        const G = r.grad.buffer;
        const dH = device.createBuffer({ size: N * D * 4, usage: 0x80 | 0x04 }), dW = device.createBuffer({ size: V * D * 4, usage: 0x80 | 0x04 });
        const dB = device.createBuffer({ size: Math.max(16, V * 4), usage: 0x80 | 0x04 });
        e = device.createCommandEncoder();
        p = e.beginComputePass();
        us.push(mm.encode(p, 'nn', { M: N, N: D, K: V }, G, W, dH), mm.encode(p, 'tn', { M: V, N: D, K: N }, G, H, dW), mm.encode(p, 'colsum', { M: 1, N: V, K: N }, G, G, dB));
        p.end();
        device.queue.submit([e.finish()]);
        const out = { loss: r.loss, dh: await readBuffer(device, dH, N * D * 4), dw: await readBuffer(device, dW, V * D * 4), db: await readBuffer(device, dB, V * 4) };
        [H, W, b, Z, G, dH, dW, dB, ...us].forEach((x) => x.destroy());
        return out;
      },
      dispose() { mm.dispose(); l.dispose(); device.destroy(); },
    };
  },

  async 'tfjs-webgpu'(d) {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'node' }, configurable: true });
    const tf = await import('@tensorflow/tfjs-core');
    await registerTfjsGradients();
    const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
    // TF.js on its own device with the default limits, counted like the others.
    const device = counted(await adapter.requestDevice());
    // Its kernels are registered for the name 'webgpu': the backend of that name is replaced by one on this device.
    const name = 'webgpu';
    if (name in tf.engine().registryFactory) tf.removeBackend(name);
    tf.registerBackend(name, () => new WebGPUBackend(device, adapter.info));
    if (!(await tf.setBackend(name))) throw new Error('TF.js WebGPU backend did not start');
    tf.enableProdMode();
    const f = (h, w, b) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(d.target, 'int32'), d.V), tf.add(tf.matMul(h, w, false, true), b));
    return {
      device,
      async run() {
        const h = tf.tensor2d(d.hidden, [d.N, d.D]), w = tf.tensor2d(d.weight, [d.V, d.D]), b = tf.tensor1d(d.bias);
        const { value, grads } = tf.valueAndGrads(f)([h, w, b]);
        const out = { loss: (await value.data())[0], dh: await grads[0].data(), dw: await grads[1].data(), db: await grads[2].data() };
        tf.dispose([h, w, b, value, ...grads]);
        return out;
      },
      dispose() { tf.removeBackend(name); device.destroy(); },
    };
  },
};

/** Runs `body` inside validation and out-of-memory error scopes: a WebGPU error of the implementation fails it (a baseline's own buffers included). */
async function scoped(device, body) {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let value, failure;
  try {
    value = await body();
  } catch (err) {
    failure = err;
  }
  const validation = await device.popErrorScope(), memory = await device.popErrorScope();
  const error = validation ?? memory;
  if (error) throw new Error(`WebGPU ${validation ? 'validation' : 'out-of-memory'} error: ${error.message.split('\n')[0]}`);
  if (failure) throw failure;
  return value;
}

function maxRel(got, want) {
  let top = 0, err = 0;
  for (let i = 0; i < want.length; i++) top = Math.max(top, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  return err / Math.max(top, 1e-30);
}

const rows = [];
const header = { vulkan, node: process.version, N: opts.N, D: opts.D, date: new Date().toISOString() };
{
  const { adapter, device } = await countedDevice();
  const l = await createLosses({ backend: 'webgpu', device });
  header.adapter = describeAdapter(adapter.info, l.profile);
  header.limits = { maxBufferSize: device.limits.maxBufferSize, maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize };
  l.dispose();
  device.destroy();
}
log(`linear cross-entropy: N ${opts.N}, D ${opts.D}, V ${opts.vocab.join(', ')}; ${vulkan}`);
for (const V of opts.vocab) {
  const d = data(opts.N, opts.D, V);
  const sample = [0, 1, opts.N >> 1, opts.N - 1].filter((r, i, a) => a.indexOf(r) === i);
  const checked = opts.impls.some((i) => i !== 'floor');
  if (checked) log(`V ${V}: float64 reference...`);
  const ref = checked ? reference64(d, sample) : undefined;
  let libraryDw;
  for (const impl of opts.impls) {
    const row = { impl, N: d.N, D: d.D, V, flops: 6 * d.N * d.D * V };
    let prepared;
    try {
      prepared = await IMPLS[impl](d);
      if (prepared.flops) row.flops = prepared.flops;
      const times = [];
      let last;
      for (let i = 0; i < opts.runs + 1; i++) {
        const t0 = performance.now();
        last = await scoped(prepared.device, () => prepared.run());
        if (i > 0 || opts.runs === 0) times.push(performance.now() - t0); // the first run warms up
      }
      times.sort((a, b) => a - b);
      row.ms = times[times.length >> 1];
      row.gflops = row.flops / row.ms / 1e6;
      row.peakMB = prepared.device.memory.peak / 2 ** 20;
      if (last) {
        const dhSample = new Float32Array(sample.length * d.D);
        sample.forEach((r, j) => dhSample.set(last.dh.subarray(r * d.D, (r + 1) * d.D), j * d.D));
        row.errors = { loss: Math.abs(last.loss - ref.loss) / Math.max(1, Math.abs(ref.loss)), db: maxRel(last.db, ref.db), dh: maxRel(dhSample, ref.dh) };
        if (impl === 'linear') libraryDw = last.dw;
        else if (libraryDw) row.errors.dwVsLinear = maxRel(last.dw, libraryDw);
        row.status = Object.values(row.errors).every((e) => e <= TOL) ? 'ok' : 'WRONG';
      } else row.status = 'ok';
    } catch (err) {
      row.status = 'FAILED';
      row.error = String(err?.message ?? err).split('\n')[0].slice(0, 300);
    } finally {
      prepared?.dispose();
    }
    rows.push(row);
    log(`  ${impl.padEnd(13)} ${row.status.padEnd(6)} ${row.ms ? `${(row.ms / 1000).toFixed(2)} s  ${row.gflops.toFixed(2)} GFLOP/s  peak ${row.peakMB.toFixed(1)} MiB` : row.error}`);
  }
  const floor = rows.find((r) => r.V === V && r.impl === 'floor' && r.gflops);
  for (const r of rows.filter((r) => r.V === V && r.gflops && floor)) r.ofFloor = r.gflops / floor.gflops;
}

const name = opts.out ?? (opts.N === 1024 && opts.D === 512 ? 'linear-latest' : `linear-N${opts.N}-D${opts.D}`);
const file = path.join(ROOT, 'bench', 'results', `${name}.json`);
fs.writeFileSync(file, JSON.stringify({ header, rows }, null, 2) + '\n');
console.log('| impl | V | time | GFLOP/s | of floor | peak device MiB | loss err | db err | dh err | dW vs linear | status |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
const e = (v) => (v === undefined ? '' : v.toExponential(1));
for (const r of rows) {
  console.log(`| ${r.impl} | ${r.V} | ${r.ms ? `${(r.ms / 1000).toFixed(2)} s` : ''} | ${r.gflops?.toFixed(2) ?? ''} | ${r.ofFloor ? `${r.ofFloor.toFixed(2)}×` : ''} | ${r.peakMB?.toFixed(1) ?? ''} | ${e(r.errors?.loss)} | ${e(r.errors?.db)} | ${e(r.errors?.dh)} | ${e(r.errors?.dwVsLinear)} | ${r.status}${r.error ? `: ${r.error}` : ''} |`);
}
console.log(`\nwritten: ${path.relative(ROOT, file)}`);
