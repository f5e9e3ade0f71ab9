// The Node environment: this library (built dist/) on Dawn's WebGPU and on the CPU, the GPU floor on
// the library's device, the CPU floors, plain JS, TF.js cpu and wasm (SIMD, one thread, binaries
// loaded from the package's dist/), and onnxruntime-node (CPU, one thread).

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeAdapter } from './adapter.mjs';
import { ortImpl, tfjsImpl } from './baselines.mjs';
import { gpuFloor } from './gpu-floor.mjs';
import { floorGpu, floorJs, floorWasm, libraryCpu, libraryGpu, plainJs } from './impls.mjs';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Mesa's lavapipe, the second software adapter (scripts/setup.sh installs it). */
export const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';

/**
 * Which Vulkan drivers Dawn gets. VK_ICD_FILENAMES, when set, is kept. Otherwise a child process
 * asks Dawn for an adapter with the system's drivers: a real GPU is used as it is; when there is
 * none (or only a software rasterizer such as lavapipe), SwiftShader, the adapter the tests and
 * headless Chromium use here, is chosen instead.
 */
export function chooseVulkanDrivers() {
  if (process.env.VK_ICD_FILENAMES) return `VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES}`;
  const probe = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { create } from 'webgpu';
    const gpu = create([]);
    const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    console.log(JSON.stringify(a ? { ...Object.fromEntries(['vendor', 'architecture', 'device', 'description'].map((k) => [k, a.info[k]])), fallback: a.info.isFallbackAdapter ?? false } : null));
    process.exit(0);`], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? os.tmpdir() } });
  let found = null;
  try { found = JSON.parse(probe.stdout.trim().split('\n').pop()); } catch { /* no adapter, or the probe crashed */ }
  const text = found ? `${found.vendor} ${found.architecture} ${found.device} ${found.description}` : '';
  if (found && !found.fallback && !/swiftshader|llvmpipe|lavapipe|software/i.test(text)) return `system Vulkan drivers (${found.description || found.vendor})`;
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  return `SwiftShader (${SWIFTSHADER_ICD}): ${found ? `the system drivers offer only ${found.description || found.vendor}` : 'no GPU adapter from the system drivers'}`;
}

/**
 * Registers TF.js's gradient functions (for the 'ceGrad' baselines). tfjs-core's CommonJS bundle has
 * none; its ESM `dist/register_all_gradients.js` imports extensionless paths, which Node's ESM loader
 * does not resolve, so a resolve hook adds '.js' for imports inside tfjs-core's dist/. The ESM copy
 * shares the engine and the gradient registry with the bundle (both live on the global namespace).
 */
export async function registerTfjsGradients() {
  const { register } = await import('node:module');
  const hook = `export async function resolve(s, ctx, next) {
    if (ctx.parentURL && ctx.parentURL.includes('/@tensorflow/tfjs-core/dist/') && s.startsWith('.') && !/\\.[cm]?js$/.test(s)) {
      try { return await next(s + '.js', ctx); } catch { /* a directory or something else */ }
    }
    return next(s, ctx);
  }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  await import(pathToFileURL(path.join(path.dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'dist', 'register_all_gradients.js')).href);
}

export async function nodeEnvironment({ log = () => {} } = {}) {
  process.env.XDG_RUNTIME_DIR ??= os.tmpdir();
  const vulkan = chooseVulkanDrivers();
  const { createLosses } = await import('../../dist/index.js');
  const { create } = await import('webgpu');
  const gpu = create([]);
  const header = { vulkan, node: process.version, platform: `${os.type()} ${os.release()} ${os.arch()}`, cpu: os.cpus()[0]?.model, cores: os.cpus().length };
  const impls = [floorJs, floorWasm];
  const keep = { gpu };
  let gpuLosses;
  try {
    gpuLosses = await createLosses({ backend: 'webgpu', gpu });
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    header.adapter = describeAdapter(adapter?.info, gpuLosses.profile);
    impls.unshift(floorGpu(gpuLosses.device, gpuFloor));
    impls.push(libraryGpu(gpuLosses));
  } catch (err) {
    header.adapter = null;
    header.webgpuError = String(err?.message ?? err);
    log(`node: no WebGPU (${header.webgpuError}); GPU rows skipped`);
  }
  const cpuLosses = await createLosses({ backend: 'cpu' });
  impls.push(libraryCpu(cpuLosses), plainJs);

  try {
    const tf = await import('@tensorflow/tfjs-core');
    await registerTfjsGradients(); // tf.grad needs the kernels' gradients (the tfjs union package registers them; tfjs-core alone does not)
    await import('@tensorflow/tfjs-backend-cpu');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    tf.enableProdMode(); // production settings (also silences the "install tfjs-node" banner)
    impls.push(tfjsImpl(tf, 'cpu'), tfjsImpl(tf, 'wasm'));
    header.tfjs = tf.version_core;
  } catch (err) {
    log(`node: TF.js unavailable (${err.message})`);
  }
  try {
    const ort = (await import('onnxruntime-node')).default;
    impls.push(ortImpl(ort, { impl: 'ort-node', ep: 'cpu' }));
    header.onnxruntime = require('onnxruntime-node/package.json').version;
  } catch (err) {
    log(`node: onnxruntime-node unavailable (${err.message})`);
  }
  return {
    env: 'node', impls, header, gpuDevice: gpuLosses?.device,
    dispose() { gpuLosses?.dispose(); cpuLosses.dispose(); void keep; },
  };
}
