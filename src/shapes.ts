/** Shapes: host or device tensors, element counts, the rows of a tensor along one dim. */
import type { Layout } from './jobs.js';
import type { DeviceTensor } from './types.js';

export function isDevice(x: unknown): x is DeviceTensor {
  return typeof x === 'object' && x !== null && 'buffer' in x && !ArrayBuffer.isView(x);
}

/** Elements of a shape: 0 when any dim is 0, however large the others (an empty tensor costs nothing). */
export function numel(shape: readonly number[]): number {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The rows of `shape` along `dim`. */
export function layoutOf(shape: readonly number[], dim: number): Layout {
  const s = shape.length === 0 ? [1] : shape;
  let outer = 1, inner = 1;
  for (let i = 0; i < dim; i++) outer *= s[i];
  for (let i = dim + 1; i < s.length; i++) inner *= s[i];
  return { outer, C: s[dim], inner, rows: outer * inner };
}

/** `shape` without `dim` (rank-0 and rank-1 inputs give a scalar shape). */
export function dropDim(shape: readonly number[], dim: number): number[] {
  return shape.filter((_, i) => i !== dim);
}
