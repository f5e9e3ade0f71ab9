// Fused linear cross-entropy (src/gpu/linear.ts): the products of one chunk of rows of hidden
// (x, (rows, D)) with one block of rows of the LM head (y, (C, D)), never the whole N×V logits.
// The chunk's logits, and then its gradient G, live in one scratch (row stride P.ldz); the row
// kernels of rows.wgsl turn logits into losses and G in between.
//
// Each invocation owns a 4×4 tile of its output and keeps it in registers; a workgroup of 64 is
// 8×8 such tiles (32×32 outputs), whose operand rows the cache shares. No barriers: on an emulated
// adapter every workgroup that uses one costs ~0.2 ms (src/plan.ts). Every sum runs in index
// order, one product added at a time, and a later block or chunk continues the sum where the last
// stopped (ACCUMULATE: the stored float32 is the running sum), so the result does not depend on
// the blocking, and the CPU (src/cpu/linear.ts) repeats it operation for operation.

override HAS_BIAS: bool = false;   // logits: add scale[sOff + c] (the bias) after the sum
override ACCUMULATE: bool = false; // grads: continue the sums already in `out`

// Rows (or columns) r0 … r0+3 clamped into [0, n): reads stay in bounds, writes are masked.
fn clamp4(r0: u32, n: u32) -> vec4<u32> {
  return min(vec4<u32>(r0, r0 + 1u, r0 + 2u, r0 + 3u), vec4<u32>(n - 1u));
}
fn valid4(r0: u32, n: u32) -> vec4<bool> {
  return vec4<u32>(r0, r0 + 1u, r0 + 2u, r0 + 3u) < vec4<u32>(n);
}

// The tile of the invocation: 8×8 tiles of 4×4 per workgroup, workgroups along `cols` first.
fn tileOf(wid: vec3<u32>, li: u32, cols: u32) -> vec2<u32> {
  let g = groupIndex(wid);
  let colGroups = (cols + 31u) / 32u;
  return vec2<u32>((g / colGroups) * 32u + (li / 8u) * 4u, (g % colGroups) * 32u + (li % 8u) * 4u);
}

// Four elements of operand x/y from index i on (stride 1); fill where not valid.
fn hTile(i: u32, valid: vec4<bool>) -> vec4<f32> { return xTile(i, 1u, valid, 0.0); }
fn wTile(i: u32, valid: vec4<bool>) -> vec4<f32> { return yTile(i, 1u, valid, 0.0); }

// z[r][c] = Σ_d x[r, d]·y[c, d] (+ bias[c]) for rows r < P.rows, block columns c < P.C, written
// to out[oOff + r·ldz + c]; status[1] is set when a logit is not finite.
@compute @workgroup_size(64)
fn logits(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = tileOf(wid, li, P.C);
  if (t.x >= P.rows || t.y >= P.C) { return; }
  let rr = clamp4(t.x, P.rows) * P.D + vec4<u32>(P.xOff);
  let cc = clamp4(t.y, P.C) * P.D + vec4<u32>(P.yOff);
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  let all4 = vec4<bool>(true);
  var d = 0u;
  // Four d at a time where D allows (one 16-byte load per operand row with vec4 operands)...
  for (; d + 4u <= P.D; d += 4u) {
    let w = transpose(mat4x4<f32>(wTile(cc.x + d, all4), wTile(cc.y + d, all4), wTile(cc.z + d, all4), wTile(cc.w + d, all4)));
    let h0 = hTile(rr.x + d, all4); let h1 = hTile(rr.y + d, all4); let h2 = hTile(rr.z + d, all4); let h3 = hTile(rr.w + d, all4);
    for (var k = 0u; k < 4u; k++) {
      a0 += h0[k] * w[k]; a1 += h1[k] * w[k]; a2 += h2[k] * w[k]; a3 += h3[k] * w[k];
    }
  }
  // ... then one at a time.
  for (; d < P.D; d++) {
    let w = vec4<f32>(yAt(cc.x + d), yAt(cc.y + d), yAt(cc.z + d), yAt(cc.w + d));
    a0 += xAt(rr.x + d) * w; a1 += xAt(rr.y + d) * w; a2 += xAt(rr.z + d) * w; a3 += xAt(rr.w + d) * w;
  }
  if (HAS_BIAS) {
    let c = clamp4(t.y, P.C) + vec4<u32>(P.sOff);
    let b = vec4<f32>(scaleAt(c.x), scaleAt(c.y), scaleAt(c.z), scaleAt(c.w));
    a0 += b; a1 += b; a2 += b; a3 += b;
  }
  let vr = valid4(t.x, P.rows);
  let vc = valid4(t.y, P.C);
  var bad = false;
  let acc = array<vec4<f32>, 4>(a0, a1, a2, a3);
  for (var i = 0u; i < 4u; i++) {
    if (!vr[i]) { continue; }
    let o = P.oOff + (t.x + i) * P.ldz + t.y;
    for (var j = 0u; j < 4u; j++) {
      if (vc[j]) {
        out[o + j] = acc[i][j];
        bad = bad || !isFinite(acc[i][j]);
      }
    }
  }
  if (bad) { atomicStore(&status[1], 1u); }
}

