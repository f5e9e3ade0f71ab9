// Plain WGSL matrix products on the library's device, for the linear cross-entropy benchmark: the
// logits Z = H·Wᵀ + b (the "matmul floor", and the first half of the materialising baseline) and the
// backward products dH = G·W, dW = Gᵀ·H, db = Σ_r G of a gradient G already on the device. Each
// invocation owns a 4×4 tile in registers (8×8 tiles per workgroup of 64), no barriers: the same
// register tiling as the library's fused kernels, so the comparison isolates what fusion costs.

const STORAGE = 0x80, COPY_SRC = 0x04, COPY_DST = 0x08, UNIFORM = 0x40;

const header = /* wgsl */ `
struct Dims { M: u32, N: u32, K: u32, gx: u32 }
@group(0) @binding(0) var<uniform> P: Dims;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<f32>;
fn tile(wid: vec3<u32>, li: u32) -> vec2<u32> {
  let g = wid.y * P.gx + wid.x;
  let cols = (P.N + 31u) / 32u;
  return vec2<u32>((g / cols) * 32u + (li / 8u) * 4u, (g % cols) * 32u + (li % 8u) * 4u);
}
fn put(r: u32, c: u32, v: vec4<f32>) {
  if (r >= P.M) { return; }
  for (var j = 0u; j < 4u; j++) { if (c + j < P.N) { C[r * P.N + c + j] = v[j]; } }
}
`;

// C (M×N) = A (M×K) · Bᵀ (B is N×K) + bias (N); also dH = G·W with A = G (M×K), B = W (K×N) when NN.
const SOURCES = {
  nt: /* wgsl */ `${header}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = tile(wid, li);
  if (t.x >= P.M || t.y >= P.N) { return; }
  let r = min(vec4<u32>(t.x) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(P.M - 1u)) * P.K;
  let c = min(vec4<u32>(t.y) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(P.N - 1u)) * P.K;
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  for (var k = 0u; k < P.K; k++) {
    let w = vec4<f32>(B[c.x + k], B[c.y + k], B[c.z + k], B[c.w + k]);
    a0 += A[r.x + k] * w; a1 += A[r.y + k] * w; a2 += A[r.z + k] * w; a3 += A[r.w + k] * w;
  }
  let cb = min(vec4<u32>(t.y) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(P.N - 1u));
  let b = vec4<f32>(bias[cb.x], bias[cb.y], bias[cb.z], bias[cb.w]);
  put(t.x, t.y, a0 + b); put(t.x + 1u, t.y, a1 + b); put(t.x + 2u, t.y, a2 + b); put(t.x + 3u, t.y, a3 + b);
}`,
  nn: /* wgsl */ `${header}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = tile(wid, li);
  if (t.x >= P.M || t.y >= P.N) { return; }
  let r = min(vec4<u32>(t.x) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(P.M - 1u)) * P.K;
  let c = min(vec4<u32>(t.y) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(P.N - 1u));
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  for (var k = 0u; k < P.K; k++) {
    let w = vec4<f32>(B[k * P.N + c.x], B[k * P.N + c.y], B[k * P.N + c.z], B[k * P.N + c.w]);
    a0 += A[r.x + k] * w; a1 += A[r.y + k] * w; a2 += A[r.z + k] * w; a3 += A[r.w + k] * w;
  }
  put(t.x, t.y, a0); put(t.x + 1u, t.y, a1); put(t.x + 2u, t.y, a2); put(t.x + 3u, t.y, a3);
}`,
  // C (M×N) = Aᵀ · B with A (K×M) = G, B (K×N) = H: dW; column sums of A into bias-less row M of nothing (see colsum).
  tn: /* wgsl */ `${header}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = tile(wid, li);
  if (t.x >= P.M || t.y >= P.N) { return; }
  let r = min(vec4<u32>(t.x) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(P.M - 1u));
  let c = min(vec4<u32>(t.y) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(P.N - 1u));
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  for (var k = 0u; k < P.K; k++) {
    let h = vec4<f32>(B[k * P.N + c.x], B[k * P.N + c.y], B[k * P.N + c.z], B[k * P.N + c.w]);
    a0 += A[k * P.M + r.x] * h; a1 += A[k * P.M + r.y] * h; a2 += A[k * P.M + r.z] * h; a3 += A[k * P.M + r.w] * h;
  }
  put(t.x, t.y, a0); put(t.x + 1u, t.y, a1); put(t.x + 2u, t.y, a2); put(t.x + 3u, t.y, a3);
}`,
  // C (N) = Σ_k A[k, n] (A is K×N): the bias gradient.
  colsum: /* wgsl */ `${header}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let n = (wid.y * P.gx + wid.x) * 64u + li;
  if (n >= P.N) { return; }
  var s = 0.0;
  for (var k = 0u; k < P.K; k++) { s += A[k * P.N + n]; }
  C[n] = s;
}`,
};

export function matmuls(device) {
  const pipelines = Object.fromEntries(Object.entries(SOURCES).map(([k, code]) => [k, device.createComputePipeline({
    layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' },
  })]));
  const maxDim = device.limits.maxComputeWorkgroupsPerDimension;
  const dummy = device.createBuffer({ size: 16, usage: STORAGE });
  /** Encodes kind with dims (M, N, K) into `pass` and returns the uniform to destroy after submission. */
  function encode(pass, kind, { M, N, K }, a, b, c, biasBuf = dummy) {
    const groups = kind === 'colsum' ? Math.ceil(N / 64) : Math.ceil(M / 32) * Math.ceil(N / 32);
    const gx = Math.min(groups, maxDim), gy = Math.ceil(groups / gx);
    const u = device.createBuffer({ size: 16, usage: UNIFORM | COPY_DST });
    device.queue.writeBuffer(u, 0, new Uint32Array([M, N, K, gx]));
    const p = pipelines[kind];
    const entries = [u, a, b, biasBuf, c].map((buffer, binding) => ({ binding, resource: { buffer } }));
    const used = kind === 'colsum' ? [0, 1, 4] : kind === 'nt' ? [0, 1, 2, 3, 4] : [0, 1, 2, 4];
    pass.setPipeline(p);
    pass.setBindGroup(0, device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: entries.filter((e) => used.includes(e.binding)) }));
    pass.dispatchWorkgroups(gx, gy);
    return u;
  }
  return { encode, STORAGE, COPY_SRC, COPY_DST, dispose: () => dummy.destroy() };
}
