/** Adapter and device acquisition, and the adapter profile the dispatcher plans with. */
import { LossError } from '../errors.js';
import type { AdapterProfile } from '../plan.js';
import type { CreateLossesOptions } from '../types.js';

export interface DeviceHandle {
  device: GPUDevice;
  /** Whether the library created the device (and so may destroy and replace it). */
  owned: boolean;
  profile: AdapterProfile;
  subgroups: boolean;
  /** Held so that Node's `webgpu` GPU object outlives its device (a collected GPU aborts the process). */
  gpu?: GPU;
}

function isEmulated(info: GPUAdapterInfo | undefined): boolean {
  if (!info) return false;
  const fallback = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return fallback || /swiftshader|llvmpipe|lavapipe|warp|software/.test(text);
}

function profileOf(device: GPUDevice, info: GPUAdapterInfo | undefined, options: CreateLossesOptions): AdapterProfile {
  const subgroups = device.features.has('subgroups');
  const minSize = (info as (GPUAdapterInfo & { subgroupMinSize?: number }) | undefined)?.subgroupMinSize ?? 0;
  const maxBinding = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const measured: AdapterProfile = {
    emulated: isEmulated(info),
    subgroupSize: subgroups ? minSize : 0,
    maxGroupsPerDim: device.limits.maxComputeWorkgroupsPerDimension,
    maxBindingBytes: Math.min(maxBinding, options.maxBindingBytes ?? Infinity, options.maxBufferBytes ?? Infinity),
  };
  if (!options.profile) return measured;
  // A test profile may pick other plans, but never more than the device can do.
  const p = options.profile;
  return {
    emulated: p.emulated,
    subgroupSize: Math.min(p.subgroupSize, measured.subgroupSize),
    maxGroupsPerDim: Math.min(p.maxGroupsPerDim, measured.maxGroupsPerDim),
    maxBindingBytes: Math.min(p.maxBindingBytes, measured.maxBindingBytes),
  };
}

/** Uses the app's device, or requests an adapter and device of our own. */
export async function acquireDevice(options: CreateLossesOptions): Promise<DeviceHandle> {
  if (options.device) {
    const device = options.device;
    const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    return { device, owned: false, profile: profileOf(device, info, options), subgroups: device.features.has('subgroups') };
  }
  const gpu = options.gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) throw new LossError('createLosses: WebGPU is not available here (no navigator.gpu and no `gpu` option)');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new LossError('createLosses: WebGPU is not available here (requestAdapter found no adapter)');
  const subgroups = adapter.features.has('subgroups');
  // shader-f16 is not used by our kernels (see floatArray in interface.ts) but requested for what
  // shares the device: ONNX Runtime's WebGPU EP runs float16 models only on a device that has it.
  const f16 = adapter.features.has('shader-f16');
  const features = [...(subgroups ? ['subgroups'] : []), ...(f16 ? ['shader-f16'] : [])] as GPUFeatureName[];
  const device = await adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  return { device, owned: true, profile: profileOf(device, adapter.info, options), subgroups, gpu };
}
