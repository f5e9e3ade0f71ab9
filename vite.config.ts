import { defineConfig } from 'vite';

// Library build: one ESM file with the WGSL inlined through `?raw` imports; no runtime dependencies.
// No source map: the bundle is not minified (readable as shipped), and a map would triple the tarball.
export default defineConfig({
  build: {
    lib: { entry: 'src/index.ts', formats: ['es'], fileName: () => 'index.js' },
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    minify: false,
    sourcemap: false,
  },
});
