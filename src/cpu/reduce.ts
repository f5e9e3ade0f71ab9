/** Fixed-order batch sums of plan.ts (blocks, Kahan lanes, halving tree), in float32. */
import type { ReducePlan } from '../plan.js';

const f32 = Math.fround;
const F32_MAX = 3.4028234663852886e38;

/** Sum of items [start, end) of component k (items are K wide), lanes by the plan's rule. */
function blockSum(v: Float32Array, K: number, k: number, start: number, end: number, lanes: number, acc: Float64Array): number {
  for (let j = 0; j < lanes; j++) {
    let sum = 0, c = 0;
    for (let i = start + j; i < end; i += lanes) {
      const y = f32(v[i * K + k] - c);
      const t = f32(sum + y);
      // Kahan compensation; dropped once the sum is not finite so that inf stays inf (not NaN).
      c = Math.abs(t) <= F32_MAX ? f32(f32(t - sum) - y) : 0;
      sum = t;
    }
    acc[j] = f32(sum - c);
  }
  for (let h = lanes / 2; h >= 1; h /= 2) for (let i = 0; i < h; i++) acc[i] = f32(acc[i] + acc[i + h]);
  return acc[0];
}

/** The K sums of n records of width K under `plan`. */
export function reduceRecords(v: Float32Array, n: number, K: number, plan: ReducePlan): number[] {
  const acc = new Float64Array(Math.max(plan.lanes, plan.finalLanes, 1));
  const G = plan.groups, B = plan.blockLen;
  const sums: number[] = [];
  if (G === 1) {
    for (let k = 0; k < K; k++) sums.push(blockSum(v, K, k, 0, n, plan.lanes, acc));
    return sums;
  }
  const partial = new Float32Array(G * K);
  for (let g = 0; g < G; g++) {
    for (let k = 0; k < K; k++) partial[g * K + k] = blockSum(v, K, k, g * B, Math.min(n, (g + 1) * B), plan.lanes, acc);
  }
  for (let k = 0; k < K; k++) sums.push(blockSum(partial, K, k, 0, G, plan.finalLanes, acc));
  return sums;
}
