// Element-wise ops: sigmoid, BCE on probabilities, BCE on logits, KL divergence. `value` is the
// formula of src/cpu/elementwise.ts operation for operation; `map` writes it per element, and as
// a reduce source (`load`) it is summed without being stored.

override OP: u32 = 0; // 0 sigmoid, 1 bce, 2 bceLogits, 3 kl, 4 klLog

// log(1 + v) without cancellation (WGSL has no log1p).
fn log1p(v: f32) -> f32 {
  let u = 1.0 + v;
  return select(log(u) * (v / (u - 1.0)), v, u == 1.0);
}

// Element at binding index j, global index i (for the broadcast weights).
fn value(j: u32, i: u32) -> f32 {
  let v = xAt(j);
  var r: f32;
  if (OP == 0u) {
    return 1.0 / (1.0 + exp(-v));
  } else if (OP == 1u) {
    if (!(v >= 0.0 && v <= 1.0)) { atomicMax(&status[0], 1u); } // only device inputs get here
    let t = y[j];
    r = (t - 1.0) * max(log1p(-v), -100.0) - t * max(log(v), -100.0);
  } else if (OP == 2u) {
    // (1 − t)·x + lw·softplus(−x) without cancellation; see src/cpu/elementwise.ts.
    let t = y[j];
    let L = log1p(exp(-abs(v)));
    var p = 1.0;
    var lw = 1.0;
    if (P.pwLen > 0u) {
      p = weight[P.wLen + i % P.pwLen];
      lw = (p - 1.0) * t + 1.0;
    }
    r = select(-((p * t) * v), (1.0 - t) * v, v >= 0.0) + lw * L;
  } else if (OP == 3u) {
    let t = y[j];
    // t·log t − t·x where t > 0, exactly 0 where t ≤ 0; NaN targets stay NaN.
    return select(select(0.0, t - t, t != t), t * log(t) - t * v, t > 0.0);
  } else {
    let t = y[j];
    return exp(t) * (t - v);
  }
  if (P.wLen > 0u) { r = r * weight[i % P.wLen]; }
  return r;
}

fn load(i: u32) -> vec4<f32> {
  return vec4<f32>(value(P.xOff + i - P.itemBase, i), 0.0, 0.0, 0.0);
}

@compute @workgroup_size(WG)
fn map(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let k = groupIndex(wid) * WG + li;
  if (k >= P.rows) { return; }
  out[P.oOff + k] = value(P.xOff + k, P.itemBase + k);
}

// d(loss_i)/dx_i before the reduction's scale (src/cpu/elementwise.ts elementGrad has the formulas).
fn gradValue(v: f32, j: u32, i: u32) -> f32 {
  let t = y[j];
  var d: f32;
  if (OP == 1u) {
    d = (v - t) / max((1.0 - v) * v, 1e-12);
  } else if (OP == 2u) {
    let sig = 1.0 / (1.0 + exp(-v));
    if (P.pwLen > 0u) {
      let pt = weight[P.wLen + i % P.pwLen] * t;
      d = ((pt + 1.0) - t) * sig - pt;
    } else {
      d = sig - t;
    }
  } else if (OP == 3u) {
    return select(select(0.0, t - t, t != t), -t, t > 0.0);
  } else {
    return -exp(t);
  }
  if (P.wLen > 0u) { d = d * weight[i % P.wLen]; }
  return d;
}

@compute @workgroup_size(WG)
fn gradMap(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let k = groupIndex(wid) * WG + li;
  if (k >= P.rows) { return; }
  let j = P.xOff + k;
  var v: f32;
  if (IN_PLACE) { v = out[P.oOff + k]; } else { v = xAt(j); }
  out[P.oOff + k] = gradValue(v, j, P.itemBase + k) * gradScale(j);
}
