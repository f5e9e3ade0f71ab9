// Fixed-order batch sums (src/plan.ts): workgroup = one block of `blockLen` items; Kahan lane j
// sums items j, j+W, … of the block (W lanes), then the lanes are added by the halving tree.
// Composed after a source file that defines `load(u)` and `present(u)`: unit u's values and which
// of them exist. Record sources: unit = item, components = the K record fields, one lane per
// invocation. Element sources (TILED): unit = a tile of 4 elements, component c = lane 4j + c of
// invocation j; the tree's levels across invocations run in lanes-*.wgsl, its last two levels
// (c ⊕ c+2, then 0 ⊕ 1) here. Block sums go to out[oOff + (block − firstBlock)·K + k].

override K: u32 = 1;          // components per item (records)
override TILED: bool = false; // element source: 4 lanes per invocation

@compute @workgroup_size(WG)
fn reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let g = groupIndex(wid);
  if (g >= P.blocks) { return; }
  let block = P.firstBlock + g;
  let per = select(1u, 4u, TILED); // items per unit
  let start = block * P.blockLen / per;
  let end = (min(P.rows, (block + 1u) * P.blockLen) + per - 1u) / per;
  var sum = vec4<f32>(0.0);
  var c = vec4<f32>(0.0);
  var spec = vec4<f32>(0.0); // ±inf and NaN items, and overflowed sums, combined by addS4
  for (var u = start + li; u < end; u += LANES) {
    let x = load(u);
    // Kahan steps on finite items only (as on the CPU, whose compensation is dropped once a sum is
    // not finite); lanes past the end take no step at all.
    let has = present(u);
    let fin = isFinite4(x);
    let d = select(vec4<f32>(0.0), x, fin) - c;
    let t = sum + d;
    let kept = has & fin & isFinite4(t);
    let aside = has & !kept;
    spec = select(spec, addS4(spec, select(t, x, !fin)), aside);
    c = select(select(c, vec4<f32>(0.0), aside & fin), (t - sum) - d, kept);
    sum = select(select(sum, vec4<f32>(0.0), aside & fin), t, kept);
  }
  let v = laneSum(addS4(sum - c, spec), li);
  if (li == 0u) {
    if (TILED) {
      out[P.oOff + g] = addS(addS(v.x, v.z), addS(v.y, v.w));
    } else {
      for (var k = 0u; k < K; k++) { out[P.oOff + g * K + k] = v[k]; }
    }
  }
}
