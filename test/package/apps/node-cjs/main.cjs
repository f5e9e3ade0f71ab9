// A CommonJS consumer: require() of the ESM build (Node >= 20.19), one crossEntropy on the CPU.
const { createLosses, LossError } = require('webgpu-losses');

const { logits, shape, labels } = JSON.parse(process.argv[2]);
createLosses({ backend: 'cpu' }).then(async (losses) => {
  const loss = await losses.crossEntropy({ data: new Float32Array(logits), shape }, new Int32Array(labels));
  losses.dispose();
  console.log(JSON.stringify({ backend: losses.backend, loss, lossError: typeof LossError }));
});
