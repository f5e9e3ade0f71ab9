import { defineConfig } from 'vite';

// Library build: one ESM file with the WGSL inlined through `?raw` imports; no runtime dependencies.
export default defineConfig({
  build: {
    lib: { entry: 'src/index.ts', formats: ['es'], fileName: () => 'index.js' },
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    minify: false,
    sourcemap: true,
  },
});
