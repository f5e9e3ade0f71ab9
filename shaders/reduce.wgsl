// Fixed-order batch sums (src/plan.ts): workgroup = one block of `blockLen` items; lane j sums
// items j, j+LANES, … of the block with Kahan compensation, then the lanes are added by the
// halving tree of lanes-*.wgsl. Composed after a source file that defines `load(i)`: the value
// (up to 4 components) of global item i. Block sums go to out[oOff + block·K + k].

override K: u32 = 1; // components per item

@compute @workgroup_size(WG)
fn reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let g = groupIndex(wid);
  if (g >= P.blocks) { return; }
  let block = P.firstBlock + g;
  let start = block * P.blockLen;
  let end = min(P.rows, start + P.blockLen);
  var sum = vec4<f32>(0.0);
  var c = vec4<f32>(0.0);
  for (var i = start + li; i < end; i += LANES) {
    let d = load(i) - c;
    let t = sum + d;
    // Compensation is dropped once a sum is not finite, so that inf stays inf rather than NaN.
    c = select(vec4<f32>(0.0), (t - sum) - d, abs(t) <= vec4<f32>(F32_MAX));
    sum = t;
  }
  let v = laneSum(sum - c, li);
  if (li == 0u) {
    for (var k = 0u; k < K; k++) { out[P.oOff + (block - P.firstBlock) * K + k] = v[k]; }
  }
}
