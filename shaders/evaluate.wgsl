// The streaming evaluator (src/eval/metrics.ts has the same arithmetic): `evalRows` writes each
// row's record (counted, loss, entropy, brier, confidence, rank of the target) from one pass over
// its logits, LANES invocations a row; `evalBinary` the records of sigmoid outputs, an invocation a row;
// `evalAccumulate` adds a batch's records to the Kahan triples of every component (one invocation a
// component, rows in order: fixed-order sums, reproducible for a batching), from triples `y` into
// triples `out`; `evalPerRow` copies each row's loss to `out` and its rank (an i32) to `status`.
// status[1] and status[2] take the first row with a bad label and with a NaN logit.

const REC: u32 = 8u; // floats per record (R in src/eval/metrics.ts)
override LABELS_FLOAT: bool = false; // binary labels as floats in y (else class indices in labels)

var<workgroup> evalState: array<vec4<f32>, WG>;
var<workgroup> evalRank: array<u32, WG>;

// A row's state (m, r, a, w): its max m and, leaving out one maximal element (whose term is
// exactly 1), r = Σe, a = Σe·(x − m), w = Σe² with e = e^(x − m); see src/eval/metrics.ts.
// Two states merged: the larger max is kept, the other state's left-out element joins the sums.
fn evalMerge(u: vec4<f32>, v: vec4<f32>) -> vec4<f32> {
  if (isNegInf(v.x)) { return u; }
  if (isNegInf(u.x)) { return v; }
  var hi = u;
  var lo = v;
  if (v.x > u.x) { hi = v; lo = u; }
  let d = lo.x - hi.x;
  let f = exp(d);
  let s = lo.y + 1.0;
  return vec4<f32>(hi.x, hi.y + s * f, hi.z + (lo.z + d * s) * f, hi.w + (lo.w + 1.0) * (f * f));
}

