// Element-wise ops: sigmoid, BCE on probabilities, BCE on logits, KL divergence, and their
// gradients, in tiles of 4 consecutive elements (tile k = elements 4k … 4k+3; elements past the
// end are masked). `value4` and `gradValue4` are src/cpu/elementwise.ts operation for operation.
// `map`/`gradMap` write per element; as a reduce source, `load(k)` gives tile k's 4 values, one
// per Kahan lane (reduce.wgsl TILED).

override OP: u32 = 0; // 0 sigmoid, 1 bce, 2 bceLogits, 3 kl, 4 klLog

// log(1 + v) without cancellation (WGSL has no log1p), for finite v > −1.
fn log1p4(v: vec4<f32>) -> vec4<f32> {
  let u = 1.0 + v;
  let one = u == vec4<f32>(1.0);
  return select(log(u) * (v / select(u - 1.0, vec4<f32>(1.0), one)), v, one);
}

// weight[off + (i + c) % len] for the 4 elements from global index i (broadcast from the right).
fn weights4(i: u32, len: u32, off: u32) -> vec4<f32> {
  return vec4<f32>(weight[off + i % len], weight[off + (i + 1u) % len], weight[off + (i + 2u) % len], weight[off + (i + 3u) % len]);
}

fn validFrom(first: u32, end: u32) -> vec4<bool> {
  return vec4<u32>(first, first + 1u, first + 2u, first + 3u) < vec4<u32>(end);
}

// 1 / (1 + e^−v): exactly 1 from v = 17 (e^−v < 2^−24), 0 below −88 (where the CPU's e^−v
// overflows or the result is within 1e-38 of 0).
fn sigmoid4(v: vec4<f32>) -> vec4<f32> {
  let f = finite4(v);
  let hi = isPosInf4(v) | (f >= vec4<f32>(17.0));
  let lo = isNegInf4(v) | (f < vec4<f32>(-88.0));
  let r = 1.0 / (1.0 + exp(-clamp(f, vec4<f32>(-88.0), vec4<f32>(17.0))));
  return select(select(select(r, vec4<f32>(0.0), lo), vec4<f32>(1.0), hi), vec4<f32>(nan()), isNan4(v));
}

// BCE's log term clamped at −100 as PyTorch clamps it, decided on the input: log(0) is −inf in
// PyTorch but −88.03 on some adapters, and the clamp only bites for x = 0 and denormal x.
fn clampLog4(l: vec4<f32>) -> vec4<f32> {
  return select(max(finite4(l), vec4<f32>(-100.0)), vec4<f32>(-100.0), isNegInf4(l));
}

// Values of the tile x = v, y = t whose first element has global index i. Special values are
// handled as src/cpu/elementwise.ts's JavaScript arithmetic does (see the *S helpers).
fn value4(v: vec4<f32>, t: vec4<f32>, i: u32, valid: vec4<bool>) -> vec4<f32> {
  var r: vec4<f32>;
  if (OP == 0u) {
    return sigmoid4(v);
  } else if (OP == 1u) {
    if (any(valid & (isNan4(v) | (v < vec4<f32>(0.0)) | (v > vec4<f32>(1.0))))) { atomicMax(&status[0], 1u); } // device inputs
    let inside = isFinite4(v) & (v < vec4<f32>(1.0)); // log1p(−x) of a valid x < 1 is finite (≥ −16.7)
    let l1 = select(vec4<f32>(-100.0), clampLog4(log1p4(-select(vec4<f32>(0.0), v, inside))), inside);
    let l0 = clampLog4(logS4(v));
    r = subS4(mulS4(addS4(t, vec4<f32>(-1.0)), l1), mulS4(t, l0));
    r = select(r, vec4<f32>(nan()), isNan4(v));
  } else if (OP == 2u) {
    // (1 − t)·x + lw·softplus(−x) without cancellation; see src/cpu/elementwise.ts.
    let L = select(log1p4(exp(-abs(finite4(v)))), vec4<f32>(0.0), isInf4(v));
    var p = vec4<f32>(1.0);
    var lw = vec4<f32>(1.0);
    if (P.pwLen > 0u) {
      p = weights4(i, P.pwLen, P.wLen);
      lw = addS4(mulS4(addS4(p, vec4<f32>(-1.0)), t), vec4<f32>(1.0));
    }
    let pos = bitcast<vec4<u32>>(v) <= vec4<u32>(0x80000000u); // x ≥ 0, −0 included
    let lin = select(-mulS4(mulS4(p, t), v), mulS4(subS4(vec4<f32>(1.0), t), v), pos);
    r = select(addS4(lin, mulS4(lw, L)), vec4<f32>(nan()), isNan4(v));
  } else if (OP == 3u) {
    // PyTorch 1.13's kl_div: xlogy(t, t) − t·x, where xlogy(t, t) is 0 at t = 0 and NaN below 0.
    // So t = 0 contributes 0 at a finite x but NaN at x = −inf (0·−inf), and t < 0 gives NaN.
    let xlogy = select(mulS4(t, logS4(t)), vec4<f32>(0.0), isZero4(t));
    return subS4(xlogy, mulS4(t, v));
  } else {
    return mulS4(expS4(t), subS4(t, v)); // e^t·(t − x)
  }
  if (P.wLen > 0u) { r = mulS4(r, weights4(i, P.wLen, 0u)); }
  return r;
}

