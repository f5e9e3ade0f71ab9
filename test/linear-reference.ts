/**
 * An independent float64 reference of linearCrossEntropy (nothing from src/): the loss of PyTorch's
 *   z = hidden @ weight.T + bias,  y = c·tanh(z/c) (softcap c),
 *   row loss = (1 − ε)·(lse − y_t) + ε·(lse − mean_c y_c) + s·lse²   (−log p_c = lse − y_c; z-loss s),
 * ignored rows (target = ignoreIndex, default -100) contributing 0; 'mean' divides the sum by the number of
 * non-ignored rows (0/0 = NaN when there are none), 'sum' sums, 'none' returns the rows.
 * The gradient, by hand: ∂row/∂y_c = (1 + 2·s·lse)·p_c − (1 − ε)·[c = t] − ε/V, times 1 − tanh²(z/c) through the
 * softcap, times the row's seed (gradOutput[i] or 1 for 'none', 1 for 'sum', 1/count for 'mean'); then
 * ∂hidden = ∂z·weight, ∂weight = ∂zᵀ·hidden, ∂bias = Σ_rows ∂z. Ignored rows add nothing, so 'mean' over no
 * rows gives all-zero gradients, as torch 1.13 does (test/fixtures/torch-linear).
 * Held to torch by test/linear-reference.test.ts.
 */
import type { LinearCase } from './linear-fixtures.js';

/** A case's operands and options (the fixtures' layout: row-major, weight (V, D), gradOutput for 'none' only). */
export type LinearRefInput = Omit<LinearCase, 'name' | 'expected'>;
export type LinearRefResult = LinearCase['expected'];

export function linearCrossEntropyRef(c: LinearRefInput): LinearRefResult {
  const { N, D, V, hidden, weight, bias, target, options } = c;
  const ignoreIndex = options.ignoreIndex ?? -100;
  const eps = options.labelSmoothing ?? 0;
  const zLoss = options.zLoss ?? 0;
  const cap = options.softcap;
  const reduction = options.reduction ?? 'mean';
  if (hidden.length !== N * D || weight.length !== V * D || target.length !== N) throw new Error('linearCrossEntropyRef: shapes');
  if (bias && bias.length !== V) throw new Error('linearCrossEntropyRef: bias length');
  if (c.gradOutput && c.gradOutput.length !== N) throw new Error('linearCrossEntropyRef: gradOutput length');
  if (cap !== undefined && !(cap > 0)) throw new Error('linearCrossEntropyRef: softcap must be > 0');

  let count = 0;
  for (let i = 0; i < N; i++) if (target[i] !== ignoreIndex) count++;

  const rows = new Float64Array(N);
  const gHidden = new Float64Array(N * D);
  const gWeight = new Float64Array(V * D);
  const gBias = new Float64Array(V);
  const y = new Float64Array(V);
  const dtanh = new Float64Array(V); // dy/dz through the softcap (1 without one)
  const dz = new Float64Array(V);

  for (let i = 0; i < N; i++) {
    const t = target[i];
    if (t === ignoreIndex) continue;
    if (!(t >= 0 && t < V)) throw new Error(`linearCrossEntropyRef: target ${t} out of range [0, ${V})`);
    // logits, capped
    for (let v = 0; v < V; v++) {
      let z = bias ? bias[v] : 0;
      for (let k = 0; k < D; k++) z += hidden[i * D + k] * weight[v * D + k];
      if (cap !== undefined) {
        const u = Math.tanh(z / cap);
        y[v] = cap * u;
        dtanh[v] = 1 - u * u;
      } else {
        y[v] = z;
        dtanh[v] = 1;
      }
    }
    // stable log-sum-exp
    let m = -Infinity;
    for (let v = 0; v < V; v++) if (y[v] > m) m = y[v];
    let s = 0;
    let ySum = 0;
    for (let v = 0; v < V; v++) {
      s += Math.exp(y[v] - m);
      ySum += y[v];
    }
    const lse = m + Math.log(s);
    rows[i] = (1 - eps) * (lse - y[t]) + eps * (lse - ySum / V) + zLoss * lse * lse;

    const seed = reduction === 'none' ? (c.gradOutput ? c.gradOutput[i] : 1) : reduction === 'sum' ? 1 : 1 / count;
    const pScale = 1 + 2 * zLoss * lse;
    for (let v = 0; v < V; v++) {
      const p = Math.exp(y[v] - lse);
      let g = pScale * p - eps / V;
      if (v === t) g -= 1 - eps;
      dz[v] = seed * g * dtanh[v];
    }
    // the chain through the matmul
    for (let v = 0; v < V; v++) {
      const g = dz[v];
      if (g === 0) continue;
      gBias[v] += g;
      for (let k = 0; k < D; k++) {
        gHidden[i * D + k] += g * weight[v * D + k];
        gWeight[v * D + k] += g * hidden[i * D + k];
      }
    }
  }

  let loss: number | Float64Array;
  if (reduction === 'none') {
    loss = rows;
  } else {
    let sum = 0;
    for (let i = 0; i < N; i++) sum += rows[i];
    loss = reduction === 'sum' ? sum : sum / count; // 'mean' over no rows: 0/0 = NaN
  }
  const grad: LinearRefResult['grad'] = { hidden: gHidden, weight: gWeight };
  if (bias) grad.bias = gBias;
  return { loss, grad };
}
