// Element-wise ops: sigmoid, BCE on probabilities, BCE on logits, sigmoid focal loss, KL divergence, and their
// gradients, in tiles of 4 consecutive elements (tile k = elements 4k … 4k+3; elements past the
// end are masked). `value4` and `gradValue4` are src/cpu/elementwise.ts operation for operation.
// `map`/`gradMap` write per element; as a reduce source, `load(k)` gives tile k's 4 values, one
// per Kahan lane (reduce.wgsl TILED).

override OP: u32 = 0; // one of the OP_* element ops of src/registry.ts

// log(1 + v) without cancellation (WGSL has no log1p), for finite v > −1.
fn log1p4(v: vec4<f32>) -> vec4<f32> {
  let u = 1.0 + v;
  let one = u == vec4<f32>(1.0);
  return select(log(u) * (v / select(u - 1.0, vec4<f32>(1.0), one)), v, one);
}

// posWeight[(i + c) % len] for the 4 elements from global index i (stored after the weights).
fn posWeights4(i: u32) -> vec4<f32> {
  let o = P.wLen;
  let n = P.pwLen;
  return vec4<f32>(weight[o + i % n], weight[o + (i + 1u) % n], weight[o + (i + 2u) % n], weight[o + (i + 3u) % n]);
}

// weight[⌊(i + c + wShift) / wDiv⌋ % wLen]: any PyTorch broadcast of the weight (see src/jobs.ts).
fn weights4(i: u32) -> vec4<f32> {
  let k = (vec4<u32>(i) + vec4<u32>(P.wShift, P.wShift + 1u, P.wShift + 2u, P.wShift + 3u)) / P.wDiv % vec4<u32>(P.wLen);
  return vec4<f32>(weight[k.x], weight[k.y], weight[k.z], weight[k.w]);
}

// BCE with logits, unweighted, without posWeight: (1 − t)·x + softplus(−x) without cancellation.
fn bceLogits4(v: vec4<f32>, t: vec4<f32>) -> vec4<f32> {
  let L = select(log1p4(exp(-abs(finite4(v)))), vec4<f32>(0.0), isInf4(v));
  let pos = bitcast<vec4<u32>>(v) <= vec4<u32>(0x80000000u); // x ≥ 0, −0 included
  return addS4(select(-mulS4(t, v), mulS4(subS4(vec4<f32>(1.0), t), v), pos), L);
}

// q^γ for q in [0, 1], γ ≥ 0: 1 at γ = 0, 0 at q = 0 otherwise.
fn powq4(q: vec4<f32>, gamma: f32) -> vec4<f32> {
  if (gamma == 0.0) { return vec4<f32>(1.0); }
  return select(pow(max(q, vec4<f32>(1e-30)), vec4<f32>(gamma)), vec4<f32>(0.0), q == vec4<f32>(0.0));
}

