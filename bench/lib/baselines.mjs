// TensorFlow.js and ONNX Runtime as implementations (see impls.mjs for the interface). The modules
// are passed in, so Node and the browser page load them their own way.

import { CE_Z, isHalf } from './cases.mjs';
import { halfBitsOf } from './half.mjs';
import { bceWithLogitsModel, crossEntropyModel, FLOAT16, rowModel } from './onnx.mjs';

/**
 * TF.js on one backend ('cpu', 'wasm', 'webgpu'). Cross-entropy is tf.losses.softmaxCrossEntropy on
 * one-hot labels (TF.js has no sparse form; the one-hot is built inside the timed call from the
 * int32 labels), BCE is tf.losses.sigmoidCrossEntropy; both reduce with the default
 * SUM_BY_NONZERO_WEIGHTS, i.e. the mean. 'ceGrad' is tf.valueAndGrad of that cross-entropy w.r.t. the
 * logits (one-hot built inside the timed call too): the loss is read back, the gradient tensor stays on
 * the backend in 'resident' (read back only by the check).
 */
export function tfjsImpl(tf, backend) {
  const gpu = backend === 'webgpu';
  return {
    impl: `tfjs-${backend}`, device: gpu ? 'gpu' : 'cpu', role: 'baseline',
    modes: gpu ? ['end-to-end', 'resident'] : ['host'], supports: (op) => !isHalf(op), // TF.js has no half-precision inputs
    async prepare(c, d, mode) {
      if (tf.getBackend() !== backend) {
        if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} is not available`);
      }
      await tf.ready();
      const shape = c.op === 'bce' ? [d.n] : [d.N, d.C];
      const inputs = () => ({
        x: tf.tensor(d.x, shape, 'float32'),
        t: d.t ? tf.tensor1d(d.t, 'int32') : undefined,
        y: d.y ? tf.tensor(d.y, shape, 'float32') : undefined,
      });
      const op = {
        ce: (i) => tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(i.t, d.C), i.x)),
        // What a TF.js user writes: cap, cross-entropy, plus s·mean(logSumExp²).
        ceZ: (i) => tf.tidy(() => {
          const x = tf.mul(CE_Z.softcap, tf.tanh(tf.div(i.x, CE_Z.softcap)));
          const lse = tf.logSumExp(x, 1);
          return tf.add(tf.losses.softmaxCrossEntropy(tf.oneHot(i.t, d.C), x), tf.mul(CE_Z.zLoss, tf.mean(tf.square(lse))));
        }),
        bce: (i) => tf.tidy(() => tf.losses.sigmoidCrossEntropy(i.y, i.x)),
        softmax: (i) => tf.softmax(i.x),
        logSoftmax: (i) => tf.logSoftmax(i.x),
        ceGrad: (i) => tf.tidy(() => {
          const labels = tf.oneHot(i.t, d.C);
          const { value, grad } = tf.valueAndGrad((x) => tf.losses.softmaxCrossEntropy(labels, x))(i.x);
          return { value, grad };
        }),
      }[c.op];
      const reduced = c.op === 'ce' || c.op === 'bce' || c.op === 'ceZ';
      const free = (i) => { for (const v of Object.values(i)) v?.dispose(); };
      /** Waits for the GPU without downloading (resident tensor outputs). */
      const settle = async () => {
        const be = tf.backend();
        if (be.commandEncoder) { be.endComputePassEncoder?.(); be.submitQueue(); }
        await be.device.queue.onSubmittedWorkDone();
      };
      if (c.op === 'ceGrad') {
        const own = mode === 'end-to-end';
        const i0 = own ? undefined : inputs();
        if (gpu && i0) { const warm = tf.tidy(() => tf.sum(tf.add(i0.x, 0))); await warm.data(); warm.dispose(); }
        return {
          run: async () => {
            const i = i0 ?? inputs();
            const r = op(i);
            const loss = (await r.value.data())[0];
            r.value.dispose();
            if (own) { const grad = await r.grad.data(); r.grad.dispose(); free(i); return { loss, grad }; }
            if (gpu) await settle(); else await r.grad.data();
            return { loss, grad: r.grad };
          },
          read: async (r) => ({ loss: r.loss, grad: r.grad instanceof Float32Array ? r.grad : await r.grad.data() }),
          release: (r) => { if (!(r.grad instanceof Float32Array)) r.grad.dispose(); },
          dispose() { if (i0) free(i0); },
        };
      }
      if (mode === 'end-to-end') {
        return {
          run: async () => {
            const i = inputs();
            const r = op(i);
            const v = await r.data();
            r.dispose();
            free(i);
            return reduced ? v[0] : v;
          },
          read: (r) => r,
          dispose() {},
        };
      }
      // 'resident' (webgpu) and 'host' (cpu, wasm): tensors made beforehand and uploaded by a warm use.
      const i = inputs();
      if (gpu) { const warm = tf.tidy(() => tf.sum(tf.add(i.x, 0))); await warm.data(); warm.dispose(); }
      return {
        run: async () => {
          const r = op(i);
          if (reduced) { const v = (await r.data())[0]; r.dispose(); return v; }
          if (gpu) { await settle(); return r; }
          await r.data();
          return r;
        },
        read: async (r) => (typeof r === 'number' ? r : r.data()),
        release: (r) => { if (typeof r !== 'number') r.dispose(); },
        dispose() { free(i); },
      };
    },
  };
}

/**
 * ONNX Runtime (onnxruntime-node, or onnxruntime-web's wasm or webgpu provider): cross-entropy as a
 * LogSoftmax → NegativeLogLikelihoodLoss graph, softmax/logSoftmax as one node, BCE with logits
 * composed of elementwise nodes and ReduceMean. One thread (intra-op 1) for the CPU providers.
 * `ops` restricts the ops (the WebGPU provider runs Softmax only); the half-precision ops run only where
 * `ops` names them: 'softmaxF16' is a Softmax with float16 input and output (ONNX Runtime's own fp16
 * kernel), fed the float16 bits, timed resident only.
 */
export function ortImpl(ort, { impl, ep, device = 'cpu', ops, sessionOptions = {}, gpuDevice }) {
  const sessions = new Map();
  const models = {
    ce: crossEntropyModel, bce: bceWithLogitsModel, softmax: () => rowModel('Softmax'), logSoftmax: () => rowModel('LogSoftmax'),
    softmaxF16: () => rowModel('Softmax', FLOAT16),
  };
  async function session(op, location) {
    const key = `${op}:${location}`;
    if (!sessions.has(key)) {
      sessions.set(key, await ort.InferenceSession.create(models[op](), {
        executionProviders: [ep], graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1,
        executionMode: 'sequential', ...(location ? { preferredOutputLocation: location } : {}), ...sessionOptions,
      }));
    }
    return sessions.get(key);
  }
  const gpu = device === 'gpu';
  return {
    impl, device, role: 'baseline', modes: gpu ? ['end-to-end', 'resident'] : ['host'],
    modesFor: (op) => (isHalf(op) ? ['resident'] : gpu ? ['end-to-end', 'resident'] : ['host']),
    supports: (op) => op in models && (ops ? ops.includes(op) : !isHalf(op)), // no training graphs: no 'ceGrad'
    async prepare(c, d, mode) {
      const shape = c.op === 'bce' ? [d.n] : [d.N, d.C];
      const s = await session(c.op, mode === 'resident' ? 'gpu-buffer' : undefined);
      const out = c.op === 'ce' || c.op === 'bce' ? 'loss' : 'y';
      const half = !!d.bits;
      const readOut = async (r) => {
        const t = r[out];
        const v = t.location === 'gpu-buffer' ? await t.getData() : t.data;
        if (half) return halfBitsOf(v, d.x.length); // a Float16Array where the runtime has one, else bits
        return out === 'loss' ? v[0] : v;
      };
      const hostFeeds = () => {
        const f = { x: half ? new ort.Tensor('float16', d.bits, shape) : new ort.Tensor('float32', d.x, shape) };
        if (d.t) f.t = new ort.Tensor('int32', d.t, [d.N]);
        if (d.y) f.y = new ort.Tensor('float32', d.y, shape);
        return f;
      };
      if (mode === 'end-to-end') {
        return { run: async () => readOut(await s.run(hostFeeds())), read: (r) => r, dispose() {} };
      }
      if (mode === 'resident') {
        const dev = await gpuDevice();
        if (!dev) throw new Error(`${impl}: no WebGPU device (the provider has not started)`);
        const src = half ? d.words : d.x;
        const xb = dev.createBuffer({ size: src.byteLength, usage: 0x80 | 0x08 | 0x04 });
        dev.queue.writeBuffer(xb, 0, src);
        const feeds = { x: ort.Tensor.fromGpuBuffer(xb, { dataType: half ? 'float16' : 'float32', dims: shape }) };
        if (half) {
          // Float16 kernels need the device feature 'shader-f16'. Without it their WGSL does not compile,
          // and ONNX Runtime does not throw: the run resolves with its output never written. A first,
          // untimed run inside a validation error scope turns that into this row's failure.
          dev.pushErrorScope('validation');
          let r;
          try {
            r = await s.run(feeds);
            await dev.queue.onSubmittedWorkDone();
          } finally {
            const err = await dev.popErrorScope();
            r?.[out]?.dispose();
            if (err) {
              xb.destroy();
              const why = dev.features.has('shader-f16') ? '' : "; the device has no 'shader-f16'";
              throw new Error(`float16 kernel rejected by WebGPU${why}: ${err.message.replace(/\s+/g, ' ').slice(0, 160)}`);
            }
          }
        }
        return {
          run: async () => { const r = await s.run(feeds); await dev.queue.onSubmittedWorkDone(); return r; },
          read: readOut,
          release: (r) => r[out].dispose(),
          dispose() { xb.destroy(); },
        };
      }
      const feeds = hostFeeds();
      return { run: async () => s.run(feeds), read: readOut, dispose() {} };
    },
    async disposeAll() {
      for (const s of sessions.values()) await s.release?.();
      sessions.clear();
    },
  };
}
