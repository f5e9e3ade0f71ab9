// A CommonJS consumer: require() of the ESM build (Node >= 20.19), one crossEntropy on the CPU; and
// require() of the interop subpaths (an ORT-shaped CPU tensor through fromOrt into the same loss).
const { createLosses, LossError } = require('webgpu-losses');
const { fromOrt } = require('webgpu-losses/ort');
const { fromTfjs } = require('webgpu-losses/tfjs');

const { logits, shape, labels } = JSON.parse(process.argv[2]);
createLosses({ backend: 'cpu' }).then(async (losses) => {
  const loss = await losses.crossEntropy({ data: new Float32Array(logits), shape }, new Int32Array(labels));
  const ortLoss = await losses.crossEntropy(fromOrt({ type: 'float32', location: 'cpu', dims: shape, data: new Float32Array(logits) }), new Int32Array(labels));
  losses.dispose();
  console.log(JSON.stringify({ backend: losses.backend, loss, lossError: typeof LossError, interop: { ortLoss, fromTfjs: typeof fromTfjs } }));
});
