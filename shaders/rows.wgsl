// Row kernels: the online log-sum-exp over the class dim of src/plan.ts, with each op's fused
// epilogue (softmax, log-softmax, entropy, cross-entropy with indices or probabilities, NLL).
// Composed after common.wgsl, one lanes-*.wgsl and one operands-*.wgsl. A lane group of LANES
// invocations owns one segment of one row; `splits` segments per row (split family) write partial states that
// `mergeRows` combines. Each formula matches src/cpu/rows.ts operation for operation.

override OP: u32 = 0; // one of the OP_* row ops of src/registry.ts
override PER_ELEMENT: bool = false; // the op writes an output per element (the softmax family), not a loss per row
override RECORDS: bool = false;    // write K-wide records for the batch sums instead of final losses
override HAS_WEIGHT: bool = false; // class weights bound
override KEEP_STATS: bool = false; // store each row's merged state in `partial` for gradRows
// The options most calls leave off, as constants: an emulator runs both sides of a branch on a
// uniform, so a softcap's tanh behind `P.softcap > 0` would cost every call (half the fold here).
override SOFTCAP: bool = false; // P.softcap > 0
override ZLOSS: bool = false;   // P.zLoss > 0
override FOCAL: bool = false;   // P.gamma > 0
override K: u32 = 1;            // floats a row writes: its record's (RECORDS), else 1 (its loss)

const TILE = 4u;

// Index in x of row r's first class (chunk-local row).
fn rowBase(r: u32) -> u32 {
  let o = r / P.inner;
  return P.xOff + o * P.C * P.inner + (r - o * P.inner);
}

// tanh of finite u, accurate to a few ulp everywhere: the builtin loses relative precision near 0
// on some adapters (even returning 0 for tiny u) and overflows for large u on others. Small |u|:
// expm1(2|u|)/(expm1(2|u|) + 2) with expm1 by the log correction; larger: 1 − 2/(e^2|u| + 1); beyond
// 10 it is 1 in float32.
fn tanh4(u: vec4<f32>) -> vec4<f32> {
  let a = min(abs(u), vec4<f32>(10.0));
  let e = exp(2.0 * a);
  let em1 = select((e - 1.0) * ((2.0 * a) / log(select(e, vec4<f32>(2.0), e == vec4<f32>(1.0)))), 2.0 * a, e == vec4<f32>(1.0));
  let r = select(1.0 - 2.0 / (e + 1.0), em1 / (em1 + 2.0), a < vec4<f32>(0.55));
  return select(r, -r, u < vec4<f32>(0.0));
}

// Cross-entropy's logit softcap: c·tanh(v/c) (±c at ±inf, NaN stays NaN), or v without one.
fn cap4(v: vec4<f32>) -> vec4<f32> {
  if (!SOFTCAP) { return v; }
  let c = P.softcap;
  let r = c * tanh4(finite4(v) / c);
  let inf = select(vec4<f32>(-c), vec4<f32>(c), isPosInf4(v));
  return select(select(r, inf, isInf4(v)), vec4<f32>(nan()), isNan4(v));
}

// e^v − 1 without cancellation (src/cpu/rows.ts expm1): the correction near 0, u − 1 elsewhere.
fn expm1S(v: f32) -> f32 {
  let u = expS4(vec4<f32>(v)).x;
  if (u == 1.0 || isNan(v)) { return v; }
  if (!(abs(finite4(vec4<f32>(v)).x) < 1.0) || isInf(v)) { return u - 1.0; }
  return (u - 1.0) * (v / log(u));
}

// q^γ for q in [0, 1] and γ > 0 (0 at q = 0).
fn powq(q: f32, gamma: f32) -> f32 { return select(pow(max(q, 1e-30), gamma), 0.0, q == 0.0); }

// u_c of the dot state for the 4 elements of a tile at x index i (class c): class weight
// (smoothed index targets) or weight × smoothed probability; 0 outside the row.
fn coefTile(i: u32, c: u32, valid: vec4<bool>) -> vec4<f32> {
  var u = vec4<f32>(1.0);
  let s = P.inner;
  if (OP == OP_CE_PROB) {
    let t = yTile(i, s, valid, 0.0);
    u = select(t, addS4(mulS4(t, vec4<f32>(P.keep)), vec4<f32>(P.add)), P.eps > 0.0);
    if (HAS_WEIGHT) { u = mulS4(vec4<f32>(weight[c], weight[c + 1u], weight[c + 2u], weight[c + 3u]), u); }
  } else if (HAS_WEIGHT) {
    u = vec4<f32>(weight[c], weight[c + 1u], weight[c + 2u], weight[c + 3u]);
  }
  return select(vec4<f32>(0.0), u, valid);
}

