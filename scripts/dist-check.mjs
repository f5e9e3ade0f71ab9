// Calls every public method through the built package (dist/index.js), as README.md, "API" shows,
// on the CPU and, when an adapter is found, on WebGPU; exits non-zero on any failure.
import { createLosses, LossError } from '../dist/index.js';

let gpu;
try {
  gpu = (await import('webgpu')).create([]);
} catch {
  gpu = undefined;
}
const x = { data: new Float32Array([2, 1, 0.1, 0.5, 2.5, 0.3]), shape: [2, 3] };
const probs = new Float32Array([0.7, 0.2, 0.1, 0.1, 0.8, 0.1]);
const labels = new Int32Array([0, 1]);
const p = { data: new Float32Array([0.9, 0.2, 0.5, 0.6, 0.1, 0.3]), shape: [2, 3] };
const y = new Float32Array([1, 0, 1, 1, 0, 0]);

async function run(losses) {
  const out = {
    softmax: await losses.softmax(x, { dim: -1 }),
    logSoftmax: await losses.logSoftmax(x, { dim: 1 }),
    sigmoid: await losses.sigmoid(x),
    crossEntropy: await losses.crossEntropy(x, labels, { labelSmoothing: 0.1, weight: new Float32Array([1, 2, 3]) }),
    crossEntropyProbs: await losses.crossEntropy(x, probs),
    crossEntropyNone: await losses.crossEntropy(x, labels, { reduction: 'none' }),
    nllLoss: await losses.nllLoss(x, labels, { ignoreIndex: 1, reduction: 'sum' }),
    binaryCrossEntropy: await losses.binaryCrossEntropy(p, y, { weight: new Float32Array([1, 2, 3]) }),
    binaryCrossEntropyWithLogits: await losses.binaryCrossEntropyWithLogits(x, y, { posWeight: new Float32Array([1, 2, 3]) }),
    klDiv: await losses.klDiv(x, probs, { reduction: 'batchmean' }),
    entropy: await losses.entropy(x),
    // hidden (2, 3) against a head of 3 classes (weight (3, 3)): x is both.
    linearCrossEntropy: await losses.linearCrossEntropy(x, { data: new Float32Array(9).fill(0.25), shape: [3, 3] }, labels, { zLoss: 1e-3 }),
    linearCrossEntropyGrad: (await losses.linearCrossEntropy(x, { data: new Float32Array(9).fill(0.5), shape: [3, 3] }, labels, { grad: true })).grad.weight,
  };
  let rejected = false;
  try {
    await losses.crossEntropy(x, new Int32Array([0, 7]));
  } catch (err) {
    rejected = err instanceof LossError && err.name === 'LossError';
  }
  if (!rejected) throw new Error('a bad target did not reject with LossError');
  losses.dispose();
  return out;
}

const results = { cpu: await run(await createLosses({ backend: 'cpu' })) };
if (gpu) results.webgpu = await run(await createLosses({ backend: 'webgpu', gpu }));
for (const [backend, out] of Object.entries(results)) {
  for (const [name, v] of Object.entries(out)) {
    const values = typeof v === 'number' ? [v] : Array.from(v.data);
    if (!values.every(Number.isFinite)) throw new Error(`${backend} ${name} gave ${values}`);
  }
}
console.log(`dist-check: every method ran on ${Object.keys(results).join(' and ')}`);
