// Row kernels: the online log-sum-exp over the class dim of src/plan.ts, with each op's fused
// epilogue (softmax, log-softmax, entropy, cross-entropy with indices or probabilities, NLL).
// Composed after common.wgsl, one lanes-*.wgsl and one operands-*.wgsl. A lane group of LANES
// invocations owns one segment of one row; `splits` segments per row (split family) write partial states that
// `mergeRows` combines. Each formula matches src/cpu/rows.ts operation for operation.

override OP: u32 = 0; // 0 softmax, 1 logSoftmax, 2 entropy, 3 ce, 4 ceProb, 5 nll, 6 softmaxBackward, 7 logSoftmaxBackward
override RECORDS: bool = false;    // write K-wide records for the batch sums instead of final losses
override HAS_WEIGHT: bool = false; // class weights bound
override KEEP_STATS: bool = false; // store each row's merged state in `partial` for gradRows

const TILE = 4u;

// Index in x of row r's first class (chunk-local row).
fn rowBase(r: u32) -> u32 {
  let o = r / P.inner;
  return P.xOff + o * P.C * P.inner + (r - o * P.inner);
}

// u_c of the dot state for the 4 elements of a tile at x index i (class c): class weight
// (smoothed index targets) or weight × smoothed probability; 0 outside the row.
fn coefTile(i: u32, c: u32, valid: vec4<bool>) -> vec4<f32> {
  var u = vec4<f32>(1.0);
  let s = P.inner;
  if (OP == 4u) {
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
  if (MODE == 3u) {
    // Backward ops: a plain sum of dy·y (softmax) or dy (log-softmax); m stays -inf.
    var acc = acc0;
    let s = P.inner;
    let dy = yTile(i, s, valid, 0.0);
    var d = dy;
    if (OP == 6u) { d = select(vec4<f32>(0.0), mulS4(dy, xTile(i, s, valid, 0.0)), valid); }
    acc.a = sum4S(acc.a, d);
    return acc;
  }
  let v = xTile(i, P.inner, valid, P.negInf);
  let M = nanMax(nanMax(nanMax(nanMax(acc0.m, v.x), v.y), v.z), v.w);
  var acc = rescale(acc0, M);
  // −inf entries (and the padding) take no part in any sum: in a row that is not poisoned, v − M
  // is finite and ≤ 0 everywhere else.
  let skip = isNegInf4(v);
  let e = select(exp(v - M), vec4<f32>(0.0), skip);
  acc.s = acc.s + e.x + e.y + e.z + e.w;
  if (MODE == 1u) {
    let u = coefTile(i, t0, valid);
    let d = select(vec4<f32>(0.0), mulS4(u, select(v - M, v, skip)), valid); // u·(−inf) where v = −inf
    acc.a = sum4S(acc.a, d);
    acc.b = sum4S(acc.b, u);
  } else if (MODE == 2u) {
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
  let bad = OP <= 1u && poisoned(acc.m);
  for (var t0 = start + lane * TILE; t0 < end; t0 += LANES * TILE) {
    let valid = vec4<u32>(t0, t0 + 1u, t0 + 2u, t0 + 3u) < vec4<u32>(end);
    let i = base + t0 * P.inner;
    let v = xTile(i, P.inner, valid, 0.0);
    var r: vec4<f32>;
    if (OP == 0u) {
      r = select(exp(v - acc.m), vec4<f32>(0.0), isNegInf4(v)) * inv;
    } else if (OP == 1u) {
      r = select((v - acc.m) - ls, vec4<f32>(P.negInf), isNegInf4(v));
    } else if (OP == 6u) {
      r = mulS4(v, subS4(yTile(i, P.inner, valid, 0.0), vec4<f32>(acc.a))); // y·(dy − Σ y·dy)
    } else {
      r = subS4(yTile(i, P.inner, valid, 0.0), mulS4(expS4(v), vec4<f32>(acc.a))); // dy − e^y·Σ dy
    }
    storeTile(ob + t0 * P.inner, P.inner, select(r, vec4<f32>(nan()), bad), valid);
  }
}

// The loss of row r from its merged state: a final loss, or a record for the batch sums.
fn finishRow(r: u32, acc: Acc) {
  let bad = OP != 5u && poisoned(acc.m);
  if (OP == 2u) {
    out[P.oOff + r] = select(log(acc.s) - acc.a / acc.s, nan(), bad);
    return;
  }
  if (OP == 4u) {
    out[P.oOff + r] = select(subS(mulS(acc.b, log(acc.s)), acc.a), nan(), bad);
    return;
  }
  let t = labels[P.tOff + r];
  var nll = 0.0;
  var wt = 0.0;
  var smoothing = 0.0;
  if (t != P.ignoreIndex) {
    if (t < 0 || u32(t) >= P.C) {
      atomicMax(&status[0], 1u); // only device targets get here; the host reports it
    } else {
      let xt = xAt(rowBase(r) + u32(t) * P.inner);
      wt = select(1.0, weight[u32(t)], HAS_WEIGHT);
      if (OP == 5u) {
        nll = -mulS(wt, xt);
      } else {
        let ls = log(acc.s);
        let lp = select((xt - acc.m) - ls, P.negInf, isNegInf(xt));
        nll = select(-mulS(wt, lp), nan(), bad);
        if (MODE == 1u) { smoothing = select(subS(mulS(acc.b, ls), acc.a), nan(), bad); }
      }
    }
  }
  if (RECORDS && OP == 5u) {
    out[P.oOff + 2u * r] = nll;
    out[P.oOff + 2u * r + 1u] = wt;
  } else if (RECORDS) {
    out[P.oOff + 3u * r] = nll;
    out[P.oOff + 3u * r + 1u] = smoothing;
    out[P.oOff + 3u * r + 2u] = wt;
  } else if (MODE == 1u) {
    out[P.oOff + r] = addS(mulS(P.keep, nll), mulS(smoothing, P.add));
  } else {
    out[P.oOff + r] = nll;
  }
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
  if (inRange && OP != 5u) { acc = foldLanes(base, seg, lane); }
  acc = laneMerge(acc, li); // every invocation takes part: the merge may use barriers or shuffles
  if (!inRange) { return; }
  if (P.splits > 1u || KEEP_STATS) {
    if (lane == 0u) { partial[P.pOff + g] = toVec(acc); }
  }
  if (P.splits == 1u && (OP <= 1u || OP >= 6u)) {
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
  if (OP >= 2u && OP <= 5u) { finishRow(r, fromVec(partial[b])); }
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
  if (OP != 4u) { t = labels[P.tOff + r]; }
  let ignored = OP != 4u && t == P.ignoreIndex;
  var wt = 0.0;
  if (!ignored && OP != 4u) { wt = select(1.0, weight[u32(t)], HAS_WEIGHT); }
  let wg = mulS(wt, g);
  let ob = base - P.xOff + P.oOff;
  let bad = poisoned(acc.m);
  for (var t0 = start + lane * TILE; t0 < end; t0 += LANES * TILE) {
    let valid = vec4<u32>(t0, t0 + 1u, t0 + 2u, t0 + 3u) < vec4<u32>(end);
    let hit = vec4<i32>(i32(t0), i32(t0) + 1, i32(t0) + 2, i32(t0) + 3) == vec4<i32>(t);
    let i = base + t0 * P.inner;
    let oi = ob + t0 * P.inner;
    var d: vec4<f32>;
    if (OP == 5u) {
      d = select(vec4<f32>(0.0), vec4<f32>(-wg), hit & vec4<bool>(!ignored));
    } else {
      var v: vec4<f32>;
      if (IN_PLACE) {
        let s = P.inner; // past the end: clamped reads, never stored
        v = vec4<f32>(out[oi], out[oi + s], out[oi + 2u * s], out[oi + 3u * s]);
      } else {
        v = xTile(i, P.inner, valid, 0.0);
      }
      let p = select(select(exp(v - acc.m), vec4<f32>(0.0), isNegInf4(v)) * inv, vec4<f32>(nan()), vec4<bool>(bad));
      if (ignored) {
        d = select(vec4<f32>(0.0), vec4<f32>(nan()), isNan4(p)); // log-softmax's backward of a zero row: p·0
      } else if (OP == 4u) {
        d = mulS4(subS4(mulS4(vec4<f32>(acc.b), p), coefTile(i, t0, valid)), vec4<f32>(g));
      } else {
        d = mulS4(vec4<f32>(wg), p - select(vec4<f32>(0.0), vec4<f32>(1.0), hit));
        if (MODE == 1u) {
          let sm = mulS4(vec4<f32>(P.add), subS4(mulS4(vec4<f32>(acc.b), p), coefTile(i, t0, valid)));
          d = addS4(mulS4(vec4<f32>(P.keep), d), mulS4(sm, vec4<f32>(g)));
        }
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
