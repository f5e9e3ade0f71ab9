// A Vite app: createLosses() picks WebGPU where the browser has it, else the CPU; one crossEntropy
// on the case in the URL's hash, and the same loss of the logits as an ORT-shaped CPU tensor through
// webgpu-losses/ort (the interop subpath bundles without onnxruntime-web); the outcome lands in
// window.__result.
import { createLosses } from 'webgpu-losses';
import { fromOrt } from 'webgpu-losses/ort';

async function main() {
  const { logits, shape, labels } = JSON.parse(decodeURIComponent(location.hash.slice(1)));
  const losses = await createLosses();
  const loss = await losses.crossEntropy({ data: new Float32Array(logits), shape }, new Int32Array(labels));
  const ortLoss = await losses.crossEntropy(fromOrt({ type: 'float32', location: 'cpu', dims: shape, data: new Float32Array(logits) }), new Int32Array(labels));
  losses.dispose();
  return { backend: losses.backend, loss, ortLoss, fallbackReason: losses.fallbackReason ?? null };
}
main().then((r) => { window.__result = r; }, (e) => { window.__result = { error: String(e?.stack ?? e) }; });
