// Compile-time tests of what every method resolves to, for literal options and for options whose
// type is wider (a boolean, a Reduction, a variable typed by the options interface). Never executed:
// test/types/types.test.ts compiles this file with tsc and fails on any error, so a wrong result
// type (or an unused @ts-expect-error) fails `npm test`.
import { expectTypeOf } from 'vitest';
import { createLosses } from '../../src/index.js';
import type {
  BceOptions, BceWithLogitsOptions, CreateLossesOptions, CrossEntropyOptions, DeviceTensor, EntropyOptions, EvaluationResult,
  HalfTensor, HostTensor, KlDivOptions, LinearCrossEntropyOptions, Losses, NllLossOptions, Reduction, SoftmaxOptions,
} from '../../src/index.js';

declare const losses: Losses;
declare const x: HostTensor;
declare const labels: Int32Array;
declare const probs: Float32Array;
declare const flag: boolean;
declare const reduction: Reduction;
declare const output: 'host' | 'device';

type Tensor = HostTensor | DeviceTensor;
/** Options typed by their interface may name any outputDtype: half results too. */
type Wide = Tensor | HalfTensor;
type Grad<L, G = HostTensor> = { loss: L; grad: G };

// createLosses and the Losses object.
expectTypeOf(createLosses()).resolves.toEqualTypeOf<Losses>();
expectTypeOf(losses.backend).toEqualTypeOf<'webgpu' | 'cpu'>();
expectTypeOf(losses.fallbackReason).toEqualTypeOf<string | undefined>();
// This repository compiles with @webgpu/types: the WebGPU names resolve to them exactly.
expectTypeOf<DeviceTensor['buffer']>().toEqualTypeOf<GPUBuffer>();
expectTypeOf<CreateLossesOptions['device']>().toEqualTypeOf<GPUDevice | undefined>();
expectTypeOf<CreateLossesOptions['gpu']>().toEqualTypeOf<GPU | undefined>();
expectTypeOf(losses.device).toEqualTypeOf<GPUDevice | undefined>();

// Element-wise and row-wise tensor methods: the output option alone decides.
expectTypeOf(losses.softmax(x)).resolves.toEqualTypeOf<HostTensor>();
expectTypeOf(losses.softmax(x, { output: 'host' })).resolves.toEqualTypeOf<HostTensor>();
expectTypeOf(losses.softmax(x, { output: 'device' })).resolves.toEqualTypeOf<DeviceTensor>();
expectTypeOf(losses.softmax(x, { output })).resolves.toEqualTypeOf<Tensor>();
expectTypeOf(losses.logSoftmax(x)).resolves.toEqualTypeOf<HostTensor>();
expectTypeOf(losses.logSoftmax(x, { output: 'device', dim: 0 })).resolves.toEqualTypeOf<DeviceTensor>();
expectTypeOf(losses.sigmoid(x)).resolves.toEqualTypeOf<HostTensor>();
expectTypeOf(losses.sigmoid(x, { output: 'device' })).resolves.toEqualTypeOf<DeviceTensor>();
expectTypeOf(losses.sigmoid(x, { output })).resolves.toEqualTypeOf<Tensor>();
declare const softmaxOptions: SoftmaxOptions;
expectTypeOf(losses.softmax(x, { dim: 1 })).resolves.toEqualTypeOf<HostTensor>();
expectTypeOf(losses.softmax(x, softmaxOptions)).resolves.toEqualTypeOf<Wide>();
expectTypeOf(losses.logSoftmax(x, softmaxOptions)).resolves.toEqualTypeOf<Wide>();
expectTypeOf(losses.softmaxBackward(x, probs)).resolves.toEqualTypeOf<HostTensor>();
expectTypeOf(losses.softmaxBackward(x, probs, { output: 'device' })).resolves.toEqualTypeOf<DeviceTensor>();
expectTypeOf(losses.logSoftmaxBackward(x, probs, { dim: 0 })).resolves.toEqualTypeOf<HostTensor>();
expectTypeOf(losses.logSoftmaxBackward(x, probs, softmaxOptions)).resolves.toEqualTypeOf<Wide>();