// d(loss)/dx of the tile before the reduction's scale.
fn gradValue4(v: vec4<f32>, t: vec4<f32>, i: u32) -> vec4<f32> {
  var d: vec4<f32>;
  if (OP == 1u) {
    // (x − t) / max((1 − x)·x, 1e-12): x is a valid probability, the divisor finite and > 0.
    let x = select(vec4<f32>(0.0), v, isFinite4(v));
    let num = subS4(v, t);
    d = select(finite4(num) / max((1.0 - x) * x, vec4<f32>(1e-12)), num, !isFinite4(num));
  } else if (OP == 2u) {
    let sig = sigmoid4(v);
    if (P.pwLen > 0u) {
      let pt = mulS4(weights4(i, P.pwLen, P.wLen), t);
      d = subS4(mulS4(subS4(addS4(pt, vec4<f32>(1.0)), t), sig), pt);
    } else {
      d = subS4(sig, t);
    }
  } else if (OP == 3u) {
    return -t; // PyTorch 1.13: the gradient of −t·x, whatever t and x are
  } else {
    return -expS4(t);
  }
  if (P.wLen > 0u) { d = mulS4(d, weights4(i, P.wLen, 0u)); }
  return d;
}

// Reduce source (TILED): the 4 values of tile k (global); `present` masks those past the end.
fn load(k: u32) -> vec4<f32> {
  let e = 4u * k;
  let j = P.xOff + (e - P.itemBase);
  let valid = validFrom(e, P.count);
  return value4(xTile(j, 1u, valid, 0.0), yTile(j, 1u, valid, 0.0), e, valid);
}

fn present(k: u32) -> vec4<bool> { return validFrom(4u * k, P.count); }

// Stores the valid elements of a tile at out[o …].
fn store4(o: u32, r: vec4<f32>, valid: vec4<bool>) {
  if (valid.x) { out[o] = r.x; }
  if (valid.y) { out[o + 1u] = r.y; }
  if (valid.z) { out[o + 2u] = r.z; }
  if (valid.w) { out[o + 3u] = r.w; }
}

@compute @workgroup_size(WG)
fn map(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let k = 4u * (groupIndex(wid) * WG + li); // chunk-local element index of the tile
  if (k >= P.rows) { return; }
  let valid = validFrom(k, P.rows);
  let j = P.xOff + k;
  store4(P.oOff + k, value4(xTile(j, 1u, valid, 0.0), yTile(j, 1u, valid, 0.0), P.itemBase + k, valid), valid);
}

@compute @workgroup_size(WG)
fn gradMap(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let k = 4u * (groupIndex(wid) * WG + li);
  if (k >= P.rows) { return; }
  let valid = validFrom(k, P.rows);
  let j = P.xOff + k;
  var v: vec4<f32>;
  if (IN_PLACE) {
    let o = P.oOff + k;
    v = vec4<f32>(out[o], out[o + 1u], out[o + 2u], out[o + 3u]); // past the end: clamped reads, never stored
  } else {
    v = xTile(j, 1u, valid, 0.0);
  }
  let g = vec4<f32>(gradScale(j), gradScale(j + 1u), gradScale(j + 2u), gradScale(j + 3u));
  store4(P.oOff + k, mulS4(gradValue4(v, yTile(j, 1u, valid, 0.0), P.itemBase + k), g), valid);
}
