// An ESM consumer: import, one crossEntropy on the CPU, the result as JSON on stdout; and the interop
// subpaths, with neither onnxruntime-web nor TF.js installed: an ORT-shaped CPU tensor and a
// TF.js-shaped cpu-backend tensor through fromOrt / fromTfjs into the same loss, a result back
// through toOrt / toTfjs with stand-in modules, and a LossError that is the main entry's class.
import { createLosses, LossError } from 'webgpu-losses';
import { fromOrt, toOrt } from 'webgpu-losses/ort';
import { fromTfjs, toTfjs } from 'webgpu-losses/tfjs';

const { logits, shape, labels } = JSON.parse(process.argv[2]);
const losses = await createLosses({ backend: 'cpu' });
const loss = await losses.crossEntropy({ data: new Float32Array(logits), shape }, new Int32Array(labels));

const ortTensor = { type: 'float32', location: 'cpu', dims: shape, data: new Float32Array(logits) };
const ortLabels = { type: 'int64', location: 'cpu', dims: [labels.length], data: BigInt64Array.from(labels, BigInt) };
const ortLoss = await losses.crossEntropy(fromOrt(ortTensor), fromOrt(ortLabels));
const tfTensor = {
  dtype: 'float32', shape, isDisposed: false, dataSync: () => new Float32Array(logits),
  dataToGPU() { throw new Error("'readToGPU' not yet implemented or not found in the registry."); },
};
const input = fromTfjs(tfTensor);
const tfjsLoss = await losses.crossEntropy(input.tensor, new Int32Array(labels));
input.dispose();
const made = [];
const ort = { Tensor: class { constructor(type, data, dims) { made.push(['ort', type, data.constructor.name, dims]); } static fromGpuBuffer() {} } };
const tf = { tensor: (data, dims, dtype) => made.push(['tf', dtype, data.constructor.name, dims]) };
toOrt(ortLoss, ort);
toTfjs({ data: new Float32Array(2), shape: [2] }, tf);
let interopError = 'none';
try {
  fromOrt({ type: 'uint8', location: 'cpu', dims: [1], data: new Uint8Array(1) });
} catch (err) {
  interopError = err instanceof LossError ? err.message : `not a LossError: ${err}`;
}
losses.dispose();
console.log(JSON.stringify({ backend: losses.backend, loss, lossError: typeof LossError, interop: { ortLoss, tfjsLoss, made, interopError } }));
