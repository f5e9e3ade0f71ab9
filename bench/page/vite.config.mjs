// The dev server of the bench page and of the training example (`npm run dev`): the repository root
// is served so that the pages import the library from /src/index.ts and the TF.js / ONNX Runtime
// WASM binaries straight from node_modules. Cross-origin isolation gives performance.now() its fine
// resolution. Pages: /bench/page/ (where / leads) and /examples/ (examples/README.md).
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

/** Prints the example's URL under the bench page's one. */
const exampleUrl = {
  name: 'example-url',
  configureServer(server) {
    const print = server.printUrls.bind(server);
    server.printUrls = () => {
      print();
      for (const url of server.resolvedUrls?.local ?? []) server.config.logger.info(`  ➜  Training example: ${new URL('examples/', url).href}`);
    };
  },
};

export default defineConfig({
  root,
  plugins: [toPage, exampleUrl],
  cacheDir: path.join(root, 'node_modules/.vite-bench'),
  server: {
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    fs: { allow: [root] },
  },
  optimizeDeps: {
    // Both pages' dependencies are known up front: a dependency discovered while a page runs would
    // make Vite re-bundle and reload it mid-run.
    entries: ['bench/page/index.html', 'examples/index.html'],
    include: ['uplot', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu', '@jax-js/jax'],
    exclude: ['onnxruntime-web'],
  },
});
