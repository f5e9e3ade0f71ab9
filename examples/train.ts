/**
 * Full-batch gradient descent for a linear model z = x·W + b, on the GPU or on the CPU.
 *
 * GPU: the features, the weights and the logits stay on the app's GPUDevice. The app's kernels
 * (linear.wgsl) compute the logits, dW = Xᵀ·g, db = Σ g and the update; webgpu-losses, sharing the
 * device, turns the logits into the loss and g = d(loss)/dz in one fused call
 * (`grad: true, inPlace: true, output: 'device'`: g overwrites the logits buffer, nothing is read back
 * but the loss). The metrics use the library too: entropy, log-softmax → KL divergence, plain losses.
 *
 * CPU: the same algorithm in float32 JS (same summation order as the kernels) with the library's CPU
 * backend.
 *
 * Both start from zero weights: the losses are convex in (W, b), so plain GD from zero reaches the
 * same minimiser as any start, and a reference needs no shared random generator to reproduce it.
 */
import type { DeviceTensor, HostTensor, Losses } from '../src/index.js';
import type { Problem, Split } from './datasets.js';
import linearWgsl from './linear.wgsl?raw';

export interface Metrics {
  /** Mean cross-entropy (= negative log-likelihood) of the labels. */
  ce: number;
  /** Fraction of rows whose most probable class is the label. */
  acc: number;
  /** Mean entropy H(p) of the predicted distributions (nats). */
  entropy: number;
  /** Mean KL(y‖p) from the one-hot target y to the prediction p (nats); equals ce since H(y) = 0. */
  kl: number;
}
export interface Evaluation { train: Metrics; test: Metrics }

export interface Trainer {
  /** One full-batch GD step; resolves (after the update has run) to the training loss before it. */
  step(): Promise<number>;
  /** Metrics of the current weights on both splits. */
  evaluate(): Promise<Evaluation>;
  /** W (D×K, row-major) then b (K). */
  params(): Promise<Float32Array>;
  dispose(): void;
}

/** One-hot targets over C classes (C = 2 for the binary model), N×C. */
function oneHot(s: Split, C: number): Float32Array {
  const t = new Float32Array(s.N * C);
  s.labels.forEach((y, n) => (t[n * C + y] = 1));
  return t;
}

const STORAGE = 0x80, COPY_SRC = 0x4, COPY_DST = 0x8, MAP_READ = 0x1, UNIFORM = 0x40;
const WG = 64;

