// Lane merges inside one subgroup: a butterfly of shuffles, no barriers. LANES ≤ the subgroup
// size and lane groups are aligned, so offsets h = LANES/2 … 1 stay inside a group; merge and +
// are commutative, so every lane ends with the halving tree's result.
fn laneMerge(acc: Acc, li: u32) -> Acc {
  var r = acc;
  for (var h = LANES / 2u; h >= 1u; h = h / 2u) {
    let o = Acc(subgroupShuffleXor(r.m, h), subgroupShuffleXor(r.s, h), subgroupShuffleXor(r.a, h), subgroupShuffleXor(r.b, h));
    r = merge(r, o);
  }
  return r;
}

fn laneSum(v: vec4<f32>, li: u32, width: u32) -> vec4<f32> {
  var r = v;
  for (var h = width / 2u; h >= 1u; h = h / 2u) {
    r = addS4(r, subgroupShuffleXor(r, h));
  }
  return r;
}
