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
  var k = Kahan(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  for (var u = start + li; u < end; u += LANES) {
    k = kahanAdd(k, load(u), present(u));
  }
  let v = laneSum(kahanValue(k), li, LANES);
  if (li == 0u) {
    if (TILED) {
      out[P.oOff + g] = addS(addS(v.x, v.z), addS(v.y, v.w));
    } else {
      for (var c = 0u; c < K; c++) { out[P.oOff + g * K + c] = v[c]; }
    }
  }
}