// Sigmoid focal loss: 1 − p_t, its α_t (1 when α < 0).
fn focalQ4(p: vec4<f32>, t: vec4<f32>) -> vec4<f32> {
  return max(1.0 - (p * t + (1.0 - p) * (1.0 - t)), vec4<f32>(0.0));
}
fn alpha4(t: vec4<f32>) -> vec4<f32> {
  return select(P.alpha * t + (1.0 - P.alpha) * (1.0 - t), vec4<f32>(1.0), P.alpha < 0.0);
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
  if (OP == OP_SIGMOID) {
    return sigmoid4(v);
  } else if (OP == OP_BCE) {
    if (any(valid & (isNan4(v) | (v < vec4<f32>(0.0)) | (v > vec4<f32>(1.0))))) { atomicMax(&status[0], 1u); } // device inputs
    let inside = isFinite4(v) & (v < vec4<f32>(1.0)); // log1p(−x) of a valid x < 1 is finite (≥ −16.7)
    let l1 = select(vec4<f32>(-100.0), clampLog4(log1p4(-select(vec4<f32>(0.0), v, inside))), inside);
    let l0 = clampLog4(logS4(v));
    r = subS4(mulS4(addS4(t, vec4<f32>(-1.0)), l1), mulS4(t, l0));
    r = select(r, vec4<f32>(nan()), isNan4(v));
  } else if (OP == OP_BCE_LOGITS) {
    // (1 − t)·x + lw·softplus(−x) without cancellation; see src/cpu/elementwise.ts.
    let L = select(log1p4(exp(-abs(finite4(v)))), vec4<f32>(0.0), isInf4(v));
    var p = vec4<f32>(1.0);
    var lw = vec4<f32>(1.0);
    if (P.pwLen > 0u) {
      p = posWeights4(i);
      lw = addS4(mulS4(addS4(p, vec4<f32>(-1.0)), t), vec4<f32>(1.0));
    }
    let pos = bitcast<vec4<u32>>(v) <= vec4<u32>(0x80000000u); // x ≥ 0, −0 included
    let lin = select(-mulS4(mulS4(p, t), v), mulS4(subS4(vec4<f32>(1.0), t), v), pos);
    r = select(addS4(lin, mulS4(lw, L)), vec4<f32>(nan()), isNan4(v));
  } else if (OP == OP_SIGMOID_FOCAL) {
    // torchvision: ce·(1 − p_t)^γ·α_t (src/cpu/elementwise.ts)
    let p = sigmoid4(v);
    r = mulS4(mulS4(bceLogits4(v, t), powq4(focalQ4(p, t), P.gamma)), alpha4(t));
    r = select(r, vec4<f32>(nan()), isNan4(v) | isNan4(t));
  } else if (OP == OP_KL) {
    // PyTorch 1.13's kl_div: xlogy(t, t) − t·x, where xlogy(t, t) is 0 at t = 0 and NaN below 0.
    // So t = 0 contributes 0 at a finite x but NaN at x = −inf (0·−inf), and t < 0 gives NaN.
    let xlogy = select(mulS4(t, logS4(t)), vec4<f32>(0.0), isZero4(t));
    return subS4(xlogy, mulS4(t, v));
  } else { // OP_KL_LOG
    return mulS4(expS4(t), subS4(t, v)); // e^t·(t − x)
  }
  if (P.wLen > 0u) { r = mulS4(r, weights4(i)); }
  return r;
}

// d(loss)/dx of the tile before the reduction's scale.
fn gradValue4(v: vec4<f32>, t: vec4<f32>, i: u32) -> vec4<f32> {
  var d: vec4<f32>;
  if (OP == OP_BCE) {
    // (x − t) / max((1 − x)·x, 1e-12): x is a valid probability, the divisor finite and > 0.
    let x = select(vec4<f32>(0.0), v, isFinite4(v));
    let num = subS4(v, t);
    d = select(finite4(num) / max((1.0 - x) * x, vec4<f32>(1e-12)), num, !isFinite4(num));
  } else if (OP == OP_BCE_LOGITS) {
    let sig = sigmoid4(v);
    if (P.pwLen > 0u) {
      let pt = mulS4(posWeights4(i), t);
      d = subS4(mulS4(subS4(addS4(pt, vec4<f32>(1.0)), t), sig), pt);
    } else {
      d = subS4(sig, t);
    }
  } else if (OP == OP_SIGMOID_FOCAL) {
    // α_t·((p − t)·q^γ − ce·γ·q^(γ−1)·(2t − 1)·p·(1 − p)), the second term 0 where q = 0
    let p = sigmoid4(v);
    let q = focalQ4(p, t);
    let first = mulS4(p - t, powq4(q, P.gamma));
    var second = vec4<f32>(0.0);
    if (P.gamma != 0.0) {
      second = mulS4(mulS4(mulS4(bceLogits4(v, t), P.gamma * powq4(q, P.gamma - 1.0)), 2.0 * t - 1.0), p * (1.0 - p));
      second = select(second, vec4<f32>(0.0), q == vec4<f32>(0.0));
    }
    d = select(mulS4(subS4(first, second), alpha4(t)), vec4<f32>(nan()), isNan4(v) | isNan4(t));
    return d;
  } else if (OP == OP_KL) {
    return -t; // PyTorch 1.13: the gradient of −t·x, whatever t and x are
  } else { // OP_KL_LOG
    return -expS4(t);
  }
  if (P.wLen > 0u) { d = mulS4(d, weights4(i)); }
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
