// The GPU floor: WGSL kernels on the same device as the library that only move the bytes an op must
// move, barrier-free, grid-stride over a tuned number of workgroups of 256 invocations:
// - read: every input element once (logits and targets, or x and y), one partial sum per invocation;
// - copy: read the logits once and write an output of the same size (the floor of softmax);
// - grad: the read, then the logits read again and written out as the gradient (the floor of
//   'ceGrad': a fused loss-and-gradient must read the logits for the row statistics before it can
//   write the first gradient element, so twice, plus the targets once and the gradient once).
// Modes mirror the library's: 'resident' runs the kernel on inputs already on the device (and reads
// back a scalar where the op returns a number); 'end-to-end' also uploads the inputs first and, for
// copy, reads the whole output back into a host array.
// Half-precision logits (cases.mjs HALF_OPS) are read as 32-bit words (two halves each, four words a
// load), summed as integers (modulo 2^32, so nothing needs decoding and the compiler cannot drop a read),
// or copied as words: the floor of half rows moves 2 bytes a logit.

const STORAGE = 0x80, COPY_SRC = 0x04, COPY_DST = 0x08, MAP_READ = 0x01;
const WG = 256;

function readShader(xVec, yType, half = false, grad = false) {
  if (half) {
    // Half logits as u32 words; the targets (int32) as u32 too; both sums exact modulo 2^32.
    const X = xVec ? 'vec4<u32>' : 'u32';
    const toU = (v) => (xVec ? `(${v}.x + ${v}.y + ${v}.z + ${v}.w)` : v);
    return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<${X}>;
@group(0) @binding(1) var<storage, read> y: array<${X}>;
@group(0) @binding(2) var<storage, read_write> o: array<vec2<u32>>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>) {
  let stride = ${WG}u * ng.x;
  var s = ${X}(0u);
  for (var i = gid.x; i < arrayLength(&x); i += stride) { s += x[i]; }
  var r = ${X}(0u);
  for (var i = gid.x; i < arrayLength(&y); i += stride) { r += y[i]; }
  o[gid.x] = vec2<u32>(${toU('s')}, ${toU('r')});
}`;
  }
  const X = xVec ? 'vec4<f32>' : 'f32';
  const Y = yType === 'i32' ? (xVec ? 'vec4<u32>' : 'u32') : X;
  const toF = (v, T) => (T.startsWith('vec4') ? `dot(vec4<f32>(${v}), vec4<f32>(1.0))` : `f32(${v})`);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<${X}>;
@group(0) @binding(1) var<storage, read> y: array<${Y}>;
@group(0) @binding(2) var<storage, read_write> o: array<vec2<f32>>;
${grad ? `@group(0) @binding(3) var<storage, read_write> g: array<${X}>;` : ''}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>) {
  let stride = ${WG}u * ng.x;
  var s = ${X}(0.0);
  for (var i = gid.x; i < arrayLength(&x); i += stride) { s += x[i]; }
  var r = ${Y}(0);
  for (var i = gid.x; i < arrayLength(&y); i += stride) { r += y[i]; }
  o[gid.x] = vec2<f32>(${toF('s', X)}, ${toF('r', Y)});
  ${grad ? 'for (var i = gid.x; i < arrayLength(&x); i += stride) { g[i] = x[i]; }' : ''}
}`;
}