// log(1 + v) for v ≥ 0 to about an ulp (WGSL has no log1p): below 1/16 its series (error < v^8/8,
// relative 1e-10), since an adapter's log near 1 may be good only absolutely (SwiftShader's, by
// log2, put confident rows' mean loss 5e-6 off); above, log(u)·v/(u − 1) (src/cpu/elementwise.ts).
fn log1pE(v: f32) -> f32 {
  if (v < 0.0625) {
    return v * (1.0 - v * (0.5 - v * (0.33333334 - v * (0.25 - v * (0.2 - v * (0.16666667 - v * 0.14285715))))));
  }
  let u = 1.0 + v;
  return log(u) * (v / (u - 1.0));
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
  // Tiles of 4 classes (lane l takes tiles l, l + LANES, …), branch-free within a tile (SwiftShader
  // runs both sides of a branch that diverges in its SIMD group): the tile's max rescales the state
  // once, then its elements are added, the first one equal to a new max left out (its term is the 1).
  for (var c0 = lane * 4u; live && c0 < P.C; c0 += LANES * 4u) {
    let cs = vec4<u32>(c0, c0 + 1u, c0 + 2u, c0 + 3u);
    let inRow = cs < vec4<u32>(P.C);
    let v = xTile(base + c0 * P.inner, P.inner, inRow, P.negInf);
    let isn = isNan4(v) & inRow;
    nan = nan || any(isn);
    if (valid) {
      let above = (v > vec4<f32>(xt)) | ((v == vec4<f32>(xt)) & (vec4<i32>(cs) < vec4<i32>(t)));
      let k = select(vec4<u32>(0u), vec4<u32>(1u), above & inRow & !isn);
      rank += k.x + k.y + k.z + k.w;
    }
    let fin = inRow & !isn & !isNegInf4(v);
    let vm = select(vec4<f32>(P.negInf), v, fin);
    let tmax = max(max(vm.x, vm.y), max(vm.z, vm.w));
    if (isNegInf(tmax)) { continue; }
    let empty = isNegInf(st.x);
    let newMax = empty || tmax > st.x;
    let M = select(st.x, tmax, newMax);
    let d0 = select(st.x - M, 0.0, empty);
    let f = select(1.0, exp(d0), newMax && !empty);
    let sOld = select(st.y + 1.0, 0.0, empty); // the old sums with the old max's 1
    var acc = vec3<f32>(select(st.y, sOld * f, newMax), select(st.z, (st.z + d0 * sOld) * f, newMax),
                        select(st.w, select(st.w + 1.0, 0.0, empty) * (f * f), newMax));
    let eq = fin & (vm == vec4<f32>(M));
    let first = eq & vec4<bool>(true, !eq.x, !(eq.x || eq.y), !(eq.x || eq.y || eq.z));
    let d = select(vec4<f32>(0.0), vm - vec4<f32>(M), fin);
    let e = select(vec4<f32>(0.0), exp(d), fin & !(first & vec4<bool>(newMax)));
    acc += vec3<f32>((e.x + e.y) + (e.z + e.w), dot(e, d), dot(e, e));
    st = vec4<f32>(M, acc);
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
  let ls = log1pE(st.y);
  let inv = 1.0 / (1.0 + st.y);
  let top = xt == st.x;
  var et = 0.0;
  var loss = -P.negInf;
  if (!isNegInf(xt)) {
    et = exp(xt - st.x);
    loss = (st.x - xt) + ls;
  }
  let rest = select((1.0 + st.y) - et, st.y, top); // Σ_{c≠t} e_c
  let others = select((st.w + 1.0) - et * et, st.w, top); // Σ_{c≠t} e_c²
  storeRecord(r, 1.0, loss, ls - st.z * inv, (rest * rest + others) * (inv * inv), inv, f32(rank));
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
  let L = log1pE(exp(-abs(x)));
  let loss = select(-(y * x), (1.0 - y) * x, x >= 0.0) + L;
  let miss = 1.0 / (1.0 + exp(select(-x, x, y == 1.0))); // |p − y| = σ(∓x), never 1 − p
  let up = x >= 0.0;
  storeRecord(r, 1.0, loss, 0.0, miss * miss, 1.0 / (1.0 + exp(-abs(x))), select(1.0, 0.0, select(0.0, 1.0, up) == y));
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

// Kahan triples (sum, c, special) per component, as `accumulate` in src/eval/metrics.ts: infinite
// and NaN values, and sums that overflow, go to `special` (added by addS, which no adapter folds).
@compute @workgroup_size(WG)
fn evalAccumulate(@builtin(local_invocation_index) li: u32) {
  let n = 4u + P.nks + 3u * P.bins;
  for (var j = li; j < n; j += WG) {
    var sum = yAt(3u * j);
    var c = yAt(3u * j + 1u);
    var spec = yAt(3u * j + 2u);
    for (var r = 0u; r < P.rows; r++) {
      let v = componentValue(r, j);
      if (v == 0.0) { continue; }
      if (!isFinite(v)) { spec = addS(spec, v); continue; }
      let d = v - c;
      // t through a select on a uniform the compiler cannot resolve: lavapipe's LLVM otherwise
      // folds (t − sum) − d to 0 and the compensation is lost (bins is never 0).
      let t = select(sum + d, 0.0, P.bins == 0u);
      if (!isFinite(t)) { spec = addS(spec, t); sum = 0.0; c = 0.0; continue; }
      c = (t - sum) - d;
      sum = t;
    }
    out[3u * j] = sum;
    out[3u * j + 1u] = c;
    out[3u * j + 2u] = spec;
  }
}

@compute @workgroup_size(WG)
fn evalPerRow(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let r = groupIndex(wid) * WG + li;
  if (r >= P.rows) { return; }
  out[P.oOff + r] = xAt(P.xOff + r * REC + 1u);
  atomicStore(&status[r], bitcast<u32>(i32(xAt(P.xOff + r * REC + 5u))));
}
