// The implementations the suite times, each as { impl, device, role, modes, supports(op),
// prepare(case, data, mode) → { run, read, release, dispose } }. `run` is the timed call; `read`
// turns its last result into a number or a Float32Array for the check; `release` frees a result.
//
// Modes: GPU implementations run 'end-to-end' (host arrays in, a number or a host array out,
// upload and download included) and 'resident' (inputs already on the device; softmax outputs and
// the ceGrad gradient stay there). CPU implementations run 'host': inputs in the implementation's own form, made beforehand
// (Float32Array for this library and plain JS, a tensor for TF.js and ONNX Runtime).
//
// Half-precision cases (cases.mjs HALF_OPS: `c.base` is the float32 op, `c.dtype` the logits' dtype)
// give this library the raw bits ({ data: Uint16Array, shape, dtype } on the host, a buffer of packed
// halves with `dtype` on the device); half outputs are read back as bits. The floors read the half
// bytes as 32-bit words. Plain JS has no half form: it skips them.

import { CE_Z, isHalf } from './cases.mjs';
import { readBuffer, uploadBuffer } from './gpu-floor.mjs';
import { wasmFloor, wasmMemory } from './wasm-floor.mjs';

const ALL = () => true;
const shapeOf = (c, d) => (c.op === 'bce' ? [d.n] : [d.N, d.C]);
/** The logits as the library takes them: a float32 host tensor, or the half bits with their dtype. */
const hostInput = (d, shape) => (d.bits ? { data: d.bits, shape, dtype: d.dtype } : { data: d.x, shape });

/** Awaits a value; host tensors {data} become their data. */
const plain = (r) => (r && typeof r === 'object' && 'data' in r && !(r instanceof Float32Array) ? r.data : r);
/** A { loss, grad } result with a host gradient tensor → { loss, grad: Float32Array } for the check. */
const plainGrad = (r) => ({ loss: r.loss, grad: r.grad.data });

/** The library called with host arrays (either backend): the timed call and how to read its result. */
function hostCall(losses, c, d, shape) {
  const x = hostInput(d, shape);
  const call = {
    ce: () => losses.crossEntropy(x, d.t),
    bce: () => losses.binaryCrossEntropyWithLogits(x, d.y),
    softmax: () => losses.softmax(x),
    logSoftmax: () => losses.logSoftmax(x),
    ceGrad: () => losses.crossEntropy(x, d.t, { grad: true }),
    ceZ: () => losses.crossEntropy(x, d.t, CE_Z),
  }[c.base];
  return { run: call, read: c.base === 'ceGrad' ? plainGrad : (r) => plain(r), dispose() {} };
}

/** webgpu-losses on its WebGPU backend (`losses.device` holds the resident inputs). */
export function libraryGpu(losses) {
  const device = losses.device;
  return {
    impl: 'webgpu-losses', device: 'gpu', role: 'library', modes: ['end-to-end', 'resident'], supports: ALL,
    prepare(c, d, mode) {
      const shape = shapeOf(c, d);
      if (mode === 'end-to-end') {
        return hostCall(losses, c, d, shape);
      }
      const xb = uploadBuffer(device, d.words ?? d.x);
      const second = d.t ?? d.y;
      const yb = second ? uploadBuffer(device, second) : undefined;
      const x = d.words ? { buffer: xb, shape, dtype: d.dtype } : { buffer: xb, shape };
      const call = {
        ce: () => losses.crossEntropy(x, { buffer: yb, shape: [d.N], dtype: 'int32' }),
        ceZ: () => losses.crossEntropy(x, { buffer: yb, shape: [d.N], dtype: 'int32' }, CE_Z),
        bce: () => losses.binaryCrossEntropyWithLogits(x, { buffer: yb, shape }),
        softmax: async () => { const r = await losses.softmax(x, { output: 'device' }); await device.queue.onSubmittedWorkDone(); return r; },
        logSoftmax: async () => { const r = await losses.logSoftmax(x, { output: 'device' }); await device.queue.onSubmittedWorkDone(); return r; },
        // The loss comes back as a number; the gradient stays on the device (output: 'device').
        ceGrad: async () => {
          const r = await losses.crossEntropy(x, { buffer: yb, shape: [d.N], dtype: 'int32' }, { grad: true, output: 'device' });
          await device.queue.onSubmittedWorkDone();
          return r;
        },
      }[c.base];
      if (c.base === 'ceGrad') {
        return {
          run: call,
          read: async (r) => ({ loss: r.loss, grad: await readBuffer(device, r.grad.buffer, d.x.length * 4) }),
          release: (r) => r?.grad?.buffer?.destroy(),
          dispose() { xb.destroy(); yb?.destroy(); },
        };
      }
      // A device output comes back as float32, or as half bits (2 bytes an element, whole words).
      const outBytes = (r) => (r.dtype === 'float16' || r.dtype === 'bfloat16' ? 4 * Math.ceil(d.x.length / 2) : 4 * d.x.length);
      return {
        run: call,
        read: async (r) => (r && r.buffer
          ? r.dtype === 'float16' || r.dtype === 'bfloat16'
            ? new Uint16Array((await readBuffer(device, r.buffer, outBytes(r), Uint32Array)).buffer, 0, d.x.length)
            : readBuffer(device, r.buffer, outBytes(r))
          : r),
        release: (r) => r?.buffer?.destroy(),
        dispose() { xb.destroy(); yb?.destroy(); },
      };
    },
  };
}

