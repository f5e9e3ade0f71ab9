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
// to out[oOff + r·ldz + c]; status[1] is set when a logit is not finite. Registers only: every
// vector is indexed by constants (a dynamic index sends it to memory on an emulated adapter).
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
    a0 += h0.x * w[0]; a1 += h1.x * w[0]; a2 += h2.x * w[0]; a3 += h3.x * w[0];
    a0 += h0.y * w[1]; a1 += h1.y * w[1]; a2 += h2.y * w[1]; a3 += h3.y * w[1];
    a0 += h0.z * w[2]; a1 += h1.z * w[2]; a2 += h2.z * w[2]; a3 += h3.z * w[2];
    a0 += h0.w * w[3]; a1 += h1.w * w[3]; a2 += h2.w * w[3]; a3 += h3.w * w[3];
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
  storeTile(vec4<u32>(P.oOff + t.x * P.ldz + t.y) + vec4<u32>(0u, 1u, 2u, 3u) * P.ldz, a0, a1, a2, a3, vr, vc);
  if (badTile(a0, a1, a2, a3, vr, vc)) { atomicStore(&status[1], 1u); }
}

// A non-finite logit among the valid ones of a tile.
fn badTile(a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>, vr: vec4<bool>, vc: vec4<bool>) -> bool {
  return any(!isFinite4(a0) & vc & vec4<bool>(vr.x)) || any(!isFinite4(a1) & vc & vec4<bool>(vr.y)) ||
         any(!isFinite4(a2) & vc & vec4<bool>(vr.z)) || any(!isFinite4(a3) & vc & vec4<bool>(vr.w));
}

// out[o + j] = v[j] where valid.
fn store4(o: u32, v: vec4<f32>, valid: vec4<bool>) {
  if (valid.x) { out[o] = v.x; }
  if (valid.y) { out[o + 1u] = v.y; }
  if (valid.z) { out[o + 2u] = v.z; }
  if (valid.w) { out[o + 3u] = v.w; }
}

// A 4×4 tile, row i (a_i) from out[o[i]] on, where both its row and its column are valid.
fn storeTile(o: vec4<u32>, a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>, rows: vec4<bool>, cols: vec4<bool>) {
  store4(o.x, a0, cols & vec4<bool>(rows.x));
  store4(o.y, a1, cols & vec4<bool>(rows.y));
  store4(o.z, a2, cols & vec4<bool>(rows.z));
  store4(o.w, a3, cols & vec4<bool>(rows.w));
}

// out[o … o+3] where valid, else 0: the running sums of a later block or chunk.
fn load4(o: u32, valid: vec4<bool>) -> vec4<f32> {
  if (!ACCUMULATE) { return vec4<f32>(0.0); }
  return vec4<f32>(out[o], select(0.0, out[o + 1u], valid.y), select(0.0, out[o + 2u], valid.z), select(0.0, out[o + 3u], valid.w));
}

// The chunk's gradient G is the `weight` binding (f32, row stride ldz, its block's first column at gOff).

// d hidden[r, d] (+)= Σ_c G[r, c]·y[c, d] over the block's columns c < P.C; out is (rows, D).
@compute @workgroup_size(64)
fn gradHidden(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = tileOf(wid, li, P.D);
  if (t.x >= P.rows || t.y >= P.D) { return; }
  let rr = clamp4(t.x, P.rows);
  let vr = valid4(t.x, P.rows);
  let vd = valid4(t.y, P.D);
  let o = rr * P.D + vec4<u32>(P.oOff + t.y);
  var a0 = load4(o.x, vd); var a1 = load4(o.y, vd); var a2 = load4(o.z, vd); var a3 = load4(o.w, vd);
  let g = rr * P.ldz + vec4<u32>(P.gOff);
  for (var c = 0u; c < P.C; c++) {
    let w = wTile(P.yOff + c * P.D + t.y, vd);
    a0 += weight[g.x + c] * w; a1 += weight[g.y + c] * w; a2 += weight[g.z + c] * w; a3 += weight[g.w + c] * w;
  }
  storeTile(o, a0, a1, a2, a3, vr, vd);
}

// d weight[c, d] (+)= Σ_r G[r, c]·x[r, d] over the chunk's rows r < P.rows; out is (C, D).
@compute @workgroup_size(64)
fn gradWeight(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = tileOf(wid, li, P.D);
  if (t.x >= P.C || t.y >= P.D) { return; }
  let cc = clamp4(t.x, P.C);
  let vc = valid4(t.x, P.C);
  let vd = valid4(t.y, P.D);
  let o = cc * P.D + vec4<u32>(P.oOff + t.y);
  var a0 = load4(o.x, vd); var a1 = load4(o.y, vd); var a2 = load4(o.z, vd); var a3 = load4(o.w, vd);
  let g = cc + vec4<u32>(P.gOff);
  for (var r = 0u; r < P.rows; r++) {
    let h = hTile(P.xOff + r * P.D + t.y, vd);
    let gr = g + vec4<u32>(r * P.ldz);
    a0 += weight[gr.x] * h; a1 += weight[gr.y] * h; a2 += weight[gr.z] * h; a3 += weight[gr.w] * h;
  }
  storeTile(o, a0, a1, a2, a3, vc, vd);
}

// d bias[c] (+)= Σ_r G[r, c] over the chunk's rows; one invocation a column.
@compute @workgroup_size(64)
fn gradBias(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let c = groupIndex(wid) * 64u + li;
  if (c >= P.C) { return; }
  var acc = 0.0;
  if (ACCUMULATE) { acc = out[P.oOff + c]; }
  for (var r = 0u; r < P.rows; r++) { acc += weight[P.gOff + r * P.ldz + c]; }
  out[P.oOff + c] = acc;
}
