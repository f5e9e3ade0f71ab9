#!/usr/bin/env node
// Where the time goes, for the README's performance notes:
//   node bench/profile.mjs [--ops ce,softmax,logSoftmax,bce] [--shapes 4096x1000,...]
//
// GPU (the library's own device, inputs resident), per case:
// - read floor: the benchmark's floor kernel (bytes only, tuned grid);
// - math floor: the same barrier-free grid-stride kernel doing the least arithmetic the op needs
//   (one exp per logit and a sum; for BCE the whole per-element loss on x and y), tuned grid;
// - math floor on the library's grid: that kernel dispatched with the library's first dispatch
//   (its workgroup count; 64 invocations per workgroup, as the emulated plans use);
// - online@lib: the online log-sum-exp on one lane per invocation (per vec4 tile: a max, a
//   rescale exp and four exps), on the library's grid: the arithmetic of a one-pass row;
// - the library, and the dispatches it records (intercepted on the device).
// CPU: the JS read floor, a JS exp floor (Σ Math.exp over the logits), the library's CPU backend,
// and a sampling profile of the CPU backend's hottest functions on the first case.

import inspector from 'node:inspector/promises';
import { isHalf, makeData, OPS, selectCases } from './lib/cases.mjs';
import { uploadBuffer } from './lib/gpu-floor.mjs';
import { nodeEnvironment } from './lib/node-env.mjs';
import { measure } from './lib/timing.mjs';

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1].split(',') : undefined; };
const cases = selectCases({ ops: opt('--ops') ?? OPS.filter((op) => !isHalf(op)), shapes: opt('--shapes') }); // the half ops on request
const timing = { runs: 7, minRuns: 3, budgetMs: 1500 };

const env = await nodeEnvironment();
const dev = env.gpuDevice;
const lib = env.impls.find((i) => i.impl === 'webgpu-losses' && i.device === 'gpu');
const cpuLib = env.impls.find((i) => i.impl === 'webgpu-losses' && i.device === 'cpu');
const floorImpl = env.impls.find((i) => i.impl === 'floor-gpu');

// Record the library's dispatches.
const dispatches = [];
if (dev) {
  const createEncoder = dev.createCommandEncoder.bind(dev);
  dev.createCommandEncoder = (...a) => {
    const enc = createEncoder(...a);
    const begin = enc.beginComputePass.bind(enc);
    enc.beginComputePass = (...b) => {
      const pass = begin(...b);
      const dispatch = pass.dispatchWorkgroups.bind(pass);
      pass.dispatchWorkgroups = (x, y = 1, z = 1) => { dispatches.push(x * y * z); return dispatch(x, y, z); };
      return pass;
    };
    return enc;
  };
}

