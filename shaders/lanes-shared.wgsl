// Lane merges through workgroup memory: a halving tree, one barrier per level (any adapter).
var<workgroup> lanesScratch: array<vec4<f32>, WG>;

// Merges the LANES states of invocation li's lane group; every lane of the group gets the result.
fn laneMerge(acc: Acc, li: u32) -> Acc {
  if (LANES == 1u) { return acc; }
  let lane = li % LANES;
  lanesScratch[li] = toVec(acc);
  workgroupBarrier();
  for (var h = LANES / 2u; h >= 1u; h = h / 2u) {
    if (lane < h) { lanesScratch[li] = toVec(merge(fromVec(lanesScratch[li]), fromVec(lanesScratch[li + h]))); }
    workgroupBarrier();
  }
  return fromVec(lanesScratch[li - lane]);
}

// Sums the vectors of each `width` consecutive invocations (the same halving tree); the result is valid in every lane.
fn laneSum(v: vec4<f32>, li: u32, width: u32) -> vec4<f32> {
  if (width == 1u) { return v; }
  let lane = li % width;
  lanesScratch[li] = v;
  workgroupBarrier();
  for (var h = width / 2u; h >= 1u; h = h / 2u) {
    if (lane < h) { lanesScratch[li] = addS4(lanesScratch[li], lanesScratch[li + h]); }
    workgroupBarrier();
  }
  return lanesScratch[li - lane];
}
