// The bench page's dev server (`npm run dev`): the repository root is served so that the page
// imports the library from /src/index.ts and the TF.js / ONNX Runtime WASM binaries straight from
// node_modules. Cross-origin isolation gives performance.now() its fine resolution.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `/` sends the browser to the page, so the URL Vite prints works as it is. */
const toPage = {
  name: 'bench-page-redirect',
  configureServer(server) {
    server.middlewares.use((req, res, next) => {
      if (req.url !== '/' && req.url !== '/index.html') return next();
      res.statusCode = 302;
      res.setHeader('Location', '/bench/page/');
      res.end();
    });
  },
};

export default defineConfig({
  root,
  plugins: [toPage],
  cacheDir: path.join(root, 'node_modules/.vite-bench'),
  server: {
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    fs: { allow: [root] },
  },
  optimizeDeps: {
    entries: ['bench/page/index.html'],
    include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu'],
    exclude: ['onnxruntime-web'],
  },
});