// Folds the tile at column t0 (x index i) into a lane state. A tile past the segment's end is
// padded with -inf, which changes neither the max nor any sum (masked where it would): a tile
// wholly past the end leaves the state as it is.
fn foldTile(acc0: Acc, i: u32, t0: u32, end: u32) -> Acc {
  let valid = vec4<u32>(t0, t0 + 1u, t0 + 2u, t0 + 3u) < vec4<u32>(end);
  if (MODE == MODE_BACKWARD) {
    // Backward ops: a plain sum of dy·y (softmax) or dy (log-softmax); m stays -inf.
    var acc = acc0;
    let s = P.inner;
    let dy = yTile(i, s, valid, 0.0);
    var d = dy;
    if (OP == OP_SOFTMAX_BACKWARD) { d = select(vec4<f32>(0.0), mulS4(dy, xTile(i, s, valid, 0.0)), valid); }
    acc.a = sum4S(acc.a, d);
    return acc;
  }
  let v = select(vec4<f32>(P.negInf), cap4(xTile(i, P.inner, valid, 0.0)), valid);
  let M = nanMax(nanMax(nanMax(nanMax(acc0.m, v.x), v.y), v.z), v.w);
  var acc = rescale(acc0, M);
  // −inf entries (and the padding) take no part in any sum: in a row that is not poisoned, v − M
  // is finite and ≤ 0 everywhere else.
  let skip = isNegInf4(v);
  let e = select(exp(v - M), vec4<f32>(0.0), skip);
  acc.s = acc.s + e.x + e.y + e.z + e.w;
  if (MODE == MODE_DOT) {
    let u = coefTile(i, t0, valid);
    let d = select(vec4<f32>(0.0), mulS4(u, select(v - M, v, skip)), valid); // u·(−inf) where v = −inf
    acc.a = sum4S(acc.a, d);
    acc.b = sum4S(acc.b, u);
  } else if (MODE == MODE_ENTROPY) {
    let d = select(e * (v - M), vec4<f32>(0.0), skip);
    acc.a = acc.a + d.x + d.y + d.z + d.w;
  }
  return acc;
}

// The lanes of invocation `lane` in segment `seg` of the row at `base`, merged: lane k·LANES + lane
// (k < UNROLL) folds tiles k·LANES + lane, then every LANES·UNROLL tiles; the UNROLL states are
// merged by the first levels of the halving tree (k ⊕ k+2, then 0 ⊕ 1).
fn foldLanes(base: u32, seg: u32, lane: u32) -> Acc {
  let empty = Acc(P.negInf, 0.0, 0.0, 0.0);
  var a0 = empty;
  var a1 = empty;
  var a2 = empty;
  var a3 = empty;
  let start = seg * P.segment;
  let end = min(P.C, start + P.segment);
  let step = LANES * TILE; // columns between the tiles of neighbouring lanes of one invocation
  for (var t0 = start + lane * TILE; t0 < end; t0 += step * UNROLL) {
    a0 = foldTile(a0, base + t0 * P.inner, t0, end);
    if (UNROLL == 4u) {
      a1 = foldTile(a1, base + (t0 + step) * P.inner, t0 + step, end);
      a2 = foldTile(a2, base + (t0 + 2u * step) * P.inner, t0 + 2u * step, end);
      a3 = foldTile(a3, base + (t0 + 3u * step) * P.inner, t0 + 3u * step, end);
    }
  }
  if (UNROLL == 4u) { a0 = merge(merge(a0, a2), merge(a1, a3)); }
  return a0;
}

// Stores the valid components of a tile at out[o], out[o + stride], …
fn storeTile(o: u32, stride: u32, r: vec4<f32>, valid: vec4<bool>) {
  if (valid.x) { out[o] = r.x; }
  if (valid.y) { out[o + stride] = r.y; }
  if (valid.z) { out[o + 2u * stride] = r.z; }
  if (valid.w) { out[o + 3u * stride] = r.w; }
}

