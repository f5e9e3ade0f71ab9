// Operand NAME as half precision (float16 or bfloat16 bits, two to a u32 word, little end first),
// decoded exactly to float32 by DECODE (half.wgsl), one element at a time (any layout).

fn NAMEAt(i: u32) -> f32 { return DECODE(extractBits(NAME[i >> 1u], (i & 1u) * 16u, 16u)); }

fn NAMETile(i: u32, stride: u32, valid: vec4<bool>, fill: f32) -> vec4<f32> {
  return vec4<f32>(select(fill, NAMEAt(i), valid.x), select(fill, NAMEAt(i + stride), valid.y),
                   select(fill, NAMEAt(i + 2u * stride), valid.z), select(fill, NAMEAt(i + 3u * stride), valid.w));
}