// G[r, c] of the chunk's gradient (the `weight` binding, f32, row stride ldz, from gOff).
fn gAt(r: u32, c: u32) -> f32 { return weight[P.gOff + r * P.ldz + c]; }

// d hidden[r, d] (+)= Σ_c G[r, c]·y[c, d] over the block's columns c < P.C; out is (rows, D).
@compute @workgroup_size(64)
fn gradHidden(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = tileOf(wid, li, P.D);
  if (t.x >= P.rows || t.y >= P.D) { return; }
  let rr = clamp4(t.x, P.rows);
  let vr = valid4(t.x, P.rows);
  let vd = valid4(t.y, P.D);
  var acc = array<vec4<f32>, 4>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  if (ACCUMULATE) {
    for (var i = 0u; i < 4u; i++) {
      let o = P.oOff + rr[i] * P.D + t.y;
      acc[i] = vec4<f32>(out[o], select(0.0, out[o + 1u], vd.y), select(0.0, out[o + 2u], vd.z), select(0.0, out[o + 3u], vd.w));
    }
  }
  for (var c = 0u; c < P.C; c++) {
    let w = wTile(P.yOff + c * P.D + t.y, vd);
    acc[0] += gAt(rr.x, c) * w; acc[1] += gAt(rr.y, c) * w; acc[2] += gAt(rr.z, c) * w; acc[3] += gAt(rr.w, c) * w;
  }
  for (var i = 0u; i < 4u; i++) {
    if (!vr[i]) { continue; }
    let o = P.oOff + (t.x + i) * P.D + t.y;
    for (var j = 0u; j < 4u; j++) { if (vd[j]) { out[o + j] = acc[i][j]; } }
  }
}

// d weight[c, d] (+)= Σ_r G[r, c]·x[r, d] over the chunk's rows r < P.rows; out is (C, D).
@compute @workgroup_size(64)
fn gradWeight(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = tileOf(wid, li, P.D);
  if (t.x >= P.C || t.y >= P.D) { return; }
  let cc = clamp4(t.x, P.C);
  let vc = valid4(t.x, P.C);
  let vd = valid4(t.y, P.D);
  var acc = array<vec4<f32>, 4>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  if (ACCUMULATE) {
    for (var i = 0u; i < 4u; i++) {
      let o = P.oOff + cc[i] * P.D + t.y;
      acc[i] = vec4<f32>(out[o], select(0.0, out[o + 1u], vd.y), select(0.0, out[o + 2u], vd.z), select(0.0, out[o + 3u], vd.w));
    }
  }
  for (var r = 0u; r < P.rows; r++) {
    let h = hTile(P.xOff + r * P.D + t.y, vd);
    acc[0] += gAt(r, cc.x) * h; acc[1] += gAt(r, cc.y) * h; acc[2] += gAt(r, cc.z) * h; acc[3] += gAt(r, cc.w) * h;
  }
  for (var i = 0u; i < 4u; i++) {
    if (!vc[i]) { continue; }
    let o = P.oOff + (t.x + i) * P.D + t.y;
    for (var j = 0u; j < 4u; j++) { if (vd[j]) { out[o + j] = acc[i][j]; } }
  }
}

// d bias[c] (+)= Σ_r G[r, c] over the chunk's rows; one invocation a column.
@compute @workgroup_size(64)
fn gradBias(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let c = groupIndex(wid) * 64u + li;
  if (c >= P.C) { return; }
  var acc = 0.0;
  if (ACCUMULATE) { acc = out[P.oOff + c]; }
  for (var r = 0u; r < P.rows; r++) { acc += gAt(r, c); }
  out[P.oOff + c] = acc;
}