// softmax, logSoftmax and the backward ops: the outputs of one lane's tiles, given the row's state.
fn writeLane(base: u32, seg: u32, lane: u32, acc: Acc) {
  let start = seg * P.segment;
  let end = min(P.C, start + P.segment);
  let inv = 1.0 / acc.s;
  let ls = log(acc.s);
  let ob = base - P.xOff + P.oOff;
  let bad = (OP == OP_SOFTMAX || OP == OP_LOG_SOFTMAX) && poisoned(acc.m);
  for (var t0 = start + lane * TILE; t0 < end; t0 += LANES * TILE) {
    let valid = vec4<u32>(t0, t0 + 1u, t0 + 2u, t0 + 3u) < vec4<u32>(end);
    let i = base + t0 * P.inner;
    let v = xTile(i, P.inner, valid, 0.0);
    var r: vec4<f32>;
    if (OP == OP_SOFTMAX) {
      r = select(exp(v - acc.m), vec4<f32>(0.0), isNegInf4(v)) * inv;
    } else if (OP == OP_LOG_SOFTMAX) {
      r = select((v - acc.m) - ls, vec4<f32>(P.negInf), isNegInf4(v));
    } else if (OP == OP_SOFTMAX_BACKWARD) {
      r = mulS4(v, subS4(yTile(i, P.inner, valid, 0.0), vec4<f32>(acc.a))); // y·(dy − Σ y·dy)
    } else { // OP_LOG_SOFTMAX_BACKWARD
      r = subS4(yTile(i, P.inner, valid, 0.0), mulS4(expS4(v), vec4<f32>(acc.a))); // dy − e^y·Σ dy
    }
    storeTile(ob + t0 * P.inner, P.inner, select(r, vec4<f32>(nan()), bad), valid);
  }
}

// Row r's record for the batch sums (RECORDS: K fields, see ROW_OPS in src/registry.ts), or its
// final loss in x.
fn rowRecord(r: u32, acc: Acc) -> vec4<f32> {
  let bad = OP != OP_NLL && poisoned(acc.m);
  if (OP == OP_ENTROPY) {
    return vec4<f32>(select(log(acc.s) - acc.a / acc.s, nan(), bad), 0.0, 0.0, 0.0);
  }
  if (OP == OP_CE_PROB) {
    let ls = log(acc.s);
    var loss = subS(mulS(acc.b, ls), acc.a);
    if (ZLOSS) {
      let lse = acc.m + ls;
      loss = addS(loss, P.zLoss * (lse * lse));
    }
    return vec4<f32>(select(loss, nan(), bad), 0.0, 0.0, 0.0);
  }
  let t = labelAt(P.tOff + r);
  var nll = 0.0;
  var wt = 0.0;
  var smoothing = 0.0;
  var z = 0.0;
  if (t != P.ignoreIndex) {
    if (t < 0 || u32(t) >= P.C) {
      atomicMax(&status[0], 1u); // only device targets get here; the host reports it
    } else {
      let xt = cap4(vec4<f32>(xAt(rowBase(r) + u32(t) * P.inner))).x;
      wt = select(1.0, weight[u32(t)], HAS_WEIGHT);
      if (OP == OP_NLL) {
        nll = -mulS(wt, xt);
      } else {
        let ls = log(acc.s);
        let lp = select((xt - acc.m) - ls, P.negInf, isNegInf(xt)); // log p_t
        var f = 1.0; // focal: (1 − p_t)^γ, 1 − p_t = −expm1(log p_t)
        if (FOCAL) {
          f = powq(-expm1S(lp), P.gamma);
          // gradRows reads the target logit from the stored state (with inPlace, x is being overwritten)
          if (KEEP_STATS) { partial[P.pOff + r * P.splits].z = xt; }
        }
        nll = select(-mulS(wt, mulS(f, lp)), nan(), bad);
        if (MODE == MODE_DOT) { smoothing = select(subS(mulS(acc.b, ls), acc.a), nan(), bad); }
        if (ZLOSS) {
          let lse = acc.m + ls;
          z = select(P.zLoss * (lse * lse), nan(), bad);
        }
      }
    }
  }
  if (RECORDS && OP == OP_NLL) { return vec4<f32>(nll, wt, 0.0, 0.0); }
  var loss = nll;
  if (MODE == MODE_DOT) { loss = addS(mulS(P.keep, nll), mulS(smoothing, P.add)); }
  // (row loss, z, w_t, counted) with a z-loss: see the ce record of src/registry.ts
  if (RECORDS && ZLOSS) { return vec4<f32>(loss, z, wt, select(0.0, 1.0, t != P.ignoreIndex)); }
  if (RECORDS) { return vec4<f32>(nll, smoothing, wt, 0.0); }
  if (ZLOSS) { loss = addS(loss, z); }
  return vec4<f32>(loss, 0.0, 0.0, 0.0);
}

