// A strict TypeScript consumer with no WebGPU types and no setup: the package's typings must compile
// (skipLibCheck false; its tsconfigs include every .d.ts the tarball ships, reachable or not) and stay
// typed (no `any`) where WebGPU's names are missing.
import { createLosses, LossError } from 'webgpu-losses';
import type { CrossEntropyOptions, DeviceTensor, HostTensor, Losses } from 'webgpu-losses';

const losses: Losses = await createLosses({ backend: 'cpu' });
const x: HostTensor = { data: new Float32Array(6), shape: [2, 3] };
const labels = new Int32Array([0, 1]);
export const loss: number = await losses.crossEntropy(x, labels);
export const rows: HostTensor = await losses.crossEntropy(x, labels, { reduction: 'none' });
export const withGrad: { loss: number; grad: HostTensor } = await losses.crossEntropy(x, labels, { grad: true });
const options: CrossEntropyOptions = { grad: true };
// @ts-expect-error options typed CrossEntropyOptions may resolve to { loss, grad }
export const notANumber: number = await losses.crossEntropy(x, labels, options);
const onDevice: DeviceTensor = await losses.softmax(x, { output: 'device' });
onDevice.buffer.destroy();
export const reason: string | undefined = losses.fallbackReason;
// @ts-expect-error without WebGPU types a buffer is still typed (a stand-in), not any
export const notABuffer: DeviceTensor = { buffer: 1, shape: [1] };
// @ts-expect-error this program has no WebGPU types (else the test above proves nothing)
export type NoWebGpuHere = GPUBuffer;
export { LossError };

// The interop subpaths compile without onnxruntime-web, TF.js and WebGPU types (their own small
// structural interfaces), and type their results.
import { fromOrt, toOrt } from 'webgpu-losses/ort';
import type { OrtModuleLike, OrtTensorLike } from 'webgpu-losses/ort';
import { fromTfjs, toTfjs } from 'webgpu-losses/tfjs';
import type { TfjsTensorLike } from 'webgpu-losses/tfjs';
import type { IndexTensor } from 'webgpu-losses';
export const ortHost: HostTensor = fromOrt({ type: 'float32', location: 'cpu', dims: [2, 3], data: new Float32Array(6) } as const);
export const ortLabels: IndexTensor = fromOrt({ type: 'int64', location: 'cpu', dims: [2], data: new BigInt64Array(2) } as const);
export const ortLoss: number = await losses.crossEntropy(ortHost, ortLabels);
declare const someOrtTensor: OrtTensorLike;
declare const ortModule: OrtModuleLike<{ dims: readonly number[] }>;
export const backToOrt: { dims: readonly number[] } = toOrt(fromOrt(someOrtTensor), ortModule);
declare const tfTensor: TfjsTensorLike & { dtype: 'float32' };
const tfInput = fromTfjs(tfTensor);
export const tfLoss: number = await losses.crossEntropy(tfInput.tensor, labels);
tfInput.dispose();
export const backToTf: string = toTfjs(1.5, { tensor: (): string => 'a tensor' });
