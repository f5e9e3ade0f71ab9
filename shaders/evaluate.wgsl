// The streaming evaluator (src/eval/metrics.ts has the same arithmetic): `evalRows` writes each
// row's record (counted, loss, entropy, brier, confidence, rank of the target) from one pass over
// its logits, LANES invocations a row; `evalBinary` the records of sigmoid outputs, an invocation a row;
// `evalAccumulate` adds a batch's records to the Kahan pairs of every component (one invocation a
// component, rows in order: fixed-order sums, reproducible for a batching), from pairs `y` into
// pairs `out`; `evalPerRow` copies each row's loss to `out` and its rank (an i32) to `status`.
// status[1] and status[2] take the first row with a bad label and with a NaN logit.

const REC: u32 = 8u; // floats per record (R in src/eval/metrics.ts)
override LABELS_FLOAT: bool = false; // binary labels as floats in y (else class indices in labels)

var<workgroup> evalState: array<vec4<f32>, WG>;
var<workgroup> evalRank: array<u32, WG>;

// Two states (m, s, a = Σ e·(x − m), q = Σ e²) rescaled to their common max and added.
fn evalMerge(u: vec4<f32>, v: vec4<f32>) -> vec4<f32> {
  if (isNegInf(u.x)) { return v; }
  if (isNegInf(v.x)) { return u; }
  let M = max(u.x, v.x);
  let du = u.x - M;
  let dv = v.x - M;
  let fu = exp(du);
  let fv = exp(dv);
  return vec4<f32>(M, u.y * fu + v.y * fv, (u.z + du * u.y) * fu + (v.z + dv * v.y) * fv, u.w * fu * fu + v.w * fv * fv);
}

fn storeRecord(r: u32, counted: f32, loss: f32, entropy: f32, brier: f32, conf: f32, rank: f32) {
  let o = P.oOff + r * REC;
  out[o] = counted;
  out[o + 1u] = loss;
  out[o + 2u] = entropy;
  out[o + 3u] = brier;
  out[o + 4u] = conf;
  out[o + 5u] = rank;
  out[o + 6u] = 0.0;
  out[o + 7u] = 0.0;
}

// LANES invocations a row (WG / LANES rows a workgroup): lane l folds classes l, l + LANES, …, then
// the lanes of a row merge in a halving tree in workgroup memory.
@compute @workgroup_size(WG)
fn evalRows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let lane = li % LANES;
  let r = groupIndex(wid) * (WG / LANES) + li / LANES;
  let live = r < P.rows; // no early return: every invocation reaches the barriers
  let o = r / P.inner;
  let base = P.xOff + o * P.C * P.inner + (r - o * P.inner);
  var t = P.ignoreIndex;
  if (live) { t = labelAt(P.tOff + r); }
  let ignored = t == P.ignoreIndex;
  let valid = live && !ignored && t >= 0 && u32(t) < P.C;
  var xt = 0.0;
  if (valid) { xt = xAt(base + u32(t) * P.inner); }
  var st = vec4<f32>(P.negInf, 0.0, 0.0, 0.0);
  var rank = 0u;
  var nan = false;
  for (var c = lane; live && c < P.C; c += LANES) {
    let v = xAt(base + c * P.inner);
    if (isNan(v)) { nan = true; continue; }
    if (valid && (v > xt || (v == xt && i32(c) < t))) { rank += 1u; }
    if (isNegInf(v)) { continue; }
    if (v > st.x) { // a new max: rescale what was summed (one exp an element either way)
      if (isNegInf(st.x)) {
        st = vec4<f32>(v, 1.0, 0.0, 1.0);
      } else {
        let d = st.x - v;
        let f = exp(d);
        st = vec4<f32>(v, st.y * f + 1.0, (st.z + d * st.y) * f, st.w * f * f + 1.0);
      }
    } else {
      let d = v - st.x;
      let e = exp(d);
      st = vec4<f32>(st.x, st.y + e, st.z + e * d, st.w + e * e);
    }
  }
  if (nan) { atomicMin(&status[2], P.itemBase + r); }
  if (LANES > 1u) {
    evalState[li] = st;
    evalRank[li] = rank;
    workgroupBarrier();
    for (var h = LANES / 2u; h >= 1u; h = h / 2u) {
      if (lane < h) {
        evalState[li] = evalMerge(evalState[li], evalState[li + h]);
        evalRank[li] += evalRank[li + h];
      }
      workgroupBarrier();
    }
    st = evalState[li];
    rank = evalRank[li];
  }
  if (lane != 0u || !live) { return; }
  if (!valid) {
    if (!ignored) { atomicMin(&status[1], P.itemBase + r); }
    storeRecord(r, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0);
    return;
  }
  let s = st;
  let ls = log(s.y);
  let inv = 1.0 / s.y;
  var pt = 0.0;
  var loss = -P.negInf;
  if (!isNegInf(xt)) {
    pt = exp(xt - s.x) * inv;
    loss = (s.x + ls) - xt;
  }
  storeRecord(r, 1.0, loss, ls - s.z * inv, (s.w * (inv * inv) - 2.0 * pt) + 1.0, inv, f32(rank));
}

