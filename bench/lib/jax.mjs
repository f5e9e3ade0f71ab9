// jax-js (@jax-js/jax) on its WebGPU backend as an implementation (see impls.mjs for the interface).
// The module is passed in (the page imports it; jax-js has no WebGPU in Node).
//
// What a jax-js user writes, each op jit-compiled once per prepare (jax-js traces and compiles on the
// first call, which is untimed): cross-entropy is the mean NLL of nn.logSoftmax gathered at the int32
// targets with np.takeAlongAxis; softmax and logSoftmax are nn.softmax / nn.logSoftmax over the last axis. 'ceGrad' is jit(valueAndGrad(·)) of the
// cross-entropy w.r.t. the logits in its one-hot form (Σ nn.oneHot(t) · logSoftmax(x), mean): the
// gather form does not compile under jit(valueAndGrad) in jax-js 0.1.25 ("jit: routine primitive
// scatter input is not imm", the scatter of takeAlongAxis's transpose). jax-js runs on its own GPUDevice
// (jax.init('webgpu'); the adapter's maximum limits), like TF.js.
//
// jax-js counts references: a jitted function consumes its arguments, so resident inputs are passed
// as `.ref`; `data()` consumes the array it reads. Arrays are lazy: blockUntilReady() dispatches their
// pending kernels and waits for the queue (a zero-byte read), which is where a resident output's timer
// stops.
//
// jax-js does not throw when WebGPU rejects its work (it logs the uncaptured error and reads back
// whatever the buffers hold): e.g. nn.oneHot is eye(C) gathered at t, and under jit the C×C identity
// becomes a buffer (4.1 GB at C = 32000, over the device's maxBufferSize). A first, untimed call inside
// WebGPU error scopes turns that into this row's failure, with WebGPU's message.

/** The impl; `jax` is the @jax-js/jax module after `await jax.init('webgpu')`. */
export function jaxImpl(jax) {
  const { numpy: np, nn, jit, valueAndGrad } = jax;
  const device = 'webgpu';
  const OPS = ['ce', 'softmax', 'logSoftmax', 'ceGrad'];
  return {
    impl: 'jax-webgpu', device: 'gpu', role: 'baseline', modes: ['end-to-end', 'resident'],
    supports: (op) => OPS.includes(op),
    async prepare(c, d, mode) {
      const { N, C } = d;
      const fns = {
        // mean over rows of −logSoftmax(x)[i, t[i]]
        ce: (x, t) => np.takeAlongAxis(nn.logSoftmax(x), t.reshape([N, 1]), 1).mean().neg(),
        softmax: (x) => nn.softmax(x),
        logSoftmax: (x) => nn.logSoftmax(x),
        // [loss, dloss/dx] of mean over rows of −Σ_j onehot(t)[i, j] · logSoftmax(x)[i, j]
        ceGrad: valueAndGrad((x, t) => nn.logSoftmax(x).mul(nn.oneHot(t, C)).sum(1).mean().neg()),
      };
      const f = jit(fns[c.op]);
      const withT = c.op === 'ce' || c.op === 'ceGrad';
      const inputs = () => [np.array(d.x, { shape: [N, C], device }), ...(withT ? [np.array(d.t, { dtype: np.int32, device })] : [])];
      const free = (arrs) => { for (const a of arrs) if (a.refCount > 0) a.dispose(); };
      const gpu = jax.getWebGPUDevice();
      /** A first, untimed call of `p` inside validation and out-of-memory error scopes: throws what WebGPU rejected. */
      const checked = async (p) => {
        gpu.pushErrorScope('out-of-memory');
        gpu.pushErrorScope('validation');
        let r;
        try {
          r = await p.run();
        } finally {
          const invalid = await gpu.popErrorScope(), oom = await gpu.popErrorScope();
          await p.release?.(r);
          const err = invalid ?? oom;
          if (err) throw new Error(`WebGPU rejected jax-js's work: ${err.message.replace(/\s+/g, ' ').trim().slice(0, 160)}`);
        }
        return p;
      };

      if (mode === 'end-to-end') {
        // Host arrays in: the upload (np.array), the kernels and the download are timed.
        const p = {
          run: async () => {
            const r = f(...inputs()); // consumes the inputs
            if (c.op === 'ceGrad') {
              const [loss, grad] = r;
              return { loss: (await loss.data())[0], grad: await grad.data() };
            }
            const v = await r.data();
            return c.op === 'ce' ? v[0] : v;
          },
          read: (r) => r,
          dispose() { f.dispose(); },
        };
        try { return await checked(p); } catch (err) { p.dispose(); throw err; }
      }

      // 'resident': inputs made and uploaded beforehand.
      const i0 = inputs();
      await jax.blockUntilReady(i0);
      const args = () => i0.map((a) => a.ref);
      const p = {
        run: async () => {
          const r = f(...args());
          if (c.op === 'ce') return (await r.data())[0];
          if (c.op === 'ceGrad') {
            const [loss, grad] = r;
            const v = (await loss.data())[0];
            await grad.blockUntilReady(); // the gradient stays on the device
            return { loss: v, grad };
          }
          await r.blockUntilReady(); // the output stays on the device
          return r;
        },
        // data() consumes one reference: read through .ref, so release() still owns the array.
        read: async (r) => (typeof r === 'number' ? r : c.op === 'ceGrad' ? { loss: r.loss, grad: await r.grad.ref.data() } : r.ref.data()),
        release: (r) => {
          const a = c.op === 'ceGrad' ? r?.grad : r;
          if (a && typeof a === 'object' && a.refCount > 0) a.dispose();
        },
        dispose() { free(i0); f.dispose(); },
      };
      try { return await checked(p); } catch (err) { p.dispose(); throw err; }
    },
  };
}