// crossEntropy: every combination of grad, reduction and output, literal and not.
expectTypeOf(losses.crossEntropy(x, labels)).resolves.toEqualTypeOf<number>();
expectTypeOf(losses.crossEntropy(x, probs, { labelSmoothing: 0.1 })).resolves.toEqualTypeOf<number>();
expectTypeOf(losses.crossEntropy(x, labels, { reduction: 'sum' })).resolves.toEqualTypeOf<number>();
expectTypeOf(losses.crossEntropy(x, labels, { reduction: 'none' })).resolves.toEqualTypeOf<HostTensor>();
expectTypeOf(losses.crossEntropy(x, labels, { reduction: 'none', output: 'device' })).resolves.toEqualTypeOf<DeviceTensor>();
expectTypeOf(losses.crossEntropy(x, labels, { output: 'device' })).resolves.toEqualTypeOf<number>();
expectTypeOf(losses.crossEntropy(x, labels, { grad: false })).resolves.toEqualTypeOf<number>();
expectTypeOf(losses.crossEntropy(x, labels, { grad: true })).resolves.toEqualTypeOf<Grad<number>>();
expectTypeOf(losses.crossEntropy(x, labels, { grad: true, output: 'device' })).resolves.toEqualTypeOf<Grad<number, DeviceTensor>>();
expectTypeOf(losses.crossEntropy(x, labels, { grad: true, reduction: 'none', output: 'device' }))
  .resolves.toEqualTypeOf<Grad<DeviceTensor, DeviceTensor>>();
expectTypeOf(losses.crossEntropy(x, labels, { grad: flag })).resolves.toEqualTypeOf<number | Grad<number>>();
expectTypeOf(losses.crossEntropy(x, labels, { reduction })).resolves.toEqualTypeOf<number | HostTensor>();
expectTypeOf(losses.crossEntropy(x, labels, { reduction, output })).resolves.toEqualTypeOf<number | Tensor>();
expectTypeOf(losses.crossEntropy(x, labels, { grad: true, output })).resolves.toEqualTypeOf<Grad<number, Tensor>>();
// Options in a variable typed by the interface: its value could be any of them.
const ceOptions: CrossEntropyOptions = { grad: true };
expectTypeOf(losses.crossEntropy(x, labels, ceOptions)).resolves.toEqualTypeOf<number | Wide | Grad<number | Wide, Wide>>();
// Options in a variable whose type TypeScript infers: a literal `true` widens to boolean.
const inferred = { grad: true };
expectTypeOf(losses.crossEntropy(x, labels, inferred)).resolves.toEqualTypeOf<number | Grad<number>>();
const constant = { grad: true, reduction: 'none' } as const;
expectTypeOf(losses.crossEntropy(x, labels, constant)).resolves.toEqualTypeOf<Grad<HostTensor>>();
// Either of two literal option objects: each keeps its own pairing of loss and grad.
expectTypeOf(losses.crossEntropy(x, labels, flag ? { grad: true } : { reduction: 'none' }))
  .resolves.toEqualTypeOf<Grad<number> | HostTensor>();
// The unsound typing this replaces: a boolean or interface-typed option is not a number.
async function notANumber(): Promise<void> {
  // @ts-expect-error the result may be { loss, grad }
  const a: number = await losses.crossEntropy(x, labels, ceOptions);
  // @ts-expect-error the result may be { loss, grad }
  const b: number = await losses.crossEntropy(x, labels, { grad: flag });
  // @ts-expect-error reduction 'none' gives a tensor
  const c: number = await losses.crossEntropy(x, labels, { reduction });
  // @ts-expect-error an unknown reduction
  await losses.crossEntropy(x, labels, { reduction: 'batchmean' });
  void [a, b, c];
}
void notANumber;

