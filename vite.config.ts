import { defineConfig } from 'vite';

// Library build: ESM with the WGSL inlined through `?raw` imports; no runtime dependencies.
// Three entries: the library (dist/index.js) and the interop subpaths `webgpu-losses/ort` and
// `webgpu-losses/tfjs` (dist/ort.js, dist/tfjs.js). Code that entries share goes to a chunk of its own
// (dist/errors.js: LossError, one class for every entry, so `instanceof` holds across them); the
// interop entries never pull in the core.
// No source map: the bundle is not minified (readable as shipped), and a map would triple the tarball.
export default defineConfig({
  build: {
    lib: {
      entry: { index: 'src/index.ts', ort: 'src/interop/ort.ts', tfjs: 'src/interop/tfjs.ts' },
      formats: ['es'],
      fileName: (_format, name) => `${name}.js`,
    },
    rollupOptions: { output: { chunkFileNames: '[name].js' } },
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    minify: false,
    sourcemap: false,
  },
});