// Writes row r's record (or loss) from its merged state.
fn finishRow(r: u32, acc: Acc) {
  let v = rowRecord(r, acc);
  for (var c = 0u; c < K; c++) { out[P.oOff + K * r + c] = v[c]; }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let groups = P.splits * P.rows; // lane groups in this chunk
  let g = groupIndex(wid) * (WG / LANES) + li / LANES;
  let lane = li % LANES;
  let inRange = g < groups;
  let r = select(0u, g / P.splits, inRange);
  let seg = g % P.splits;
  let base = rowBase(r);
  var acc = Acc(P.negInf, 0.0, 0.0, 0.0);
  if (inRange && OP != OP_NLL) { acc = foldLanes(base, seg, lane); }
  acc = laneMerge(acc, li); // every invocation takes part: the merge may use barriers or shuffles
  if (!inRange) { return; }
  if (P.splits > 1u || KEEP_STATS) {
    if (lane == 0u) { partial[P.pOff + g] = toVec(acc); }
  }
  if (P.splits == 1u && PER_ELEMENT) {
    writeLane(base, 0u, lane, acc);
  } else if (P.splits == 1u && lane == 0u) {
    finishRow(r, acc);
  }
}

// Split family, second pass: one invocation per row merges its `splits` partial states by the
// halving tree (in place), then finishes the row; softmax rows keep the state for `writeRows`.
@compute @workgroup_size(WG)
fn mergeRows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let r = groupIndex(wid) * WG + li;
  if (r >= P.rows) { return; }
  let n = P.splits;
  let b = P.pOff + r * n;
  var width = 1u;
  while (width < n) { width = width * 2u; }
  for (var h = width / 2u; h >= 1u; h = h / 2u) {
    for (var i = 0u; i < h; i++) {
      if (i + h < n) { partial[b + i] = toVec(merge(fromVec(partial[b + i]), fromVec(partial[b + i + h]))); }
    }
  }
  if (!PER_ELEMENT) { finishRow(r, fromVec(partial[b])); }
}

// Split family, softmax outputs: each lane group rewrites its segment with the merged state.
@compute @workgroup_size(WG)
fn writeRows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let g = groupIndex(wid) * (WG / LANES) + li / LANES;
  if (g >= P.splits * P.rows) { return; }
  let r = g / P.splits;
  writeLane(rowBase(r), g % P.splits, li % LANES, fromVec(partial[P.pOff + r * P.splits]));
}

