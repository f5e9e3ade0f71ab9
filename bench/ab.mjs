#!/usr/bin/env node
// A/B timing in one process (Node, Dawn), for changes too small for the noise between runs on a
// shared machine: the variants run interleaved, round after round, on the same device and inputs.
//
//   node bench/ab.mjs [--shapes 256x100,4096x1000] [--ops ce,grad,softmax,logSoftmax,bce]
//                     [--rounds 7] [--calls 5] [--lavapipe] VARIANT...
//   node bench/ab.mjs --alloc [--shapes …] [--lavapipe]
//
// A VARIANT is a built copy of dist/ (a directory: `npm run build && cp -r dist /tmp/before`), or
// `profile:NAME` for this checkout's dist/ planning as if the adapter had another profile: `real`
// (as it is), `threadOnly` (no subgroups: one invocation a row), `workgroup` (a real GPU without
// subgroups: 256-lane shared-memory trees). Inputs are resident; losses read back their number,
// softmax/logSoftmax and gradients stay on the device (their buffers are made by each call, as in
// the benchmark's resident mode). Prints the median and the fastest round per call.
// --alloc times what every device output costs before a kernel writes it: a new buffer of N×C
// floats, cleared (Dawn zero-fills a buffer on first use), against the same clear of a reused one.

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LAVAPIPE_ICD, nodeEnvironment } from './lib/node-env.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => { const i = args.indexOf(name); return i >= 0 ? args.splice(i, 2)[1] : fallback; };
const shapes = opt('--shapes', '256x100,4096x1000').split(',');
const ops = opt('--ops', 'ce').split(',');
const rounds = Number(opt('--rounds', 7)), calls = Number(opt('--calls', 5));
const li = args.indexOf('--lavapipe');
if (li >= 0) { args.splice(li, 1); process.env.VK_ICD_FILENAMES = LAVAPIPE_ICD; }
const ai = args.indexOf('--alloc');
if (ai >= 0) args.splice(ai, 1);
if (!args.length && ai < 0) throw new Error('name at least one variant (a dist/ copy, or profile:NAME); see the header');

const env = await nodeEnvironment();
const dev = env.gpuDevice;
if (!dev) throw new Error('no WebGPU adapter');
if (ai >= 0) {
  for (const shape of shapes) {
    const bytes = shape.split('x').map(Number).reduce((a, b) => a * b) * 4;
    const kept = dev.createBuffer({ size: bytes, usage: 128 | 4 | 8 });
    for (const fresh of [true, false]) {
      const times = [];
      for (let r = 0; r < rounds * calls; r++) {
        const t0 = performance.now();
        const b = fresh ? dev.createBuffer({ size: bytes, usage: 128 | 4 | 8 }) : kept;
        const enc = dev.createCommandEncoder();
        enc.clearBuffer(b);
        dev.queue.submit([enc.finish()]);
        await dev.queue.onSubmittedWorkDone();
        times.push(performance.now() - t0);
        if (fresh) b.destroy();
      }
      console.log(`${shape.padEnd(10)} ${fresh ? 'new buffer, cleared' : 'reused buffer, cleared'}  median ${times.sort((p, q) => p - q)[times.length >> 1].toFixed(2)} ms`);
    }
    kept.destroy();
  }
  env.dispose();
  process.exit(0);
}
const variants = [];
for (const v of args) {
  const profileName = v.startsWith('profile:') ? v.slice(8) : undefined;
  const dir = profileName ? 'dist' : v;
  const { createLosses } = await import(pathToFileURL(path.resolve(dir, 'index.js')).href);
  const real = (await createLosses({ device: dev })).profile;
  const profiles = { real, threadOnly: { ...real, subgroupSize: 0 }, workgroup: { ...real, emulated: false, subgroupSize: 0 } };
  if (profileName && !profiles[profileName]) throw new Error(`unknown profile ${profileName} (${Object.keys(profiles).join(', ')})`);
  variants.push({ name: v, losses: await createLosses({ device: dev, ...(profileName ? { profile: profiles[profileName] } : {}) }) });
}

const upload = (a) => {
  const b = dev.createBuffer({ size: Math.ceil(a.byteLength / 16) * 16, usage: 128 | 8 | 4 });
  dev.queue.writeBuffer(b, 0, a);
  return b;
};
let seed = 1;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const median = (a) => a.slice().sort((p, q) => p - q)[a.length >> 1];

for (const shape of shapes) {
  const [N, C] = shape.split('x').map(Number);
  const x = { buffer: upload(Float32Array.from({ length: N * C }, () => rand() * 8 - 4)), shape: [N, C] };
  const t = { buffer: upload(Int32Array.from({ length: N }, () => Math.floor(rand() * C))), shape: [N], dtype: 'int32' };
  const y = { buffer: upload(Float32Array.from({ length: N * C }, () => rand())), shape: [N, C] };
  for (const op of ops) {
    const call = (l) => ({
      ce: () => l.crossEntropy(x, t),
      bce: () => l.binaryCrossEntropyWithLogits(x, y),
      grad: async () => (await l.crossEntropy(x, t, { grad: true, output: 'device' })).grad.buffer.destroy(),
      softmax: async () => { const r = await l.softmax(x, { output: 'device' }); await dev.queue.onSubmittedWorkDone(); r.buffer.destroy(); },
      logSoftmax: async () => { const r = await l.logSoftmax(x, { output: 'device' }); await dev.queue.onSubmittedWorkDone(); r.buffer.destroy(); },
    })[op];
    if (!call(variants[0].losses)) throw new Error(`unknown op ${op}`);
    const fns = variants.map((v) => call(v.losses));
    for (const f of fns) for (let i = 0; i < 3; i++) await f();
    const times = fns.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (let j = 0; j < fns.length; j++) {
        const t0 = performance.now();
        for (let i = 0; i < calls; i++) await fns[j]();
        times[j].push((performance.now() - t0) / calls);
      }
    }
    variants.forEach((v, j) => console.log(`${shape.padEnd(10)} ${op.padEnd(10)} ${v.name.padEnd(24)} median ${median(times[j]).toFixed(3)} ms  fastest ${Math.min(...times[j]).toFixed(3)} ms`));
  }
  for (const b of [x, t, y]) b.buffer.destroy();
}
env.dispose();
process.exit(0);