/** webgpu-losses on its CPU backend. */
export function libraryCpu(losses) {
  return {
    impl: 'webgpu-losses', device: 'cpu', role: 'library', modes: ['host'], supports: ALL,
    prepare(c, d) {
      return hostCall(losses, c, d, shapeOf(c, d));
    },
  };
}

/**
 * The plain two-pass baseline: what one writes without a library (per row: max, then Σ exp;
 * a plain running sum over rows; JS numbers, so float64 arithmetic on float32 inputs).
 */
export const plainJs = {
  impl: 'plain-js', device: 'cpu', role: 'baseline', modes: ['host'], supports: (op) => !isHalf(op),
  prepare(c, d) {
    const { x } = d;
    const run = {
      ce() {
        const { t, N, C } = d;
        let total = 0;
        for (let i = 0; i < N; i++) {
          const o = i * C;
          let m = -Infinity;
          for (let j = 0; j < C; j++) m = Math.max(m, x[o + j]);
          let s = 0;
          for (let j = 0; j < C; j++) s += Math.exp(x[o + j] - m);
          total += Math.log(s) + m - x[o + t[i]];
        }
        return total / N;
      },
      ceZ() {
        // softcap, then the row's log-sum-exp once for the loss and its z-loss
        const { t, N, C } = d, { zLoss, softcap: c } = CE_Z;
        const row = new Float64Array(C);
        let total = 0;
        for (let i = 0; i < N; i++) {
          const o = i * C;
          let m = -Infinity;
          for (let j = 0; j < C; j++) { row[j] = c * Math.tanh(x[o + j] / c); m = Math.max(m, row[j]); }
          let s = 0;
          for (let j = 0; j < C; j++) s += Math.exp(row[j] - m);
          const lse = m + Math.log(s);
          total += lse - row[t[i]] + zLoss * lse * lse;
        }
        return total / N;
      },
      ceGrad() {
        // Per row: max, Σ exp, then the gradient (softmax − one-hot) / N from a second exp pass.
        const { t, N, C } = d;
        const grad = new Float32Array(N * C);
        let total = 0;
        for (let i = 0; i < N; i++) {
          const o = i * C;
          let m = -Infinity;
          for (let j = 0; j < C; j++) m = Math.max(m, x[o + j]);
          let s = 0;
          for (let j = 0; j < C; j++) s += Math.exp(x[o + j] - m);
          const lse = m + Math.log(s);
          total += lse - x[o + t[i]];
          for (let j = 0; j < C; j++) grad[o + j] = Math.exp(x[o + j] - lse) / N;
          grad[o + t[i]] -= 1 / N;
        }
        return { loss: total / N, grad };
      },
      softmax() {
        const { N, C } = d;
        const out = new Float32Array(N * C);
        for (let i = 0; i < N; i++) {
          const o = i * C;
          let m = -Infinity;
          for (let j = 0; j < C; j++) m = Math.max(m, x[o + j]);
          let s = 0;
          for (let j = 0; j < C; j++) { const e = Math.exp(x[o + j] - m); out[o + j] = e; s += e; }
          const inv = 1 / s;
          for (let j = 0; j < C; j++) out[o + j] *= inv;
        }
        return out;
      },
      logSoftmax() {
        const { N, C } = d;
        const out = new Float32Array(N * C);
        for (let i = 0; i < N; i++) {
          const o = i * C;
          let m = -Infinity;
          for (let j = 0; j < C; j++) m = Math.max(m, x[o + j]);
          let s = 0;
          for (let j = 0; j < C; j++) s += Math.exp(x[o + j] - m);
          const lse = m + Math.log(s);
          for (let j = 0; j < C; j++) out[o + j] = x[o + j] - lse;
        }
        return out;
      },
      bce() {
        const { y } = d;
        let total = 0;
        for (let i = 0; i < x.length; i++) {
          const v = x[i];
          total += Math.max(v, 0) - v * y[i] + Math.log1p(Math.exp(-Math.abs(v)));
        }
        return total / x.length;
      },
    }[c.op];
    return { run: async () => run(), read: (r) => r, dispose() {} };
  },
};