// d(loss)/dx of the elements of one lane's tiles (src/cpu/rows.ts gradRows has the formulas).
fn gradLane(base: u32, seg: u32, lane: u32, r: u32, acc: Acc) {
  let start = seg * P.segment;
  let end = min(P.C, start + P.segment);
  let inv = 1.0 / acc.s;
  let g = gradScale(P.tOff + r);
  var t = -1;
  if (OP != OP_CE_PROB) { t = labelAt(P.tOff + r); }
  let ignored = OP != OP_CE_PROB && t == P.ignoreIndex;
  var wt = 0.0;
  if (!ignored && OP != OP_CE_PROB) { wt = select(1.0, weight[u32(t)], HAS_WEIGHT); }
  var wg = mulS(wt, g);
  let ls = log(acc.s);
  if (FOCAL && OP == OP_CE && !ignored) {
    // focal: d/dx_c = −A·(δ_ct − p_c), A = γ·p_t·(1 − p_t)^(γ−1)·log p_t − (1 − p_t)^γ (0 where p_t = 1);
    // the (capped) target logit is in the state's a (finishRow put it there)
    let lp = select((acc.a - acc.m) - ls, P.negInf, isNegInf(acc.a));
    let q = -expm1S(lp);
    var A = 0.0;
    if (q != 0.0) { A = mulS(P.gamma, mulS(expS4(vec4<f32>(lp)).x, mulS(powq(q, P.gamma - 1.0), lp))) - powq(q, P.gamma); }
    wg = mulS(wg, -A);
  }
  // z-loss: d(s·lse²)/dx_c = 2·s·lse·p_c, scaled like the row (a 'mean' divides by the row count)
  var zf = 0.0;
  if (ZLOSS && !ignored && OP != OP_NLL) { zf = mulS((2.0 * P.zLoss) * (acc.m + ls), gradScaleZ(P.tOff + r)); }
  let ob = base - P.xOff + P.oOff;
  let bad = poisoned(acc.m);
  for (var t0 = start + lane * TILE; t0 < end; t0 += LANES * TILE) {
    let valid = vec4<u32>(t0, t0 + 1u, t0 + 2u, t0 + 3u) < vec4<u32>(end);
    let hit = vec4<i32>(i32(t0), i32(t0) + 1, i32(t0) + 2, i32(t0) + 3) == vec4<i32>(t);
    let i = base + t0 * P.inner;
    let oi = ob + t0 * P.inner;
    var d: vec4<f32>;
    if (OP == OP_NLL) {
      d = select(vec4<f32>(0.0), vec4<f32>(-wg), hit & vec4<bool>(!ignored));
    } else {
      var v: vec4<f32>;
      if (IN_PLACE) {
        let s = P.inner; // past the end: clamped reads, never stored
        v = vec4<f32>(out[oi], out[oi + s], out[oi + 2u * s], out[oi + 3u * s]);
      } else {
        v = xTile(i, P.inner, valid, 0.0);
      }
      let vc = cap4(v);
      let p = select(select(exp(vc - acc.m), vec4<f32>(0.0), isNegInf4(vc)) * inv, vec4<f32>(nan()), vec4<bool>(bad));
      if (ignored) {
        d = select(vec4<f32>(0.0), vec4<f32>(nan()), isNan4(p)); // log-softmax's backward of a zero row: p·0
      } else if (OP == OP_CE_PROB) {
        d = mulS4(subS4(mulS4(vec4<f32>(acc.b), p), coefTile(i, t0, valid)), vec4<f32>(g));
      } else {
        d = mulS4(vec4<f32>(wg), p - select(vec4<f32>(0.0), vec4<f32>(1.0), hit));
        if (MODE == MODE_DOT) {
          let sm = mulS4(vec4<f32>(P.add), subS4(mulS4(vec4<f32>(acc.b), p), coefTile(i, t0, valid)));
          d = addS4(mulS4(vec4<f32>(P.keep), d), mulS4(sm, vec4<f32>(g)));
        }
      }
      if (zf != 0.0) { d = addS4(d, mulS4(vec4<f32>(zf), p)); }
      if (SOFTCAP) {
        // through the cap: × (1 − tanh²(x/c)) of the input itself
        let th = select(tanh4(finite4(v) / P.softcap), vec4<f32>(1.0), isInf4(v));
        d = mulS4(d, 1.0 - th * th);
      }
    }
    storeTile(oi, P.inner, d, valid);
  }
}

// Gradients: each lane group rewrites its segment with d(loss)/dx from the row state that `main`
// (or `mergeRows`) stored; runs after the batch sums when a 'mean' divides by them.
@compute @workgroup_size(WG)
fn gradRows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let g = groupIndex(wid) * (WG / LANES) + li / LANES;
  if (g >= P.splits * P.rows) { return; }
  let r = g / P.splits;
  gradLane(rowBase(r), g % P.splits, li % LANES, r, fromVec(partial[P.pOff + r * P.splits]));
}

// Rows of one invocation each (src/gpu/dispatch.ts fuses them): the first pass of the batch sums
// with the rows' records made in place, so a batch whose sums fit one block takes one dispatch.
// Workgroup g sums block g as reduce.wgsl does (Kahan lane li takes rows li, li + WG, … of the
// block, then the halving tree) and writes its K sums to out[P.oOff + g·K + k].
@compute @workgroup_size(WG)
fn rowSums(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let g = groupIndex(wid);
  if (g >= P.blocks) { return; }
  let start = (P.firstBlock + g) * P.blockLen;
  let end = min(P.rows, start + P.blockLen);
  var k = Kahan(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  for (var r = start + li; r < end; r += WG) {
    var acc = Acc(P.negInf, 0.0, 0.0, 0.0);
    if (OP != OP_NLL) { acc = foldLanes(rowBase(r), 0u, 0u); }
    if (KEEP_STATS) { partial[P.pOff + r] = toVec(acc); }
    k = kahanAdd(k, rowRecord(r, acc), vec4<bool>(true));
  }
  let v = laneSum(kahanValue(k), li, WG);
  if (li == 0u) {
    for (var c = 0u; c < K; c++) { out[P.oOff + g * K + c] = v[c]; }
  }
}
