// Compile-time tests of webgpu-losses/ort and webgpu-losses/tfjs against the real typings of
// onnxruntime-web and @tensorflow/tfjs-core: their tensors and modules satisfy the structural
// interfaces of src/interop, results are typed by what is known statically, and what goes back is
// the runtime's own tensor type. Never executed (test/types/types.test.ts compiles it with tsc).
import type * as ort from 'onnxruntime-web';
import type * as tf from '@tensorflow/tfjs-core';
import { expectTypeOf } from 'vitest';
import type { DeviceTensor, Float16Tensor, HalfTensor, HostTensor, IndexTensor, Losses, TensorInput } from '../../src/index.js';
import { fromOrt, toOrt } from '../../src/interop/ort.js';
import type { OrtLossTensor } from '../../src/interop/ort.js';
import { fromTfjs, toTfjs } from '../../src/interop/tfjs.js';
import type { TfjsInput } from '../../src/interop/tfjs.js';

declare const losses: Losses;
declare const ortModule: typeof ort;
declare const tfModule: typeof tf;
declare const anyOrt: ort.Tensor;
declare const f32: ort.TypedTensor<'float32'>;
declare const f16: ort.TypedTensor<'float16'>;
declare const i64: ort.TypedTensor<'int64'>;
declare const onGpu: ort.TypedTensor<'float32'> & { location: 'gpu-buffer' };

// fromOrt: an ORT tensor of a statically known type gives what the library takes in that place.
expectTypeOf(fromOrt(f32)).toEqualTypeOf<DeviceTensor | HostTensor>();
expectTypeOf(fromOrt(f16)).toEqualTypeOf<DeviceTensor | HalfTensor | Float16Tensor>();
expectTypeOf(fromOrt(i64)).toEqualTypeOf<DeviceTensor | IndexTensor>();
expectTypeOf(fromOrt(onGpu)).toEqualTypeOf<DeviceTensor>();
expectTypeOf(fromOrt({ type: 'int32', location: 'cpu', dims: [2], data: new Int32Array(2) } as const)).toEqualTypeOf<IndexTensor>();
// A session output (type not known statically) may be any of them: narrow it before using it as an input.
expectTypeOf(fromOrt(anyOrt)).toEqualTypeOf<OrtLossTensor>();
// @ts-expect-error an int64 tensor is no loss input
void losses.crossEntropy(fromOrt(i64), new Int32Array(1));
const r = await losses.crossEntropy(fromOrt(f16), fromOrt(i64), { grad: true, output: 'device' });
expectTypeOf(r.grad).toEqualTypeOf<DeviceTensor>();

// toOrt: the ort module passed in gives its own Tensor type back.
expectTypeOf(toOrt(r.grad, ortModule)).toEqualTypeOf<ort.Tensor>();
expectTypeOf(toOrt(r.loss, ortModule, { own: false })).toEqualTypeOf<ort.Tensor>();
expectTypeOf(toOrt(r.grad, ortModule, { device: losses.device })).toEqualTypeOf<ort.Tensor>();

// fromTfjs: TF.js tensors (dtype not known statically unless narrowed) and the release handle.
declare const t: tf.Tensor;
declare const t32: tf.Tensor2D & { dtype: 'float32' };
declare const ti: tf.Tensor1D & { dtype: 'int32' };
expectTypeOf(fromTfjs(t32)).toEqualTypeOf<TfjsInput<DeviceTensor | HostTensor>>();
expectTypeOf(fromTfjs(ti).tensor).toEqualTypeOf<DeviceTensor | IndexTensor>();
expectTypeOf(fromTfjs(t).tensor).toEqualTypeOf<DeviceTensor | HostTensor | IndexTensor>();
expectTypeOf(fromTfjs(t).dispose).toEqualTypeOf<() => void>();
expectTypeOf(fromTfjs(t32).tensor).toMatchTypeOf<TensorInput>();

// toTfjs: the tf module passed in gives its own Tensor type back.
expectTypeOf(toTfjs(r.grad, tfModule)).toEqualTypeOf<tf.Tensor>();
