/**
 * The browser side of test/browser/interop.test.ts, served by Vite from the repository root (with
 * COOP/COEP: ONNX Runtime's WASM memory is shared). It runs the scenarios of test/interop/scenarios.ts
 * with ONNX Runtime Web and TF.js from node_modules and the library from its sources, and exposes
 *   window.adapter()            → the adapter's description and features
 *   window.ort(build, spec)     → ortHead on ORT's WebGPU EP: build 'jsep' is `onnxruntime-web`,
 *                                 'webgpu' is `onnxruntime-web/webgpu` (the native WebGPU EP)
 *   window.ortCpu(spec)         → ortHeadCpu on ORT's wasm EP
 *   window.tfjs(backend)        → tfjsHead on TF.js: 'webgpu' (its own device), 'webgpu-app' (TF.js's
 *                                 'webgpu' backend re-registered as a WebGPUBackend over the page's device) or 'cpu'
 * Each page load runs one scenario (ORT's builds and TF.js's backends are process-wide state).
 */
import { Readbacks, ortHead, ortHeadCpu, settle, tfjsHead } from '../../interop/scenarios.js';
import type { OrtEnv, OrtSpec } from '../../interop/scenarios.js';

const counter = new Readbacks(GPUBuffer);

async function adapter() {
  const a = await navigator.gpu?.requestAdapter();
  if (!a) return null;
  return { vendor: a.info.vendor, architecture: a.info.architecture, device: a.info.device, description: a.info.description, features: [...a.features] as string[] };
}

async function ortEnv(build: 'jsep' | 'webgpu', appDevice: boolean): Promise<OrtEnv> {
  const ort = build === 'jsep' ? await import('onnxruntime-web') : await import('onnxruntime-web/webgpu');
  ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  const model = async (file: string) => {
    const res = await fetch(`/test/fixtures/onnx/${file}`);
    if (!res.ok) throw new Error(`GET ${file}: ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  };
  let device: GPUDevice | undefined;
  if (appDevice) {
    const a = await navigator.gpu.requestAdapter();
    if (!a) throw new Error('no adapter');
    device = await a.requestDevice({
      requiredFeatures: (['shader-f16', 'subgroups'] as GPUFeatureName[]).filter((f) => a.features.has(f)),
      requiredLimits: { maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize, maxBufferSize: a.limits.maxBufferSize },
    });
  }
  return { ort, model, counter, appDevice: device };
}

/** TF.js on 'webgpu' (its own device), 'webgpu-app' ('webgpu' as a WebGPUBackend over the page's device) or 'cpu'. */
async function loadTf(backend: 'webgpu' | 'webgpu-app' | 'cpu') {
  const tf = await import('@tensorflow/tfjs-core');
  if (backend === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
  } else {
    const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
    if (backend === 'webgpu-app') {
      const a = await navigator.gpu.requestAdapter();
      if (!a) throw new Error('no adapter');
      const device = await a.requestDevice({
        requiredLimits: { maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize, maxBufferSize: a.limits.maxBufferSize },
      });
      // In place of TF.js's own factory: the kernels are registered under the name 'webgpu'.
      tf.removeBackend('webgpu');
      tf.registerBackend('webgpu', () => new WebGPUBackend(device, a.info));
    }
  }
  if (!(await tf.setBackend(backend === 'webgpu-app' ? 'webgpu' : backend))) throw new Error(`TF.js backend ${backend} is not available`);
  await tf.ready();
  return tf;
}

Object.assign(window, {
  adapter,
  ort: (build: 'jsep' | 'webgpu', spec: OrtSpec) => settle(counter, async () => ortHead(await ortEnv(build, spec.device === 'app'), spec)),
  ortCpu: (spec: { dtype: 'float32' | 'float16' }) => settle(counter, async () => ortHeadCpu(await ortEnv('jsep', false), spec)),
  tfjs: (backend: 'webgpu' | 'webgpu-app' | 'cpu') => settle(counter, async () => tfjsHead(await loadTf(backend), counter)),
});
document.getElementById('status')!.textContent = 'ready';
