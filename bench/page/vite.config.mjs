// The bench page's dev server (`npm run dev`): the repository root is served so that the page
// imports the library from /src/index.ts and the TF.js / ONNX Runtime WASM binaries straight from
// node_modules. Cross-origin isolation gives performance.now() its fine resolution.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export default defineConfig({
  root,
  cacheDir: path.join(root, 'node_modules/.vite-bench'),
  server: {
    open: '/bench/page/',
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    fs: { allow: [root] },
  },
  optimizeDeps: {
    entries: ['bench/page/index.html'],
    include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu'],
    exclude: ['onnxruntime-web'],
  },
});
