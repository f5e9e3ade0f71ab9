// Device results in half precision: the float32 values y[xOff + i], i < count, rounded to float16
// or bfloat16 bits, two to a word of `out` (array<u32> in this family). The high half of a last,
// odd word keeps what `out` held there (an in-place gradient must not touch what follows the tensor).

override BF16: bool = false;

fn encodeHalf(v: f32) -> u32 { return select(encodeF16(v), encodeBf16(v), BF16); }

@compute @workgroup_size(WG)
fn pack(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let j = groupIndex(wid) * WG + li; // word of the chunk
  let i = 2u * j;
  if (i >= P.count) { return; }
  let lo = encodeHalf(yAt(P.xOff + i));
  var hi = out[P.oOff + j] & 0xffff0000u;
  if (i + 1u < P.count) { hi = encodeHalf(yAt(P.xOff + i + 1u)) << 16u; }
  out[P.oOff + j] = lo | hi;
}
