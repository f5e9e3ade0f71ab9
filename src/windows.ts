/**
 * Sub-jobs over windows of a host job: whole outer slices of rows (row ops) or element ranges
 * (element ops). The WebGPU backend streams inputs larger than a device buffer this way; the CPU
 * backend decodes half-precision inputs one window at a time (never the whole tensor at once).
 * `cut` gives an operand's part [a, b): a view, or a decoded copy.
 */
import type { ElementJob, F32Data, RowJob } from './jobs.js';

export type Cut = (d: F32Data, a: number, b: number) => F32Data;

export interface RowWindow {
  job: RowJob;
  /** First row and first element of the window in the whole job. */
  r0: number;
  e0: number;
  /** The window's part of the upstream gradient (one per row). */
  gradOutput?: F32Data;
}

/** Windows of `per` outer slices (C·inner elements, `inner` rows each), each cut when reached. */
export function* rowWindows(job: RowJob, per: number, cut: Cut, gradOutput?: F32Data): Generator<RowWindow> {
  const { outer, C, inner } = job.layout;
  const target = job.target as Int32Array | undefined;
  for (let s0 = 0; s0 < outer; s0 += per) {
    const n = Math.min(per, outer - s0);
    const e0 = s0 * C * inner, e1 = (s0 + n) * C * inner, r0 = s0 * inner, r1 = (s0 + n) * inner;
    yield {
      r0, e0,
      gradOutput: gradOutput && cut(gradOutput, r0, r1),
      job: {
        ...job, x: cut(job.x, e0, e1), target: target?.subarray(r0, r1), prob: job.prob && cut(job.prob, e0, e1),
        layout: { outer: n, C, inner, rows: n * inner },
      },
    };
  }
}

/** posWeight of a window: `w[(start + j) % w.length]` for j < count, as an array indexed `j % length`. */
function rotate(w: Float32Array | undefined, start: number, count: number): Float32Array | undefined {
  if (w === undefined || w.length === 1) return w;
  const len = Math.min(w.length, count);
  const r = new Float32Array(len);
  for (let j = 0; j < len; j++) r[j] = w[(start + j) % w.length];
  return r;
}

export interface ElementWindow {
  job: ElementJob;
  e0: number;
  gradOutput?: F32Data;
}

/** Windows of `per` elements (a multiple of 4, so that vec4 kernels see whole tiles), each cut when reached. */
export function* elementWindows(job: ElementJob, per: number, cut: Cut, gradOutput?: F32Data): Generator<ElementWindow> {
  const div = job.weightDiv ?? 1, shift = job.weightShift ?? 0, weight = job.weight;
  for (let s = 0; s < job.n; s += per) {
    const n = Math.min(per, job.n - s);
    yield {
      e0: s,
      gradOutput: gradOutput && cut(gradOutput, s, s + n),
      job: {
        ...job, x: cut(job.x, s, s + n), t: job.t && cut(job.t, s, s + n), n, posWeight: rotate(job.posWeight, s, n),
        weightShift: weight && (shift + s) % (div * weight.length),
      },
    };
  }
}
