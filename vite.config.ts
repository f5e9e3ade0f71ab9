import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const NODE = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
/** How the bundler names the command's external `../index.js` (resolved against src/cli/). */
const INDEX_JS = fileURLToPath(new URL('./src/index.js', import.meta.url));

// Library build: ESM with the WGSL inlined through `?raw` imports; no runtime dependencies.
// Four entries: the library (dist/index.js), the interop subpaths `webgpu-losses/ort` and
// `webgpu-losses/tfjs` (dist/ort.js, dist/tfjs.js), and the `webgpu-losses` command (dist/cli.js, the
// package's bin), which imports the library from ./index.js instead of bundling it again. Code that
// entries share goes to a chunk of its own (dist/errors.js: LossError, one class for every entry, so
// `instanceof` holds across them); the interop entries never pull in the core.
// Node's built-ins (only the command uses them) and the optional `webgpu` package (the command's
// dynamic import) stay imports.
// No source map: the bundle is not minified (readable as shipped), and a map would triple the tarball.
export default defineConfig({
  build: {
    lib: {
      entry: { index: 'src/index.ts', ort: 'src/interop/ort.ts', tfjs: 'src/interop/tfjs.ts', cli: 'src/cli/main.ts' },
      formats: ['es'],
      fileName: (_format, name) => `${name}.js`,
    },
    rollupOptions: {
      // The command's `../index.js` is the index entry itself: an import of ./index.js, so the
      // library's chunks stay as they are (bundled, the core would move to a chunk the entries share).
      external: (id, importer) => NODE.has(id) || id === 'webgpu' || (id === '../index.js' && !!importer && /[\\/]src[\\/]cli[\\/]/.test(importer)),
      output: { chunkFileNames: '[name].js', paths: (id) => (id === INDEX_JS ? './index.js' : id) },
    },
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    minify: false,
    sourcemap: false,
  },
});