@compute @workgroup_size(WG)
fn evalBinary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let r = groupIndex(wid) * WG + li;
  if (r >= P.rows) { return; }
  let x = xAt(P.xOff + r);
  if (isNan(x)) { atomicMin(&status[2], P.itemBase + r); }
  var y: f32;
  var ignored: bool;
  if (LABELS_FLOAT) {
    y = yAt(P.xOff + r);
    ignored = y == f32(P.ignoreIndex);
  } else {
    let t = labelAt(P.tOff + r);
    y = f32(t);
    ignored = t == P.ignoreIndex;
  }
  if (ignored || (y != 0.0 && y != 1.0)) {
    if (!ignored) { atomicMin(&status[1], P.itemBase + r); }
    storeRecord(r, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0);
    return;
  }
  let p = 1.0 / (1.0 + exp(-x));
  let L = log(1.0 + exp(-abs(x)));
  let loss = select(-(y * x), (1.0 - y) * x, x >= 0.0) + L;
  let up = p >= 0.5;
  storeRecord(r, 1.0, loss, 0.0, (p - y) * (p - y), select(1.0 - p, p, up), select(1.0, 0.0, select(0.0, 1.0, up) == y));
}

// Component j of record r (componentValue in src/eval/metrics.ts).
fn componentValue(r: u32, j: u32) -> f32 {
  let o = P.xOff + r * REC;
  let counted = xAt(o);
  if (j < 4u) { return select(xAt(o + j), counted, j == 0u); }
  let rank = xAt(o + 5u);
  if (j < 4u + P.nks) { return select(0.0, 1.0, counted != 0.0 && rank < weight[j - 4u]); }
  let k = j - 4u - P.nks;
  let b = k % P.bins;
  let conf = xAt(o + 4u);
  let bin = u32(clamp(i32(ceil(conf * f32(P.bins))) - 1, 0, i32(P.bins) - 1));
  if (counted == 0.0 || bin != b) { return 0.0; }
  let kind = k / P.bins;
  if (kind == 0u) { return 1.0; }
  if (kind == 1u) { return select(0.0, 1.0, rank == 0.0); }
  return conf;
}

@compute @workgroup_size(WG)
fn evalAccumulate(@builtin(local_invocation_index) li: u32) {
  let n = 4u + P.nks + 3u * P.bins;
  for (var j = li; j < n; j += WG) {
    var sum = yAt(2u * j);
    var c = yAt(2u * j + 1u);
    for (var r = 0u; r < P.rows; r++) {
      let v = componentValue(r, j);
      if (v == 0.0) { continue; }
      let d = v - c;
      let t = sum + d;
      c = (t - sum) - d;
      sum = t;
    }
    out[2u * j] = sum;
    out[2u * j + 1u] = c;
  }
}

@compute @workgroup_size(WG)
fn evalPerRow(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let r = groupIndex(wid) * WG + li;
  if (r >= P.rows) { return; }
  out[P.oOff + r] = xAt(P.xOff + r * REC + 1u);
  atomicStore(&status[r], bitcast<u32>(i32(xAt(P.xOff + r * REC + 5u))));
}
