// A strict TypeScript consumer with @webgpu/types: the package's WebGPU names are exactly its types.
import { createLosses } from 'webgpu-losses';
import type { CreateLossesOptions, DeviceTensor } from 'webgpu-losses';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
export const preciseBuffer: Equal<DeviceTensor['buffer'], GPUBuffer> = true;
export const preciseDevice: Equal<CreateLossesOptions['device'], GPUDevice | undefined> = true;
export const preciseGpu: Equal<CreateLossesOptions['gpu'], GPU | undefined> = true;

declare const device: GPUDevice;
const losses = await createLosses({ backend: 'webgpu', device });
const out = await losses.softmax({ data: new Float32Array(3), shape: [3] }, { output: 'device' });
export const mapped: Promise<undefined> = out.buffer.mapAsync(GPUMapMode.READ);
export const sameDevice: GPUDevice | undefined = losses.device;

// The interop subpaths with WebGPU types: fromOrt of a GPU tensor is a DeviceTensor over a GPUBuffer.
import { fromOrt } from 'webgpu-losses/ort';
import { fromTfjs } from 'webgpu-losses/tfjs';
declare const gpuBuffer: GPUBuffer;
const fromGpu = fromOrt({ type: 'float16', location: 'gpu-buffer', dims: [2, 3], gpuBuffer } as const);
export const fromGpuBuffer: GPUBuffer = fromGpu.buffer;
export const fromGpuLoss = await losses.crossEntropy(fromGpu, new Int32Array(2), { grad: true, output: 'device' });
export const fromTfjsType: typeof fromTfjs = fromTfjs;