export function gpuTrainer(device: GPUDevice, losses: Losses, p: Problem, lr: number): Trainer {
  const { D, K, C } = p;
  const nParams = (D + 1) * K;
  const binary = p.loss === 'bceWithLogits';
  const created: GPUBuffer[] = [];
  const buffer = (bytes: number, usage: number, data?: ArrayBufferView): GPUBuffer => {
    const b = device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 4) * 4), usage });
    if (data) device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
    created.push(b);
    return b;
  };
  const module = device.createShaderModule({ code: linearWgsl, label: 'linear.wgsl' });
  const pipe = (entryPoint: string) => device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint } });
  const pipes = { forward: pipe('forward'), backward: pipe('backward'), sgd: pipe('sgd'), pairs: pipe('pairs'), accuracy: pipe('accuracy') };
  const group = (pl: GPUComputePipeline, bufs: Record<number, GPUBuffer>) => device.createBindGroup({
    layout: pl.getBindGroupLayout(0),
    entries: Object.entries(bufs).map(([binding, b]) => ({ binding: Number(binding), resource: { buffer: b } })),
  });

  const params = buffer(nParams * 4, STORAGE | COPY_SRC | COPY_DST); // zero-filled by WebGPU
  const grad = buffer(nParams * 4, STORAGE);
  const counts = buffer(8, STORAGE | COPY_SRC | COPY_DST);
  const countsRead = buffer(8, MAP_READ | COPY_DST);
  const paramsRead = buffer(nParams * 4, MAP_READ | COPY_DST);

  const splits = ([p.train, p.test] as const).map((s, slot) => {
    const dims = new ArrayBuffer(16);
    new Uint32Array(dims, 0, 3).set([s.N, D, K]);
    new Float32Array(dims, 12, 1)[0] = lr;
    const u = buffer(16, UNIFORM | COPY_DST, new Uint8Array(dims));
    const x = buffer(s.X.byteLength, STORAGE | COPY_DST, s.X);
    const z = buffer(s.N * K * 4, STORAGE | COPY_SRC | COPY_DST);
    // The metrics read class logits: the linear layer's for C classes, (0, z) pairs for the binary model.
    const m = binary ? buffer(s.N * 2 * 4, STORAGE | COPY_SRC | COPY_DST) : z;
    const labels = buffer(s.N * 4, STORAGE | COPY_DST, s.labels);
    const target = buffer(s.N * C * 4, STORAGE | COPY_DST, oneHot(s, C));
    const yFloat = binary ? buffer(s.N * 4, STORAGE | COPY_DST, Float32Array.from(s.labels)) : undefined;
    const info = buffer(16, UNIFORM | COPY_DST, new Uint32Array([s.N, C, slot, 0]));
    return {
      s, u, x, z, m, labels, target, yFloat,
      forward: group(pipes.forward, { 0: u, 1: x, 2: params, 3: z }),
      pairs: binary ? group(pipes.pairs, { 0: u, 1: z, 3: m }) : undefined,
      accuracy: group(pipes.accuracy, { 1: m, 2: labels, 3: counts, 4: info }),
    };
  });
  const [tr, te] = splits;
  // The gradient normally lands in the train logits buffer (inPlace); these groups are made once.
  const backwardInto = (g: GPUBuffer) => group(pipes.backward, { 0: tr.u, 1: tr.x, 2: g, 3: grad });
  const backward = backwardInto(tr.z);
  const sgd = group(pipes.sgd, { 0: tr.u, 1: grad, 2: params });
  const groups = (n: number) => Math.ceil(n / WG);

  function run(encode: (pass: GPUComputePassEncoder) => void, after?: (enc: GPUCommandEncoder) => void): void {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    encode(pass);
    pass.end();
    after?.(enc);
    device.queue.submit([enc.finish()]);
  }
  const dispatch = (pass: GPUComputePassEncoder, pl: GPUComputePipeline, bg: GPUBindGroup, n: number) => {
    pass.setPipeline(pl);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(groups(n));
  };
  const logits = (sp: typeof tr): DeviceTensor => ({ buffer: sp.z, shape: [sp.s.N, K], dtype: 'float32' });
  const classLogits = (sp: typeof tr): DeviceTensor => ({ buffer: sp.m, shape: [sp.s.N, C], dtype: 'float32' });

  /** The model's loss on a split (plain, or with d(loss)/dz written over the logits). */
  function loss(sp: typeof tr, withGrad: boolean) {
    const opts = withGrad ? { grad: true, inPlace: true, output: 'device' } as const : {};
    return binary
      ? losses.binaryCrossEntropyWithLogits(logits(sp), { buffer: sp.yFloat!, shape: [sp.s.N, 1], dtype: 'float32' }, opts)
      : losses.crossEntropy(logits(sp), { buffer: sp.labels, shape: [sp.s.N], dtype: 'int32' }, opts);
  }

  async function metrics(sp: typeof tr): Promise<Omit<Metrics, 'acc'>> {
    const ce = (await loss(sp, false)) as number;
    const entropy = await losses.entropy(classLogits(sp), { reduction: 'mean' });
    const logp = await losses.logSoftmax(classLogits(sp), { output: 'device' });
    try {
      const kl = await losses.klDiv(logp, { buffer: sp.target, shape: [sp.s.N, C], dtype: 'float32' }, { reduction: 'batchmean' });
      return { ce, entropy, kl };
    } finally {
      logp.buffer.destroy();
    }
  }

  return {
    async step() {
      run((pass) => dispatch(pass, pipes.forward, tr.forward, tr.s.N * K));
      const { loss: l, grad: g } = (await loss(tr, true)) as { loss: number; grad: DeviceTensor };
      // With inPlace the gradient is the logits buffer itself; anything else is bound for this step and freed.
      const own = g.buffer !== tr.z;
      run((pass) => {
        dispatch(pass, pipes.backward, own ? backwardInto(g.buffer) : backward, nParams);
        dispatch(pass, pipes.sgd, sgd, nParams);
      });
      if (own) g.buffer.destroy();
      await device.queue.onSubmittedWorkDone();
      return l;
    },

    async evaluate() {
      run((pass) => {
        for (const sp of splits) {
          dispatch(pass, pipes.forward, sp.forward, sp.s.N * K);
          if (sp.pairs) dispatch(pass, pipes.pairs, sp.pairs, sp.s.N);
          dispatch(pass, pipes.accuracy, sp.accuracy, sp.s.N);
        }
      }, (enc) => enc.copyBufferToBuffer(counts, 0, countsRead, 0, 8));
      const [mTrain, mTest] = [await metrics(tr), await metrics(te)];
      await countsRead.mapAsync(MAP_READ);
      const [cTrain, cTest] = new Uint32Array(countsRead.getMappedRange().slice(0));
      countsRead.unmap();
      // Zeroed for the next evaluation, after this one's counts were copied out.
      device.queue.writeBuffer(counts, 0, new Uint32Array(2));
      return { train: { ...mTrain, acc: cTrain / tr.s.N }, test: { ...mTest, acc: cTest / te.s.N } };
    },

    async params() {
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(params, 0, paramsRead, 0, nParams * 4);
      device.queue.submit([enc.finish()]);
      await paramsRead.mapAsync(MAP_READ);
      const out = new Float32Array(paramsRead.getMappedRange().slice(0));
      paramsRead.unmap();
      return out;
    },

    dispose() {
      for (const b of created) b.destroy();
    },
  };
}

