// The browser environment: this library (from /src) on the page's WebGPU adapter and on the CPU,
// the GPU floor on the library's device, the CPU floors, plain JS, TF.js (webgpu, wasm with SIMD on
// one thread, cpu), ONNX Runtime Web (wasm on one thread; WebGPU for Softmax), jax-js (WebGPU).

import { createLosses } from '/src/index.ts';
import { describeAdapter } from '../lib/adapter.mjs';
import { ortImpl, tfjsImpl } from '../lib/baselines.mjs';
import { gpuFloor } from '../lib/gpu-floor.mjs';
import { jaxImpl } from '../lib/jax.mjs';
import { floorGpu, floorJs, floorWasm, libraryCpu, libraryGpu, plainJs } from '../lib/impls.mjs';

const NODE_MODULES = '/node_modules/';

export async function browserEnvironment({ log = () => {} } = {}) {
  const header = { userAgent: navigator.userAgent, cores: navigator.hardwareConcurrency, crossOriginIsolated: self.crossOriginIsolated };
  const impls = [floorJs, floorWasm];
  const disposers = [];
  if (navigator.gpu) {
    try {
      const losses = await createLosses({ backend: 'webgpu' });
      const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
      header.adapter = describeAdapter(adapter?.info, losses.profile);
      impls.unshift(floorGpu(losses.device, gpuFloor));
      impls.push(libraryGpu(losses));
      disposers.push(() => losses.dispose());
    } catch (err) {
      header.webgpuError = String(err?.message ?? err);
      log(`no WebGPU: ${header.webgpuError}`);
    }
  } else {
    header.webgpuError = 'navigator.gpu is undefined';
  }
  const cpu = await createLosses({ backend: 'cpu' });
  impls.push(libraryCpu(cpu), plainJs);

  try {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js'); // tf.grad needs the kernels' gradients (the tfjs union package registers them; tfjs-core alone does not)
    await import('@tensorflow/tfjs-backend-cpu');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(`${NODE_MODULES}@tensorflow/tfjs-backend-wasm/dist/`);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    tf.enableProdMode();
    header.tfjs = tf.version_core;
    const tfImpls = [];
    if (header.adapter) {
      await import('@tensorflow/tfjs-backend-webgpu');
      tfImpls.push(tfjsImpl(tf, 'webgpu'));
    }
    tfImpls.push(tfjsImpl(tf, 'wasm'), tfjsImpl(tf, 'cpu'));
    impls.push(...tfImpls);
  } catch (err) {
    log(`TF.js unavailable: ${err.message}`);
  }
  try {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.wasmPaths = `${NODE_MODULES}onnxruntime-web/dist/`;
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'error';
    header.onnxruntime = ort.env.versions?.web ?? ort.env.versions?.common;
    impls.push(ortImpl(ort, { impl: 'ort-web-wasm', ep: 'wasm' }));
    if (header.adapter) {
      impls.push(ortImpl(ort, { impl: 'ort-web-webgpu', ep: 'webgpu', device: 'gpu', ops: ['softmax', 'softmaxF16'], gpuDevice: () => ort.env.webgpu.device }));
    }
  } catch (err) {
    log(`ONNX Runtime Web unavailable: ${err.message}`);
  }
  if (header.adapter) {
    try {
      const jax = await import('@jax-js/jax');
      if (!(await jax.init('webgpu')).includes('webgpu')) throw new Error('its WebGPU backend did not start');
      jax.defaultDevice('webgpu'); // as jax-js's README sets it up: arrays made without a device go there
      header.jax = await fetch(`${NODE_MODULES}@jax-js/jax/package.json`).then((r) => r.json()).then((p) => p.version).catch(() => undefined);
      impls.push(jaxImpl(jax));
    } catch (err) {
      log(`jax-js unavailable: ${err.message}`);
    }
  }
  return { env: 'browser', impls, header, dispose() { for (const d of disposers) d(); cpu.dispose(); } };
}
