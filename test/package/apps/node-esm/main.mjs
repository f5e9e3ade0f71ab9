// An ESM consumer: import, one crossEntropy on the CPU, the result as JSON on stdout.
import { createLosses, LossError } from 'webgpu-losses';

const { logits, shape, labels } = JSON.parse(process.argv[2]);
const losses = await createLosses({ backend: 'cpu' });
const loss = await losses.crossEntropy({ data: new Float32Array(logits), shape }, new Int32Array(labels));
losses.dispose();
console.log(JSON.stringify({ backend: losses.backend, loss, lossError: typeof LossError }));
