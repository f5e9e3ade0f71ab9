// Element-wise ops: sigmoid, BCE on probabilities, BCE on logits, KL divergence, and their
// gradients, in tiles of 4 consecutive elements (tile k = elements 4k … 4k+3; elements past the
// end are masked). `value4` and `gradValue4` are src/cpu/elementwise.ts operation for operation.
// `map`/`gradMap` write per element; as a reduce source, `load(k)` gives tile k's 4 values, one
// per Kahan lane (reduce.wgsl TILED).

override OP: u32 = 0; // 0 sigmoid, 1 bce, 2 bceLogits, 3 kl, 4 klLog

// log(1 + v) without cancellation (WGSL has no log1p).
fn log1p4(v: vec4<f32>) -> vec4<f32> {
  let u = 1.0 + v;
  return select(log(u) * (v / (u - 1.0)), v, u == vec4<f32>(1.0));
}

// weight[off + (i + c) % len] for the 4 elements from global index i (broadcast from the right).
fn weights4(i: u32, len: u32, off: u32) -> vec4<f32> {
  return vec4<f32>(weight[off + i % len], weight[off + (i + 1u) % len], weight[off + (i + 2u) % len], weight[off + (i + 3u) % len]);
}

fn validFrom(first: u32, end: u32) -> vec4<bool> {
  return vec4<u32>(first, first + 1u, first + 2u, first + 3u) < vec4<u32>(end);
}

// Values of the tile x = v, y = t whose first element has global index i.
fn value4(v: vec4<f32>, t: vec4<f32>, i: u32, valid: vec4<bool>) -> vec4<f32> {
  var r: vec4<f32>;
  let vnan = isNan4(v);
  let nan4 = vec4<f32>(nan());
  if (OP == 0u) {
    return select(1.0 / (1.0 + exp(-v)), nan4, vnan);
  } else if (OP == 1u) {
    if (any(valid & (vnan | (v < vec4<f32>(0.0)) | (v > vec4<f32>(1.0))))) { atomicMax(&status[0], 1u); } // device inputs
    // log(0) is -inf in PyTorch but may be finite here (SwiftShader: -88): clamp both ends explicitly.
    let l1 = select(max(log1p4(-v), vec4<f32>(-100.0)), vec4<f32>(-100.0), v == vec4<f32>(1.0));
    let l0 = select(max(log(v), vec4<f32>(-100.0)), vec4<f32>(-100.0), v == vec4<f32>(0.0));
    r = (t - 1.0) * l1 - t * l0;
  } else if (OP == 2u) {
    // (1 − t)·x + lw·softplus(−x) without cancellation; see src/cpu/elementwise.ts.
    let L = log1p4(exp(-abs(v)));
    var p = vec4<f32>(1.0);
    var lw = vec4<f32>(1.0);
    if (P.pwLen > 0u) {
      p = weights4(i, P.pwLen, P.wLen);
      lw = (p - 1.0) * t + 1.0;
    }
    r = select(select(-((p * t) * v), (1.0 - t) * v, v >= vec4<f32>(0.0)) + lw * L, nan4, vnan);
  } else if (OP == 3u) {
    // t·log t − t·x where t > 0, exactly 0 where t ≤ 0; NaN targets stay NaN.
    return select(select(vec4<f32>(0.0), t * log(t) - t * v, t > vec4<f32>(0.0)), nan4, isNan4(t));
  } else {
    return select(exp(t) * (t - v), nan4, isNan4(t));
  }
  if (P.wLen > 0u) { r = r * weights4(i, P.wLen, 0u); }
  return r;
}

// d(loss)/dx of the tile before the reduction's scale.
fn gradValue4(v: vec4<f32>, t: vec4<f32>, i: u32) -> vec4<f32> {
  var d: vec4<f32>;
  let nan4 = vec4<f32>(nan());
  if (OP == 1u) {
    d = (v - t) / max((1.0 - v) * v, vec4<f32>(1e-12));
  } else if (OP == 2u) {
    let sig = select(1.0 / (1.0 + exp(-v)), nan4, isNan4(v));
    if (P.pwLen > 0u) {
      let pt = weights4(i, P.pwLen, P.wLen) * t;
      d = ((pt + 1.0) - t) * sig - pt;
    } else {
      d = sig - t;
    }
  } else if (OP == 3u) {
    return select(select(vec4<f32>(0.0), -t, t > vec4<f32>(0.0)), nan4, isNan4(t));
  } else {
    return select(-exp(t), nan4, isNan4(t));
  }
  if (P.wLen > 0u) { d = d * weights4(i, P.wLen, 0u); }
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
  store4(P.oOff + k, gradValue4(v, yTile(j, 1u, valid, 0.0), P.itemBase + k) * g, valid);
}