function mathShader(op, vec, online = false) {
  const X = vec ? 'vec4<f32>' : 'f32';
  const hmax = vec ? 'max(max(v.x, v.y), max(v.z, v.w))' : 'v';
  const hsum = (e) => (vec ? `dot(${e}, vec4<f32>(1.0))` : e);
  const body = op === 'bce'
    ? `let v = x[i]; let t = y[i]; s += max(v, ${X}(0.0)) - v * t + log(${X}(1.0) + exp(-abs(v)));`
    : online
      // The online log-sum-exp on one lane: per tile a max, a rescale exp and one exp per element.
      ? `let v = x[i]; let M = max(m, ${hmax}); s.x = s.x * exp(m - M) + ${hsum(`exp(v - ${X}(M))`)}; m = M;`
      : `s += exp(x[i] - ${X}(4.0));`;
  const useY = op === 'bce' ? '' : 'if (arrayLength(&y) == 0u) { s = ' + X + '(1.0); } // binds y (unused) so one layout fits both';
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<${X}>;
@group(0) @binding(1) var<storage, read> y: array<${X}>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
override WG: u32 = 256;
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>) {
  let stride = WG * ng.x;
  var s = ${X}(0.0);
  var m = -3.0e38;
  for (var i = gid.x; i < arrayLength(&x); i += stride) { ${body} }
  ${useY}
  o[gid.x] = ${vec ? 'dot(s, vec4<f32>(1.0))' : 's'};
}`;
}

async function mathFloor(c, d, grids, online = false) {
  const vec = d.x.length % 4 === 0;
  const xb = uploadBuffer(dev, d.x);
  const yb = uploadBuffer(dev, d.y ?? new Float32Array(4));
  const most = Math.max(...grids.map(([g, w]) => g * w));
  const ob = dev.createBuffer({ size: most * 4, usage: 0x80 | 0x04 });
  const small = dev.createBuffer({ size: 4, usage: 0x01 | 0x08 });
  const results = [];
  for (const [groups, wg] of grids) {
    const p = dev.createComputePipeline({ layout: 'auto', compute: { module: dev.createShaderModule({ code: mathShader(c.op, vec, online) }), entryPoint: 'main', constants: { WG: wg } } });
    const bg = dev.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [
      { binding: 0, resource: { buffer: xb, size: d.x.byteLength } },
      { binding: 1, resource: { buffer: yb, size: (d.y ?? new Float32Array(4)).byteLength } },
      { binding: 2, resource: { buffer: ob } }] });
    const m = await measure({
      run: async () => {
        const e = dev.createCommandEncoder();
        const pass = e.beginComputePass();
        pass.setPipeline(p); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(groups); pass.end();
        e.copyBufferToBuffer(ob, 0, small, 0, 4);
        dev.queue.submit([e.finish()]);
        await small.mapAsync(0x01);
        small.unmap();
      },
    }, timing);
    results.push(m.median);
  }
  xb.destroy(); yb.destroy(); ob.destroy(); small.destroy();
  return results;
}

function jsExp(x) {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const n4 = x.length & ~3;
  for (let i = 0; i < n4; i += 4) { s0 += Math.exp(x[i] - 4); s1 += Math.exp(x[i + 1] - 4); s2 += Math.exp(x[i + 2] - 4); s3 += Math.exp(x[i + 3] - 4); }
  return s0 + s1 + s2 + s3;
}

const f = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)).padStart(6);
console.log(`adapter: ${env.header.adapter?.label ?? 'none'}; times are medians in ms\n`);
console.log('case                 | GPU: read floor  math floor  math@lib grid  online@lib  library  lib/math  dispatches          | CPU: JS read  JS exp  library  lib/exp');
for (const c of cases) {
  const d = makeData(c);
  let gpu = '';
  if (lib) {
    const fp = await floorImpl.prepare(c, d, 'resident');
    const read = await measure(fp, timing);
    const tuned = Number(/^(\d+)×/.exec(fp.note)[1]);
    floorImpl.disposeAll();
    const lp = await lib.prepare(c, d, 'resident');
    await lp.release?.(await lp.run());
    dispatches.length = 0;
    await lp.release?.(await lp.run());
    const grid = [...dispatches];
    const lm = await measure(lp, timing);
    await lp.release?.(lm.last);
    lp.dispose();
    const [math, mathAtLib] = await mathFloor(c, d, [[tuned, 256], [grid[0], 64]]);
    const [online] = c.op === 'bce' ? [NaN] : await mathFloor(c, d, [[grid[0], 64]], true);
    gpu = `${f(read.median)}      ${f(math)}      ${f(mathAtLib)}     ${Number.isNaN(online) ? '     —' : f(online)}   ${f(lm.median)}   ${(lm.median / math).toFixed(1).padStart(5)}×  ${grid.join('+').padEnd(18)}`;
  }
  const jr = await measure({ run: async () => { let s = 0; for (let i = 0; i < d.x.length; i++) s += d.x[i]; return s; } }, timing);
  const je = await measure({ run: async () => jsExp(d.x) }, timing);
  const cp = await cpuLib.prepare(c, d, 'host');
  const cm = await measure(cp, timing);
  console.log(`${c.id.padEnd(20)} |      ${gpu} |      ${f(jr.median)}  ${f(je.median)}   ${f(cm.median)}  ${(cm.median / je.median).toFixed(2).padStart(5)}×`);
}

// Sampling profile of the CPU backend on the first case.
const c = cases[0];
const d = makeData(c);
const cp = await cpuLib.prepare(c, d, 'host');
await cp.run();
const session = new inspector.Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });
await session.post('Profiler.start');
for (let i = 0; i < 10; i++) await cp.run();
const { profile } = await session.post('Profiler.stop');
const dt = new Map();
for (let i = 0; i < profile.samples.length; i++) dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
const self = new Map();
let total = 0;
for (const n of profile.nodes) {
  const t = dt.get(n.id) ?? 0;
  total += t;
  const cf = n.callFrame;
  const k = `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^.*\/(dist|bench)\//, '$1/')}:${cf.lineNumber + 1}`;
  self.set(k, (self.get(k) ?? 0) + t);
}
console.log(`\nCPU backend, ${c.id}: self time by function over 10 calls`);
for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 6)) console.log(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`);
env.dispose();
process.exit(0);