// nllLoss.
declare const nllOptions: NllLossOptions;
expectTypeOf(losses.nllLoss(x, labels)).resolves.toEqualTypeOf<number>();
expectTypeOf(losses.nllLoss(x, labels, { reduction: 'none' })).resolves.toEqualTypeOf<HostTensor>();
expectTypeOf(losses.nllLoss(x, labels, { grad: true, ignoreIndex: 0 })).resolves.toEqualTypeOf<Grad<number>>();
expectTypeOf(losses.nllLoss(x, labels, nllOptions)).resolves.toEqualTypeOf<number | Wide | Grad<number | Wide, Wide>>();

// binaryCrossEntropy and binaryCrossEntropyWithLogits.
declare const bceOptions: BceOptions;
declare const bceLogitsOptions: BceWithLogitsOptions;
expectTypeOf(losses.binaryCrossEntropy(x, probs)).resolves.toEqualTypeOf<number>();
expectTypeOf(losses.binaryCrossEntropy(x, probs, { reduction: 'none', output: 'device' })).resolves.toEqualTypeOf<DeviceTensor>();
expectTypeOf(losses.binaryCrossEntropy(x, probs, { grad: true, reduction: 'sum' })).resolves.toEqualTypeOf<Grad<number>>();
expectTypeOf(losses.binaryCrossEntropy(x, probs, bceOptions)).resolves.toEqualTypeOf<number | Wide | Grad<number | Wide, Wide>>();
expectTypeOf(losses.binaryCrossEntropyWithLogits(x, probs)).resolves.toEqualTypeOf<number>();
expectTypeOf(losses.binaryCrossEntropyWithLogits(x, probs, { posWeight: probs, reduction: 'none' })).resolves.toEqualTypeOf<HostTensor>();
expectTypeOf(losses.binaryCrossEntropyWithLogits(x, probs, { grad: flag, reduction: 'none' }))
  .resolves.toEqualTypeOf<HostTensor | Grad<HostTensor>>();
expectTypeOf(losses.binaryCrossEntropyWithLogits(x, probs, bceLogitsOptions))
  .resolves.toEqualTypeOf<number | Wide | Grad<number | Wide, Wide>>();

// klDiv, with its extra 'batchmean'.
declare const klOptions: KlDivOptions;
expectTypeOf(losses.klDiv(x, probs)).resolves.toEqualTypeOf<number>();
expectTypeOf(losses.klDiv(x, probs, { reduction: 'batchmean', logTarget: true })).resolves.toEqualTypeOf<number>();
expectTypeOf(losses.klDiv(x, probs, { reduction: 'none' })).resolves.toEqualTypeOf<HostTensor>();
expectTypeOf(losses.klDiv(x, probs, { grad: true, reduction: 'batchmean' })).resolves.toEqualTypeOf<Grad<number>>();
expectTypeOf(losses.klDiv(x, probs, klOptions)).resolves.toEqualTypeOf<number | Wide | Grad<number | Wide, Wide>>();

// entropy: per row by default, no gradient.
declare const entropyOptions: EntropyOptions;
expectTypeOf(losses.entropy(x)).resolves.toEqualTypeOf<HostTensor>();
expectTypeOf(losses.entropy(x, { dim: 0, output: 'device' })).resolves.toEqualTypeOf<DeviceTensor>();
expectTypeOf(losses.entropy(x, { reduction: 'mean' })).resolves.toEqualTypeOf<number>();
expectTypeOf(losses.entropy(x, { reduction })).resolves.toEqualTypeOf<number | HostTensor>();
expectTypeOf(losses.entropy(x, entropyOptions)).resolves.toEqualTypeOf<number | Wide>();