function jsSum(a) {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const n = a.length, n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) { s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]; }
  for (let i = n4; i < n; i++) s0 += a[i];
  return (s0 + s1) + (s2 + s3);
}

/** Σ of 32-bit words modulo 2^32 (int32 adds, 4 accumulators): the read floor of half logits. */
function jsWordSum(a) {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const n = a.length, n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) { s0 = (s0 + a[i]) | 0; s1 = (s1 + a[i + 1]) | 0; s2 = (s2 + a[i + 2]) | 0; s3 = (s3 + a[i + 3]) | 0; }
  for (let i = n4; i < n; i++) s0 = (s0 + a[i]) | 0;
  return (s0 + s1 + s2 + s3) >>> 0;
}

/**
 * The plain-JS CPU floor: read every input once (4 accumulators), or copy the logits for softmax. For
 * 'ceGrad' this is the cross-entropy read floor (logits and targets read once). Half logits are read
 * (or copied) as 32-bit words, two halves each.
 */
export const floorJs = {
  impl: 'floor-js', device: 'cpu', role: 'floor', modes: ['host'], supports: ALL,
  prepare(c, d) {
    const second = d.t ?? d.y;
    const src = d.words ?? d.x;
    if (c.base === 'softmax' || c.base === 'logSoftmax') {
      const out = new (src.constructor)(src.length);
      return {
        run: async () => { const x = src; for (let i = 0; i < x.length; i++) out[i] = x[i]; return out; },
        read: (r) => r, dispose() {},
      };
    }
    const words = d.words && new Int32Array(d.words.buffer, d.words.byteOffset, d.words.length);
    const first = words ? () => jsWordSum(words) : () => jsSum(d.x);
    return { run: async () => (second ? [first(), jsSum(second)] : [first()]), read: (r) => r, dispose() {} };
  },
};

/** The WASM SIMD floor: the inputs are copied into the module's memory beforehand (not timed). */
export const floorWasm = {
  impl: 'floor-wasm', device: 'cpu', role: 'floor', modes: ['host'], supports: ALL,
  async prepare(c, d) {
    const w = await wasmFloor();
    if (!w) throw new Error('WebAssembly SIMD is not available');
    const second = d.t ?? d.y;
    const src = d.words ?? d.x; // half logits: their bytes as 32-bit words
    const View = src.constructor;
    const xb = src.byteLength, sb = second ? second.byteLength : 0;
    const xo = 0, so = Math.ceil(xb / 64) * 64;
    const buf = wasmMemory(w, so + Math.max(sb, xb) + 64);
    new View(buf, xo, src.length).set(src);
    if (second) new (second.constructor)(buf, so, second.length).set(second);
    const body = (bytes) => bytes - (bytes % 64);
    const tail = (arr, bytes) => { let s = 0; for (let i = body(bytes) / 4; i < arr.length; i++) s += arr[i]; return s; };
    const mem = () => w.mem.buffer;
    if (c.base === 'softmax' || c.base === 'logSoftmax') {
      return {
        run: async () => { w.copy(xo, so, body(xb)); return undefined; },
        read: () => { const out = new View(mem(), so, src.length).slice(); const x = new View(mem(), xo, src.length); for (let i = body(xb) / 4; i < src.length; i++) out[i] = x[i]; return out; },
        dispose() {},
      };
    }
    // Half words: i32x4 adds (modulo 2^32, like the other floors' word sums).
    const first = d.words
      ? () => (w.sumi(xo, body(xb)) + tail(new Uint32Array(mem(), xo, src.length), xb)) >>> 0
      : () => w.sumf(xo, body(xb)) + tail(new Float32Array(mem(), xo, src.length), xb);
    return {
      run: async () => {
        const r = [first()];
        if (second) r.push(d.t ? w.sumi(so, body(sb)) + tail(new Int32Array(mem(), so, second.length), sb)
          : w.sumf(so, body(sb)) + tail(new Float32Array(mem(), so, second.length), sb));
        return r;
      },
      read: (r) => r,
      dispose() {},
    };
  },
};

/** The GPU floor as an implementation (see gpu-floor.mjs). */
export function floorGpu(device, gpuFloor) {
  let current;
  return {
    impl: 'floor-gpu', device: 'gpu', role: 'floor', modes: ['end-to-end', 'resident'], supports: ALL,
    async prepare(c, d, mode) {
      // One floor object (tuned once) per case, shared by both modes.
      if (!current || current.key !== c.id) {
        current?.floor.dispose();
        current = { key: c.id, floor: await gpuFloor(device, c, d) };
      }
      const f = current.floor;
      const p = f.prepare(mode);
      return { ...p, note: `${f.groups}×256 invocations`, dispose() {} };
    },
    disposeAll() { current?.floor.dispose(); current = undefined; },
  };
}