const f32 = Math.fround;

/** z = x·W + b in float32, summing over d in the kernel's order. */
function forwardCpu(s: Split, W: Float32Array, D: number, K: number): Float32Array {
  const z = new Float32Array(s.N * K);
  for (let n = 0; n < s.N; n++) {
    for (let k = 0; k < K; k++) {
      let acc = 0;
      for (let d = 0; d < D; d++) acc = f32(acc + f32(s.X[n * D + d] * W[d * K + k]));
      z[n * K + k] = f32(acc + W[D * K + k]);
    }
  }
  return z;
}

/** Rows whose first largest class logit is the label. */
function correct(m: Float32Array, labels: Int32Array, C: number): number {
  let hits = 0;
  for (let n = 0; n < labels.length; n++) {
    let best = 0;
    for (let k = 1; k < C; k++) if (m[n * C + k] > m[n * C + best]) best = k;
    if (best === labels[n]) hits++;
  }
  return hits;
}

export function cpuTrainer(losses: Losses, p: Problem, lr: number): Trainer {
  const { D, K, C } = p;
  const nParams = (D + 1) * K;
  const binary = p.loss === 'bceWithLogits';
  const W = new Float32Array(nParams);
  const targets = [p.train, p.test].map((s) => ({ oneHot: oneHot(s, C), yFloat: Float32Array.from(s.labels) }));

  function loss(s: Split, z: Float32Array, i: number, withGrad: boolean) {
    const opts = withGrad ? { grad: true, inPlace: true } as const : {};
    return binary
      ? losses.binaryCrossEntropyWithLogits({ data: z, shape: [s.N, 1] }, targets[i].yFloat, opts)
      : losses.crossEntropy({ data: z, shape: [s.N, K] }, s.labels, opts);
  }

  async function metrics(s: Split, i: number): Promise<Metrics> {
    const z = forwardCpu(s, W, D, K);
    const m = binary ? Float32Array.from({ length: 2 * s.N }, (_, j) => (j % 2 ? z[j >> 1] : 0)) : z;
    const x: HostTensor = { data: m, shape: [s.N, C] };
    const ce = (await loss(s, z, i, false)) as number;
    const entropy = await losses.entropy(x, { reduction: 'mean' });
    const kl = await losses.klDiv(await losses.logSoftmax(x), targets[i].oneHot, { reduction: 'batchmean' });
    return { ce, entropy, kl, acc: correct(m, s.labels, C) / s.N };
  }

  return {
    async step() {
      const s = p.train;
      const z = forwardCpu(s, W, D, K);
      const { loss: l, grad: g } = (await loss(s, z, 0, true)) as { loss: number; grad: HostTensor };
      const G = g.data;
      const dW = new Float32Array(nParams);
      for (let i = 0; i < nParams; i++) {
        const k = i % K;
        let acc = 0;
        if (i < D * K) {
          const d = (i - k) / K;
          for (let n = 0; n < s.N; n++) acc = f32(acc + f32(s.X[n * D + d] * G[n * K + k]));
        } else {
          for (let n = 0; n < s.N; n++) acc = f32(acc + G[n * K + k]);
        }
        dW[i] = acc;
      }
      for (let i = 0; i < nParams; i++) W[i] = f32(W[i] - f32(f32(lr) * dW[i]));
      return l;
    },
    async evaluate() {
      return { train: await metrics(p.train, 0), test: await metrics(p.test, 1) };
    },
    async params() {
      return W.slice();
    },
    dispose() {},
  };
}