// Half precision: results follow the input's dtype unless outputDtype says otherwise.
declare const h16: HalfTensor & { dtype: 'float16' };
declare const hb16: { data: Uint16Array; shape: number[]; dtype: 'bfloat16' };
declare const dh: { buffer: GPUBuffer; shape: number[]; dtype: 'float16' };
declare const i64: BigInt64Array;
expectTypeOf(losses.softmax(h16)).resolves.toEqualTypeOf<HalfTensor>();
expectTypeOf(losses.softmax(h16, { outputDtype: 'float32' })).resolves.toEqualTypeOf<HostTensor>();
expectTypeOf(losses.softmax(x, { outputDtype: 'bfloat16' })).resolves.toEqualTypeOf<HalfTensor>();
expectTypeOf(losses.softmax(dh)).resolves.toEqualTypeOf<HalfTensor>();
expectTypeOf(losses.softmax(dh, { output: 'device' })).resolves.toEqualTypeOf<DeviceTensor>();
expectTypeOf(losses.crossEntropy(hb16, i64)).resolves.toEqualTypeOf<number>();
expectTypeOf(losses.crossEntropy(hb16, i64, { grad: true })).resolves.toEqualTypeOf<Grad<number, HalfTensor>>();
expectTypeOf(losses.crossEntropy(hb16, labels, { grad: true, outputDtype: 'float32' })).resolves.toEqualTypeOf<Grad<number>>();
expectTypeOf(losses.binaryCrossEntropyWithLogits(h16, h16, { reduction: 'none' })).resolves.toEqualTypeOf<HalfTensor>();
expectTypeOf(losses.entropy(h16)).resolves.toEqualTypeOf<HalfTensor>();
// A device tensor of unknown dtype may give either.
declare const dAny: DeviceTensor;
expectTypeOf(losses.sigmoid(dAny)).resolves.toEqualTypeOf<HostTensor | HalfTensor>();
// @ts-expect-error: outputDtype is a float dtype
void losses.softmax(x, { outputDtype: 'int32' });

// The evaluator.
const ev = losses.evaluator({ topK: [5], calibrationBins: 15 });
expectTypeOf(ev.result()).resolves.toEqualTypeOf<EvaluationResult>();
expectTypeOf(ev.result()).resolves.toHaveProperty('count').toEqualTypeOf<number>();
// @ts-expect-error: calibrationBins is a number
losses.evaluator({ calibrationBins: '15' });

// linearCrossEntropy: the loss as crossEntropy's, the gradients each of its operand's dtype.
declare const lceOptions: LinearCrossEntropyOptions;
expectTypeOf(losses.linearCrossEntropy(x, x, labels)).resolves.toEqualTypeOf<number>();
expectTypeOf(losses.linearCrossEntropy(x, x, labels, { reduction: 'none' })).resolves.toEqualTypeOf<HostTensor>();
expectTypeOf(losses.linearCrossEntropy(x, x, labels, { grad: true, bias: probs })).resolves.toEqualTypeOf<
  { loss: number; grad: { hidden: HostTensor; weight: HostTensor; bias?: HostTensor } }>();
expectTypeOf(losses.linearCrossEntropy(h16, x, labels, { grad: true })).resolves.toEqualTypeOf<
  { loss: number; grad: { hidden: HalfTensor; weight: HostTensor; bias?: HostTensor } }>();
expectTypeOf(losses.linearCrossEntropy(x, x, labels, { grad: true, output: 'device' })).resolves.toEqualTypeOf<
  { loss: number; grad: { hidden: DeviceTensor; weight: DeviceTensor; bias?: DeviceTensor } }>();
expectTypeOf(losses.linearCrossEntropy(x, x, labels, { grad: true, reduction: 'none', outputDtype: 'float32' })).resolves.toEqualTypeOf<
  { loss: HostTensor; grad: { hidden: HostTensor; weight: HostTensor; bias?: HostTensor } }>();
expectTypeOf(losses.linearCrossEntropy(x, x, labels, { grad: flag })).resolves.toEqualTypeOf<
  number | { loss: number; grad: { hidden: HostTensor; weight: HostTensor; bias?: HostTensor } }>();
void lceOptions;
// @ts-expect-error: targets are class indices
void losses.linearCrossEntropy(x, x, probs);