function copyShader(xVec, half = false) {
  const X = half ? (xVec ? 'vec4<u32>' : 'u32') : xVec ? 'vec4<f32>' : 'f32';
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<${X}>;
@group(0) @binding(1) var<storage, read_write> o: array<${X}>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>) {
  let stride = ${WG}u * ng.x;
  for (var i = gid.x; i < arrayLength(&x); i += stride) { o[i] = x[i]; }
}`;
}

export function uploadBuffer(device, data) {
  const b = device.createBuffer({ size: Math.max(16, Math.ceil(data.byteLength / 16) * 16), usage: STORAGE | COPY_DST | COPY_SRC });
  device.queue.writeBuffer(b, 0, data);
  return b;
}

/** Reads `bytes` of a buffer back into a new Float32Array (or `Type`) (outside any timed region). */
export async function readBuffer(device, buffer, bytes, Type = Float32Array) {
  const staging = device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(MAP_READ);
  const out = new Type(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}

const pipelines = new WeakMap();
function pipeline(device, code) {
  let m = pipelines.get(device);
  if (!m) pipelines.set(device, (m = new Map()));
  let p = m.get(code);
  if (!p) {
    p = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
    m.set(code, p);
  }
  return p;
}

/** Workgroup counts the floor tries; it keeps the fastest (the floor is the best this adapter does). */
function candidates(device, elements) {
  const most = Math.min(device.limits.maxComputeWorkgroupsPerDimension, Math.max(1, Math.ceil(elements / WG)));
  const list = [4, 16, 64, 256, 1024, 4096, 16384].filter((g) => g <= most);
  return list.length ? list : [most];
}

/**
 * Floor of one case. `kind` 'read' (losses) or 'copy' (softmax/logSoftmax); `data` from makeData.
 * Returns prepare(mode) → { run, read, release, dispose } for timing.measure, and `groups` picked.
 */
export async function gpuFloor(device, c, data, { tuneRuns = 2 } = {}) {
  const op = c.base ?? c.op;
  const kind = op === 'softmax' || op === 'logSoftmax' ? 'copy' : op === 'ceGrad' ? 'grad' : 'read';
  const second = data.t ?? data.y;
  const half = !!data.words;
  if (half && kind === 'read' && second && !data.t) throw new Error('the half floor reads int32 targets only');
  const src = data.words ?? data.x; // half logits: their bytes as 32-bit words
  const xVec = src.length % 4 === 0 && (!second || second.length % 4 === 0);
  const code = kind === 'copy' ? copyShader(xVec, half) : readShader(xVec, data.t ? 'i32' : 'f32', half, kind === 'grad');
  const pipe = pipeline(device, code);
  const xb = uploadBuffer(device, src);
  const yb = second ? uploadBuffer(device, second) : device.createBuffer({ size: 16, usage: STORAGE });
  const outBytes = kind === 'read' ? 0 : src.byteLength; // the copy, or the gradient
  const elements = xVec ? src.length / 4 : src.length;
  const maxGroups = Math.max(...candidates(device, elements));
  const ob = device.createBuffer({ size: kind === 'copy' ? Math.ceil(outBytes / 16) * 16 : maxGroups * WG * 8, usage: STORAGE | COPY_SRC });
  const small = device.createBuffer({ size: 8, usage: MAP_READ | COPY_DST });
  const gb = kind === 'grad' ? device.createBuffer({ size: Math.ceil(outBytes / 16) * 16, usage: STORAGE | COPY_SRC }) : undefined;
  const big = outBytes ? device.createBuffer({ size: Math.ceil(outBytes / 16) * 16, usage: MAP_READ | COPY_DST }) : undefined;
  const View = src.constructor; // Float32Array, or Uint32Array for half words
  const host = outBytes ? new View(src.length) : undefined;
  const bindGroup = device.createBindGroup({
    layout: pipe.getBindGroupLayout(0),
    entries: kind === 'copy'
      ? [{ binding: 0, resource: { buffer: xb, size: src.byteLength } }, { binding: 1, resource: { buffer: ob, size: src.byteLength } }]
      : [{ binding: 0, resource: { buffer: xb, size: src.byteLength } }, { binding: 1, resource: second ? { buffer: yb, size: second.byteLength } : { buffer: yb } }, { binding: 2, resource: { buffer: ob } },
        ...(gb ? [{ binding: 3, resource: { buffer: gb, size: src.byteLength } }] : [])],
  });
  let groups = 64;

  /** One pass; `upload` writes the inputs first; reduced ops read a scalar back, copy and grad e2e read the output. */
  async function once(upload) {
    if (upload) {
      device.queue.writeBuffer(xb, 0, src);
      if (second) device.queue.writeBuffer(yb, 0, second);
    }
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipe);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups);
    pass.end();
    if (kind !== 'copy') enc.copyBufferToBuffer(ob, 0, small, 0, 8);
    if (upload && outBytes) enc.copyBufferToBuffer(gb ?? ob, 0, big, 0, big.size);
    device.queue.submit([enc.finish()]);
    if (kind === 'grad' && upload) {
      await big.mapAsync(MAP_READ);
      host.set(new View(big.getMappedRange(), 0, src.length));
      big.unmap();
    }
    if (kind !== 'copy') {
      await small.mapAsync(MAP_READ);
      const v = new View(small.getMappedRange())[0];
      small.unmap();
      return v;
    }
    if (upload) {
      await big.mapAsync(MAP_READ);
      host.set(new View(big.getMappedRange(), 0, src.length));
      big.unmap();
      return host;
    }
    await device.queue.onSubmittedWorkDone();
    return undefined;
  }

  // Tune the workgroup count on the resident kernel.
  let best = Infinity;
  for (const g of candidates(device, elements)) {
    groups = g;
    await once(false);
    let t = Infinity;
    for (let k = 0; k < tuneRuns; k++) {
      const a = performance.now();
      await once(false);
      t = Math.min(t, performance.now() - a);
    }
    if (t < best) { best = t; var pick = g; } // eslint-disable-line no-var
  }
  groups = pick;

  async function result() {
    if (kind === 'copy') return readBuffer(device, ob, src.byteLength, View);
    const o = await readBuffer(device, ob, groups * WG * 8, View);
    let sx = 0, sy = 0;
    if (half) for (let i = 0; i < groups * WG; i++) { sx = (sx + o[2 * i]) % 4294967296; sy = (sy + o[2 * i + 1]) % 4294967296; }
    else for (let i = 0; i < groups * WG; i++) { sx += o[2 * i]; sy += o[2 * i + 1]; }
    return second ? [sx, sy] : [sx];
  }

  return {
    groups,
    prepare(mode) {
      return {
        run: () => once(mode === 'end-to-end'),
        read: async () => result(),
        release: () => {},
      };
    },
    dispose() {
      for (const b of [xb, yb, ob, gb, small, big]) b?.destroy();
    },
  };
}
