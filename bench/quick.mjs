import { create } from 'webgpu';
import { createLosses } from '../dist/index.js';
const gpu = create([]);
const L = await createLosses({ backend: 'webgpu', gpu });
const dev = L.device;
const floorCode = `@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
override WG: u32 = 256; override G: u32 = 64;
@compute @workgroup_size(WG) fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  var s = vec4<f32>(0.0); let n = arrayLength(&x);
  for (var i = id.x; i < n; i += WG * G) { s += x[i]; }
  o[id.x] = s.x + s.y + s.z + s.w; }`;
const mod = dev.createShaderModule({ code: floorCode });
async function time(f, reps = 5) { await f(); const t = []; for (let i = 0; i < reps; i++) { const a = performance.now(); await f(); t.push(performance.now() - a); } t.sort((a, b) => a - b); return t[Math.floor(t.length / 2)]; }
function up(data) { const b = dev.createBuffer({ size: data.byteLength, usage: 128 | 8 | 4 }); dev.queue.writeBuffer(b, 0, data); return b; }
async function floor(buf, G = 64) {
  const p = dev.createComputePipeline({ layout: 'auto', compute: { module: mod, entryPoint: 'main', constants: { G } } });
  const o = dev.createBuffer({ size: 256 * G * 4, usage: 128 | 4 });
  const bg = dev.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }, { binding: 1, resource: { buffer: o } }] });
  return time(async () => { const e = dev.createCommandEncoder(); const ps = e.beginComputePass(); ps.setPipeline(p); ps.setBindGroup(0, bg); ps.dispatchWorkgroups(G); ps.end(); dev.queue.submit([e.finish()]); await dev.queue.onSubmittedWorkDone(); });
}
const rnd = (n) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = Math.random() * 4 - 2; return a; };
const cpu = await createLosses({ backend: 'cpu' });
for (const [N, C] of [[4096, 1000], [512, 32000], [65536, 10], [8, 128256]]) {
  const x = rnd(N * C), t = new Int32Array(N).map(() => Math.floor(Math.random() * C));
  const xb = up(x), tb = up(t);
  const fl = await floor(xb);
  const res = await time(() => L.crossEntropy({ buffer: xb, shape: [N, C] }, { buffer: tb, shape: [N], dtype: 'int32' }));
  const e2e = await time(() => L.crossEntropy({ data: x, shape: [N, C] }, t));
  const sm = N * C <= 16e6 ? await time(() => L.softmax({ buffer: xb, shape: [N, C] })) : NaN;
  const c = await time(() => cpu.crossEntropy({ data: x, shape: [N, C] }, t), 3);
  console.log(`${N}x${C}: floor ${fl.toFixed(1)} ms, CE resident ${res.toFixed(1)} (${(res / fl).toFixed(2)}x), e2e ${e2e.toFixed(1)}, softmax ${sm.toFixed(1)}, cpu ${c.toFixed(1)}`);
}
{
  const n = 1 << 24; const x = rnd(n), t = new Float32Array(n).map(() => Math.random());
  const xb = up(x), tb = up(t);
  const fl = await floor(xb);
  const res = await time(() => L.binaryCrossEntropyWithLogits({ buffer: xb, shape: [n] }, { buffer: tb, shape: [n] }));
  const c = await time(() => cpu.binaryCrossEntropyWithLogits({ data: x, shape: [n] }, t), 2);
  console.log(`bcel 16M: floor ${fl.toFixed(1)}, resident ${res.toFixed(1)} (${(res / fl).toFixed(2)}x), cpu ${c.toFixed(1)}`);
}
L.dispose();
